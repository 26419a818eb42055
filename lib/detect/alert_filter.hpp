// Hot path: what happens to a packet's confirmed matches before they become
// alerts, in Suricata's order (PacketAlertFinalize): sort by rule order
// (priority, then load order), apply threshold / detection_filter state,
// then keep at most packet_alert_max. One AlertFilter per worker; its
// threshold table has a fixed capacity chosen at start and never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "detect/database.hpp"
#include "detect/packet_info.hpp"

namespace vtap::detect {

struct AlertFilterOptions {
    uint32_t packet_alert_max = 15;      // Suricata's packet-alert-max default
    uint32_t threshold_entries = 16384;  // rounded up to a power of two
};

// Per-worker, single writer. Names as in stats: detect.<field>.
struct AlertFilterCounters {
    uint64_t threshold_suppressed = 0;   // matches a threshold/detection_filter kept silent
    uint64_t threshold_evicted = 0;      // live entries dropped to make room (their counts restart)
    uint64_t packet_alert_overflow = 0;  // matches past packet_alert_max (Suricata: alert_queue_overflow)
};

// Threshold state keyed by (rule, tracked address or pair). Open addressing
// over a fixed array; a key probes kProbe slots from its hash. When none is
// free, an expired entry is reused, else the one with the oldest window start
// is evicted and counted.
class ThresholdTable {
public:
    static constexpr uint32_t kProbe = 8;

    static Result<ThresholdTable> create(uint32_t capacity);

    // One match of `rule` (threshold `t`) on a packet from src to dst at
    // ts_ns: true when it alerts, false when the threshold keeps it silent.
    bool allow(uint32_t rule, const rules::Threshold& t, const IpAddr& src, const IpAddr& dst,
               uint64_t ts_ns) noexcept;

    uint32_t capacity() const noexcept { return mask_ + 1; }
    uint32_t used() const noexcept { return used_; }
    uint64_t evicted() const noexcept { return evicted_; }

private:
    struct Key {
        uint32_t rule = 0;
        uint8_t family = 0;  // 0: by_rule (no address)
        uint8_t naddr = 0;   // addresses in a/b: 0, 1 or 2
        std::array<uint8_t, 16> a{}, b{};
        bool operator==(const Key&) const = default;
    };
    struct Entry {
        Key key;
        uint64_t start_ns = 0;   // window start (Suricata's tv1)
        uint64_t expires_ns = 0; // start + seconds: after it the window has rolled over
        uint32_t count = 0;      // Suricata's current_count
        bool used = false;
    };
    static Key make_key(uint32_t rule, const rules::Threshold& t, const IpAddr& src, const IpAddr& dst) noexcept;
    static uint64_t hash(const Key& k) noexcept;

    std::vector<Entry> slots_;
    uint32_t mask_ = 0;
    uint32_t used_ = 0;
    uint64_t evicted_ = 0;
};

class AlertFilter {
public:
    static Result<AlertFilter> create(const AlertFilterOptions& opts);

    // Rewrites `sink` in place to the matches that become alerts, in rule
    // order. `info` gives the tracked addresses and the packet time.
    void finalize(const Database& db, const PacketInfo& info, MatchSink& sink) noexcept;

    const AlertFilterCounters& counters() const noexcept { return ctr_; }
    const ThresholdTable& table() const noexcept { return table_; }

private:
    explicit AlertFilter(ThresholdTable t, uint32_t max) : table_(std::move(t)), max_(max) {}
    ThresholdTable table_;
    uint32_t max_ = 15;
    AlertFilterCounters ctr_;
};

}  // namespace vtap::detect
