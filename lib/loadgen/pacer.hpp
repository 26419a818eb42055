// Rate control for the load generator: the TSC tick at which each burst may
// leave so the average rate is `pps` packets/s or `bps` bits/s (bits of the
// frames as handed to the port: no FCS, preamble or gap). A sender that falls
// more than `max_lag` ticks behind restarts the schedule instead of catching
// up with a line-rate burst, and the slips are counted. Pure logic, testable.
#pragma once

#include <cstdint>

namespace vtap::loadgen {

struct Rate {
    double pps = 0;  // > 0: packets per second
    double bps = 0;  // > 0: bits per second (used when pps is 0)
    bool limited() const { return pps > 0 || bps > 0; }
};

class Pacer {
public:
    Pacer(uint64_t tsc_hz, Rate rate, uint64_t now, uint64_t max_lag)
        : hz_(static_cast<double>(tsc_hz)), rate_(rate), next_(static_cast<double>(now)), max_lag_(max_lag) {}

    // The tick at which a burst of `packets` frames totalling `bytes` may
    // leave; the schedule advances by its share of a second.
    uint64_t due(uint32_t packets, uint64_t bytes, uint64_t now) {
        if (!rate_.limited()) return now;
        if (static_cast<double>(now) > next_ + static_cast<double>(max_lag_)) {
            next_ = static_cast<double>(now);
            ++slips_;
        }
        uint64_t at = static_cast<uint64_t>(next_);
        next_ += rate_.pps > 0 ? packets * hz_ / rate_.pps : static_cast<double>(bytes) * 8 * hz_ / rate_.bps;
        return at;
    }
    uint64_t slips() const { return slips_; }

private:
    double hz_;
    Rate rate_;
    double next_;
    uint64_t max_lag_;
    uint64_t slips_ = 0;
};

}  // namespace vtap::loadgen
