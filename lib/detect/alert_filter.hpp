// Hot path: what happens to a packet's confirmed matches before they become
// alerts, in Suricata's order (PacketAlertFinalize): sort by rule order
// (priority, then load order), apply threshold / detection_filter state,
// then keep at most packet_alert_max. One AlertFilter per worker; the
// threshold table is the pipeline's, shared by the workers, with a fixed
// capacity chosen at start, and never allocates.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/result.hpp"
#include "detect/database.hpp"
#include "detect/packet_info.hpp"

namespace vtap::detect {

class ThresholdTable;

struct AlertFilterOptions {
    uint32_t packet_alert_max = 15;      // Suricata's packet-alert-max default
    uint32_t threshold_entries = 16384;  // rounded up to a power of two
    // The pipeline's table, shared by its workers; null: the filter owns one
    // of threshold_entries slots.
    ThresholdTable* shared_thresholds = nullptr;
};

// Per-worker, single writer. Names as in stats: detect.<field>.
struct AlertFilterCounters {
    uint64_t threshold_suppressed = 0;   // matches a threshold/detection_filter kept silent
    uint64_t threshold_evicted = 0;      // live entries dropped to make room (their counts restart)
    uint64_t packet_alert_overflow = 0;  // matches past packet_alert_max (Suricata: alert_queue_overflow)
};

// Threshold state keyed by (rule, tracked address or pair), shared by every
// worker of a pipeline: one source's flows are spread over the workers by the
// flow hash, and Suricata counts them together. Lock-free: a slot is two
// 64-bit words, the key's 64-bit hash (its tag; 0 = free) and the window
// (its end in ms << 20 | match count), updated by compare-and-swap, so
// workers never wait for each other. A key probes kProbe slots from its
// hash; when none is free, an expired entry is reused, else the one whose
// window ends first is evicted and counted.
//
// Approximations, both documented in lib/detect/README.md: keys are compared
// by their 64-bit hash (two keys sharing one would share a count), and a
// match racing with the eviction of its own entry may be counted against the
// entry's new key.
class ThresholdTable {
public:
    static constexpr uint32_t kProbe = 8;
    static constexpr uint32_t kMaxCount = (1u << 20) - 1;  // counts saturate here (rules allow up to 1,000,000)

    static Result<ThresholdTable> create(uint32_t capacity);

    // One match of `rule` (threshold `t`) on a packet from src to dst at
    // ts_ns: true when it alerts, false when the threshold keeps it silent.
    // `evicted`, when given, is set when this match evicted a live entry.
    bool allow(uint32_t rule, const rules::Threshold& t, const IpAddr& src, const IpAddr& dst, uint64_t ts_ns,
               bool* evicted = nullptr) noexcept;

    uint32_t capacity() const noexcept { return mask_ + 1; }
    uint32_t used() const noexcept { return used_->load(std::memory_order_relaxed); }
    uint64_t evicted() const noexcept { return evicted_->load(std::memory_order_relaxed); }

private:
    struct Slot {
        std::atomic<uint64_t> tag{0};    // the key's hash, never 0 for a used slot
        std::atomic<uint64_t> window{0}; // end_ms << 20 | count; 0 until the first match
    };
    static uint64_t key_hash(uint32_t rule, const rules::Threshold& t, const IpAddr& src, const IpAddr& dst) noexcept;
    static bool update(Slot& s, const rules::Threshold& t, uint64_t ts_ms) noexcept;

    std::unique_ptr<Slot[]> slots_;
    uint32_t mask_ = 0;
    // Behind pointers so the table stays movable; written by every worker.
    std::unique_ptr<std::atomic<uint32_t>> used_;
    std::unique_ptr<std::atomic<uint64_t>> evicted_;
};

class AlertFilter {
public:
    static Result<AlertFilter> create(const AlertFilterOptions& opts);

    // Rewrites `sink` in place to the matches that become alerts, in rule
    // order. `info` gives the tracked addresses and the packet time.
    void finalize(const Database& db, const PacketInfo& info, MatchSink& sink) noexcept;

    const AlertFilterCounters& counters() const noexcept { return ctr_; }
    const ThresholdTable& table() const noexcept { return *table_; }

private:
    AlertFilter(std::unique_ptr<ThresholdTable> own, ThresholdTable* table, uint32_t max)
        : own_(std::move(own)), table_(table), max_(max) {}
    std::unique_ptr<ThresholdTable> own_;  // when not shared
    ThresholdTable* table_ = nullptr;
    uint32_t max_ = 15;
    AlertFilterCounters ctr_;
};

}  // namespace vtap::detect
