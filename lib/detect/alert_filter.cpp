// Threshold / detection_filter state and the per-packet alert cap. The
// update rules follow Suricata's detect-engine-threshold.c
// (ThresholdSetup / ThresholdCheckUpdate) case by case, so counts match on
// the same traffic; the windows are inclusive (ts <= start + seconds) and
// kept at millisecond resolution.
#include "detect/alert_filter.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace vtap::detect {

namespace {

using Type = rules::Threshold::Type;
using Track = rules::Threshold::Track;

// A new entry's first match (Suricata ThresholdSetup).
bool first_match(const rules::Threshold& t) noexcept {
    switch (t.type) {
        case Type::kLimit: return true;
        case Type::kThreshold:
        case Type::kBoth: return t.count == 1;
        case Type::kDetectionFilter: return false;
    }
    return false;
}

// A slot's window word: when the window ends (ms, inclusive) and how many
// matches it has seen. 0 means no window yet (a claimed slot before its
// first update, or a slot taken over from an evicted key).
constexpr unsigned kCountBits = 20;
constexpr uint64_t kCountMask = (uint64_t{1} << kCountBits) - 1;
constexpr uint64_t kMaxEnd = (uint64_t{1} << (64 - kCountBits)) - 1;  // ms: year 2527

uint64_t window_end(uint64_t w) noexcept { return w >> kCountBits; }
uint32_t window_count(uint64_t w) noexcept { return static_cast<uint32_t>(w & kCountMask); }
uint64_t make_window(uint64_t end_ms, uint32_t count) noexcept {
    return std::min(end_ms, kMaxEnd) << kCountBits | std::min<uint64_t>(count, ThresholdTable::kMaxCount);
}
// The window a match at ts_ms opens: `seconds` long, this match counted.
uint64_t open_window(const rules::Threshold& t, uint64_t ts_ms) noexcept {
    return make_window(ts_ms + uint64_t{t.seconds} * 1000, 1);
}

// Suricata's IP pair is unordered for by_both: A->B and B->A share an entry.
struct TrackedKey {
    uint8_t family = 0, naddr = 0;
    const std::array<uint8_t, 16>* a = nullptr;
    const std::array<uint8_t, 16>* b = nullptr;
};

TrackedKey tracked(const rules::Threshold& t, const IpAddr& src, const IpAddr& dst) noexcept {
    switch (t.track) {
        case Track::kByRule: return {};
        case Track::kBySrc: return {src.family, 1, &src.bytes, nullptr};
        case Track::kByDst: return {dst.family, 1, &dst.bytes, nullptr};
        case Track::kByBoth: {
            const bool ordered = src.bytes <= dst.bytes;
            return {src.family, 2, ordered ? &src.bytes : &dst.bytes, ordered ? &dst.bytes : &src.bytes};
        }
    }
    return {};
}

}  // namespace

Result<ThresholdTable> ThresholdTable::create(uint32_t capacity) {
    if (capacity < kProbe || capacity > (1u << 24))
        return fail("detect.threshold_entries", "must be between " + std::to_string(kProbe) + " and " +
                                                     std::to_string(1u << 24) + ", got " + std::to_string(capacity));
    ThresholdTable t;
    const uint32_t n = std::bit_ceil(capacity);
    t.slots_ = std::make_unique<Slot[]>(n);
    t.mask_ = n - 1;
    t.used_ = std::make_unique<std::atomic<uint32_t>>(0);
    t.evicted_ = std::make_unique<std::atomic<uint64_t>>(0);
    return t;
}

uint64_t ThresholdTable::key_hash(uint32_t rule, const rules::Threshold& t, const IpAddr& src,
                                  const IpAddr& dst) noexcept {
    const TrackedKey k = tracked(t, src, dst);
    // The hash is the key's identity here, so every word goes through the
    // whole mix on its own: the rule must not share a word with the address
    // (rule ^ address bits would collide across rules).
    uint64_t h = 0x9e3779b97f4a7c15ull;
    auto absorb = [&h](uint64_t v) {
        h ^= v;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    };
    auto mix = [&absorb](const std::array<uint8_t, 16>* x) {
        uint64_t w[2] = {0, 0};
        if (x) std::memcpy(w, x->data(), 16);
        absorb(w[0]);
        absorb(w[1]);
    };
    absorb(uint64_t{rule} << 16 | uint64_t{k.family} << 8 | k.naddr);
    mix(k.a);
    mix(k.b);
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h ? h : 1;  // 0 marks a free slot
}

