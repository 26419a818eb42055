// Alert-storm control on the output side: a per-signature limit keyed by
// gid:sid, so one noisy rule cannot flood the SIEM. A fixed table allocated
// once; admit() neither allocates nor blocks. Runs on the control thread
// before an alert is formatted, so a suppressed alert costs one lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/counters.hpp"
#include "output/output_spec.hpp"

namespace vtap::output {

// GCRA (the virtual-scheduling form of a token bucket): each signature has a
// theoretical arrival time `tat`; with emission interval T = S/N and burst
// tolerance (N-1)*T, an alert at time t passes when t >= tat - (N-1)*T and
// then tat = max(tat, t) + T. N alerts pass at once, then one per T.
// Time is the alert's packet time, so offline runs limit as live ones would;
// a time earlier than the last one seen (workers interleave) only delays.
class SignatureRateLimiter {
public:
    static constexpr size_t kSlots = 4096;  // power of two
    static constexpr size_t kProbe = 8;     // slots searched per signature

    explicit SignatureRateLimiter(const RateLimitSpec& spec);

    bool enabled() const noexcept { return interval_ns_ != 0; }
    // True: deliver the alert; false: suppressed (counted).
    bool admit(uint32_t gid, uint32_t sid, uint64_t ts_ns) noexcept;

    uint64_t suppressed() const noexcept { return suppressed_.get(); }
    // Signatures forgotten to make room (more than kSlots busy signatures, or
    // kProbe colliding ones): the evicted one starts again with a full bucket.
    uint64_t evictions() const noexcept { return evictions_.get(); }

private:
    struct Slot {
        uint64_t key = 0;  // (gid << 32 | sid) + 1; 0 = empty
        uint64_t tat = 0;
    };
    uint64_t interval_ns_ = 0;   // T
    uint64_t tolerance_ns_ = 0;  // (N-1) * T
    std::unique_ptr<Slot[]> slots_;
    Counter suppressed_;
    Counter evictions_;
};

}  // namespace vtap::output
