#include "output/rate_limit.hpp"

namespace vtap::output {

SignatureRateLimiter::SignatureRateLimiter(const RateLimitSpec& spec) {
    if (spec.per_signature == 0 || spec.per_seconds == 0) return;
    interval_ns_ = uint64_t(spec.per_seconds) * 1'000'000'000u / spec.per_signature;
    if (interval_ns_ == 0) interval_ns_ = 1;
    tolerance_ns_ = uint64_t(spec.per_signature - 1) * interval_ns_;
    slots_ = std::make_unique<Slot[]>(kSlots);
}

bool SignatureRateLimiter::admit(uint32_t gid, uint32_t sid, uint64_t ts_ns) noexcept {
    if (!enabled()) return true;
    const uint64_t key = (uint64_t(gid) << 32 | sid) + 1;
    // Fibonacci hashing spreads consecutive sids over the table.
    const size_t home = size_t((key * 0x9E3779B97F4A7C15ull) >> 52) & (kSlots - 1);
    Slot* slot = nullptr;
    Slot* oldest = nullptr;
    for (size_t i = 0; i < kProbe; i++) {
        Slot& s = slots_[(home + i) & (kSlots - 1)];
        if (s.key == key || s.key == 0) {
            slot = &s;
            break;
        }
        if (!oldest || s.tat < oldest->tat) oldest = &s;
    }
    if (!slot) {
        evictions_.add();
        slot = oldest;
        slot->key = 0;
    }
    if (slot->key == 0) {
        slot->key = key;
        slot->tat = ts_ns;
    }
    if (ts_ns + tolerance_ns_ < slot->tat) {
        suppressed_.add();
        return false;
    }
    slot->tat = (slot->tat > ts_ns ? slot->tat : ts_ns) + interval_ns_;
    return true;
}

}  // namespace vtap::output
