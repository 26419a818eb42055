// Threshold / detection_filter state and the per-packet alert cap. The
// update rules follow Suricata's detect-engine-threshold.c
// (ThresholdSetup / ThresholdCheckUpdate) case by case, so counts match on
// the same traffic; the windows are inclusive (ts <= start + seconds).
#include "detect/alert_filter.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace vtap::detect {

namespace {

using Type = rules::Threshold::Type;
using Track = rules::Threshold::Track;

constexpr uint64_t kNsPerSec = 1'000'000'000ull;

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

}  // namespace

Result<ThresholdTable> ThresholdTable::create(uint32_t capacity) {
    if (capacity < kProbe || capacity > (1u << 24))
        return fail("detect.threshold_entries", "must be between " + std::to_string(kProbe) + " and " +
                                                     std::to_string(1u << 24) + ", got " + std::to_string(capacity));
    ThresholdTable t;
    t.slots_.resize(std::bit_ceil(capacity));
    t.mask_ = static_cast<uint32_t>(t.slots_.size() - 1);
    return t;
}

ThresholdTable::Key ThresholdTable::make_key(uint32_t rule, const rules::Threshold& t, const IpAddr& src,
                                             const IpAddr& dst) noexcept {
    Key k;
    k.rule = rule;
    switch (t.track) {
        case Track::kByRule: break;
        case Track::kBySrc: k.family = src.family, k.naddr = 1, k.a = src.bytes; break;
        case Track::kByDst: k.family = dst.family, k.naddr = 1, k.a = dst.bytes; break;
        case Track::kByBoth:
            // Suricata's IP pair is unordered: A->B and B->A share an entry.
            k.family = src.family, k.naddr = 2;
            k.a = std::min(src.bytes, dst.bytes);
            k.b = std::max(src.bytes, dst.bytes);
            break;
    }
    return k;
}

uint64_t ThresholdTable::hash(const Key& k) noexcept {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t{k.rule} << 16 | uint64_t{k.family} << 8 | k.naddr);
    auto mix = [&h](const std::array<uint8_t, 16>& x) {
        uint64_t w[2];
        std::memcpy(w, x.data(), 16);
        for (uint64_t v : w) {
            h ^= v;
            h *= 0xff51afd7ed558ccdull;
            h ^= h >> 33;
        }
    };
    mix(k.a);
    mix(k.b);
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

bool ThresholdTable::allow(uint32_t rule, const rules::Threshold& t, const IpAddr& src, const IpAddr& dst,
                           uint64_t ts_ns) noexcept {
    const Key key = make_key(rule, t, src, dst);
    const uint64_t h = hash(key);
    Entry* free_slot = nullptr;
    Entry* expired = nullptr;
    Entry* oldest = nullptr;
    for (uint32_t i = 0; i < kProbe; ++i) {
        Entry& e = slots_[(h + i) & mask_];
        if (!e.used) {
            if (!free_slot) free_slot = &e;
            continue;
        }
        if (e.key == key) {
            // Suricata ThresholdCheckUpdate: within the window, or rolled over.
            const bool within = ts_ns <= e.expires_ns;
            if (!within) {
                e.start_ns = ts_ns;
                e.expires_ns = ts_ns + uint64_t{t.seconds} * kNsPerSec;
                e.count = 1;
                return t.type == Type::kLimit || (t.type == Type::kBoth && t.count == 1);
            }
            ++e.count;
            switch (t.type) {
                case Type::kLimit: return e.count <= t.count;
                case Type::kThreshold:
                    if (e.count < t.count) return false;
                    e.count = 0;
                    return true;
                case Type::kBoth: return e.count == t.count;
                case Type::kDetectionFilter: return e.count > t.count;
            }
            return false;
        }
        if (!expired && ts_ns > e.expires_ns) expired = &e;
        if (!oldest || e.start_ns < oldest->start_ns) oldest = &e;
    }
    Entry* e = free_slot ? free_slot : expired ? expired : oldest;
    if (!free_slot && !expired) ++evicted_;
    if (!e->used) ++used_;
    e->used = true;
    e->key = key;
    e->start_ns = ts_ns;
    e->expires_ns = ts_ns + uint64_t{t.seconds} * kNsPerSec;
    e->count = 1;
    return first_match(t);
}

Result<AlertFilter> AlertFilter::create(const AlertFilterOptions& opts) {
    if (opts.packet_alert_max < 1 || opts.packet_alert_max > MatchSink::kCapacity)
        return fail("detect.packet_alert_max", "must be between 1 and " + std::to_string(MatchSink::kCapacity) +
                                                   ", got " + std::to_string(opts.packet_alert_max));
    auto t = ThresholdTable::create(opts.threshold_entries);
    if (!t) return std::unexpected(t.error());
    return AlertFilter(std::move(*t), opts.packet_alert_max);
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
    const uint64_t evicted_before = table_.evicted();
    for (uint32_t i = 0; i < n; ++i) {
        const auto& th = db.source(m[i].rule).threshold;
        if (th && !table_.allow(m[i].rule, *th, info.src, info.dst, info.ts_ns)) {
            ++ctr_.threshold_suppressed;
            continue;
        }
        if (kept == max_) {
            ++ctr_.packet_alert_overflow;
            continue;
        }
        m[kept++] = m[i];
    }
    ctr_.threshold_evicted += table_.evicted() - evicted_before;
    sink.truncate(kept);
}

}  // namespace vtap::detect