// One match against a slot this key owns (Suricata ThresholdSetup for a new
// window, ThresholdCheckUpdate after), as one compare-and-swap of the window.
bool ThresholdTable::update(Slot& s, const rules::Threshold& t, uint64_t ts_ms) noexcept {
    uint64_t w = s.window.load(std::memory_order_acquire);
    for (;;) {
        uint64_t next;
        bool verdict = false;
        if (w == 0) {  // the key's first match
            next = open_window(t, ts_ms);
            verdict = first_match(t);
        } else if (ts_ms > window_end(w)) {  // rolled over: this match reopens it
            next = open_window(t, ts_ms);
            verdict = t.type == Type::kLimit || (t.type == Type::kBoth && t.count == 1);
        } else {
            uint32_t c = std::min(window_count(w) + 1, kMaxCount);
            switch (t.type) {
                case Type::kLimit: verdict = c <= t.count; break;
                case Type::kThreshold:
                    verdict = c >= t.count;
                    if (verdict) c = 0;
                    break;
                case Type::kBoth: verdict = c == t.count; break;
                case Type::kDetectionFilter: verdict = c > t.count; break;
            }
            next = make_window(window_end(w), c);
        }
        if (s.window.compare_exchange_weak(w, next, std::memory_order_acq_rel, std::memory_order_acquire))
            return verdict;
    }
}

bool ThresholdTable::allow(uint32_t rule, const rules::Threshold& t, const IpAddr& src, const IpAddr& dst,
                           uint64_t ts_ns, bool* evicted) noexcept {
    const uint64_t h = key_hash(rule, t, src, dst);
    const uint64_t ts_ms = ts_ns / 1'000'000;
    if (evicted) *evicted = false;
    // Another worker may claim or take over a probed slot between our reads;
    // start over then (a handful of times at most: each retry means another
    // key made progress).
    for (int attempt = 0; attempt < 4; ++attempt) {
        Slot* expired = nullptr;
        Slot* oldest = nullptr;
        uint64_t expired_tag = 0, oldest_tag = 0, oldest_end = ~uint64_t{0};
        for (uint32_t i = 0; i < kProbe; ++i) {
            Slot& s = slots_[(h + i) & mask_];
            uint64_t tag = s.tag.load(std::memory_order_acquire);
            if (tag == 0) {
                if (s.tag.compare_exchange_strong(tag, h, std::memory_order_acq_rel)) {
                    used_->fetch_add(1, std::memory_order_relaxed);
                    return update(s, t, ts_ms);
                }
                // Lost the claim; `tag` now holds the winner's key.
            }
            if (tag == h) return update(s, t, ts_ms);
            const uint64_t end = window_end(s.window.load(std::memory_order_acquire));
            if (!expired && ts_ms > end) expired = &s, expired_tag = tag;
            if (end < oldest_end) oldest = &s, oldest_tag = tag, oldest_end = end;
        }
        Slot* victim = expired ? expired : oldest;
        uint64_t victim_tag = expired ? expired_tag : oldest_tag;
        if (!victim || !victim->tag.compare_exchange_strong(victim_tag, h, std::memory_order_acq_rel)) continue;
        if (!expired) {
            evicted_->fetch_add(1, std::memory_order_relaxed);
            if (evicted) *evicted = true;
        }
        // The slot's window is the previous key's: this key starts over.
        victim->window.store(open_window(t, ts_ms), std::memory_order_release);
        return first_match(t);
    }
    // Contended beyond reason: decide as a first match, keep no state.
    return first_match(t);
}

Result<AlertFilter> AlertFilter::create(const AlertFilterOptions& opts) {
    if (opts.packet_alert_max < 1 || opts.packet_alert_max > MatchSink::kCapacity)
        return fail("detect.packet_alert_max", "must be between 1 and " + std::to_string(MatchSink::kCapacity) +
                                                   ", got " + std::to_string(opts.packet_alert_max));
    if (opts.shared_thresholds) return AlertFilter(nullptr, opts.shared_thresholds, opts.packet_alert_max);
    auto t = ThresholdTable::create(opts.threshold_entries);
    if (!t) return std::unexpected(t.error());
    auto own = std::make_unique<ThresholdTable>(std::move(*t));
    ThresholdTable* table = own.get();
    return AlertFilter(std::move(own), table, opts.packet_alert_max);
}

void AlertFilter::finalize(const Database& db, const PacketInfo& info, MatchSink& sink) noexcept {
    const uint32_t n = sink.size();
    if (n == 0) return;
    Match* m = sink.data();
    // Suricata orders a packet's alerts by signature order (priority first,
    // then load order) before thresholds and the cap; n <= 64, so insertion sort.
    auto before = [&db](const Match& a, const Match& b) {
        const uint8_t pa = db.source(a.rule).priority, pb = db.source(b.rule).priority;
        return pa != pb ? pa < pb : a.rule < b.rule;
    };
    for (uint32_t i = 1; i < n; ++i) {
        const Match x = m[i];
        uint32_t j = i;
        for (; j > 0 && before(x, m[j - 1]); --j) m[j] = m[j - 1];
        m[j] = x;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; ++i) {
        const auto& th = db.source(m[i].rule).threshold;
        bool evicted = false;
        const bool silent = th && !table_->allow(m[i].rule, *th, info.src, info.dst, info.ts_ns, &evicted);
        ctr_.threshold_evicted += evicted;
        if (silent) {
            ++ctr_.threshold_suppressed;
            continue;
        }
        if (kept == max_) {
            ++ctr_.packet_alert_overflow;
            continue;
        }
        m[kept++] = m[i];
    }
    sink.truncate(kept);
}

}  // namespace vtap::detect
