// The alert outputs the control thread drives: every alert drained from the
// workers passes the per-signature limit, is formatted as one EVE line once,
// and that line goes to every configured output (EVE file or stdout, syslog
// over UDP, TCP, TLS or a unix socket). Nothing here blocks except flush(),
// which runs once at shutdown with a deadline.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "alert/alert_record.hpp"
#include "alert/eve_json.hpp"
#include "core/result.hpp"
#include "output/output_spec.hpp"
#include "output/rate_limit.hpp"

namespace vtap::output {

using StatList = std::vector<std::pair<std::string, uint64_t>>;

class Outputs {
public:
    // Opens files and resolves hosts (blocking: call at start-up). Fails on
    // the first output that cannot be built, naming it.
    static Result<std::unique_ptr<Outputs>> create(const std::vector<OutputSpec>& specs,
                                                   const RateLimitSpec& limit, alert::EveOptions eve);
    ~Outputs();
    Outputs(const Outputs&) = delete;
    Outputs& operator=(const Outputs&) = delete;

    // Rate limit, format once, hand to every output. Never blocks.
    void offer(const alert::AlertRecord& rec);
    // Performs a requested reopen, writes buffered EVE lines and lets every
    // syslog sender send what its socket takes now. `now_ns`: CLOCK_MONOTONIC.
    void poll(uint64_t now_ns);
    // Async-signal-safe (SIGHUP): the next poll() reopens the EVE files.
    void request_reopen() noexcept { reopen_.store(true, std::memory_order_relaxed); }

    // Shutdown: polls every output until all queues are empty or the deadline
    // passes. Returns one line per output that kept messages, naming the
    // output, the count and why; those are counted as output.<name>.unsent.
    std::vector<std::string> flush(uint64_t deadline_ns);

    // alert.written, alert.suppressed, alert.rate_limit_evictions, and per
    // output "output.<name>.<counter>". Safe from another thread (telemetry):
    // it reads counters only.
    void append_stats(StatList& out) const;

    size_t size() const noexcept { return sinks_.size(); }
    static uint64_t monotonic_ns() noexcept;

    struct Sink;

private:
    Outputs(const RateLimitSpec& limit, alert::EveOptions eve);

    std::vector<std::unique_ptr<Sink>> sinks_;
    SignatureRateLimiter limiter_;
    alert::EveFormatter fmt_;
    std::string line_;
    std::string header_;
    Counter written_;
    std::atomic<bool> reopen_{false};
};

}  // namespace vtap::output
