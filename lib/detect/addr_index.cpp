// AddrIndex::build: each header-only rule keyed by its most selective list
// (addresses or ports), then an interval table per key space.
#include "detect/addr_index.hpp"

#include <algorithm>
#include <map>

namespace vtap::detect {
namespace {

// IPv4 addresses a side's prefixes cover (overlaps counted twice: an upper
// bound is all the choice below needs).
uint64_t v4_addresses(const rules::AddrSpec& s) noexcept {
    uint64_t n = 0;
    for (const auto& c : s.include)
        if (c.family == 4) n += uint64_t{1} << (32 - c.len);
    return n;
}

// The side whose prefixes key the rule, or nullptr when neither side
// narrows the packets it can match (any, or only excludes). With both sides
// listed, the one covering fewer addresses: ET's `[300 hosts] -> $HOME_NET`
// must be keyed by its 300 hosts, not by HOME_NET's three private ranges,
// or every packet of a private network nominates every such rule.
const rules::AddrSpec* addr_side(const CompiledRule& r) noexcept {
    auto usable = [](const rules::AddrSpec& s) {
        if (s.include.empty()) return false;
        for (const auto& c : s.include)
            if (c.family == 4 && c.len < AddrIndex::kMinPrefixLen) return false;
        return true;
    };
    const bool src = usable(r.src), dst = usable(r.dst);
    if (src && dst) return v4_addresses(r.src) <= v4_addresses(r.dst) ? &r.src : &r.dst;
    if (src) return &r.src;
    if (dst) return &r.dst;
    return nullptr;
}

// Ports a side's list covers, or 0 when it does not narrow (any, excludes).
uint32_t port_count(const rules::PortSpec& p) noexcept {
    if (p.any || p.include.empty() || !p.exclude.empty()) return 0;
    uint32_t n = 0;
    for (const auto& r : p.include) n += uint32_t{r.hi} - r.lo + 1;
    return n;
}

// The port side that keys the rule: the one covering fewer ports.
const rules::PortSpec* port_side(const CompiledRule& r) noexcept {
    const uint32_t src = port_count(r.src_ports), dst = port_count(r.dst_ports);
    if (src && (!dst || src <= dst)) return &r.src_ports;
    if (dst) return &r.dst_ports;
    return nullptr;
}

}  // namespace

// A sweep over range start/end events gives the elementary intervals and
// the rules covering each.
template <class Key>
void IntervalTable<Key>::build(Wide key_space) {
    starts_.clear();
    first_.clear();
    rules_.clear();
    std::stable_sort(events_.begin(), events_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::map<uint32_t, int> active;  // rule -> covering ranges (lists may overlap)
    for (size_t i = 0; i < events_.size();) {
        const Wide at = events_[i].first;  // IPv6 ends reach 2^64: not a uint64_t
        for (; i < events_.size() && events_[i].first == at; ++i) {
            const auto [r, d] = events_[i].second;
            if ((active[r] += d) == 0) active.erase(r);
        }
        if (at >= key_space) break;
        starts_.push_back(static_cast<Key>(at));
        first_.push_back(static_cast<uint32_t>(rules_.size()));
        for (const auto& [r, n] : active) rules_.push_back(r);
    }
    first_.push_back(static_cast<uint32_t>(rules_.size()));
    events_.clear();
    events_.shrink_to_fit();

    unsigned bits = 0;
    while ((static_cast<Wide>(1) << bits) < key_space) ++bits;
    shift_ = bits - kBucketBits;
    bucket_.assign((size_t{1} << kBucketBits) + 1, 0);
    size_t i = 0;
    for (size_t b = 0; b <= (size_t{1} << kBucketBits); ++b) {
        const Wide from = static_cast<Wide>(b) << shift_;
        while (i < starts_.size() && starts_[i] < from) ++i;
        bucket_[b] = static_cast<uint32_t>(i);
    }

    occupied_shift_ = bits - kOccupiedBits;
    occupied_.assign((size_t{1} << kOccupiedBits) / 64, 0);
    for (size_t k = 0; k < starts_.size(); ++k) {
        if (first_[k + 1] == first_[k]) continue;  // a gap between listed ranges
        const Wide last = (k + 1 < starts_.size() ? static_cast<Wide>(starts_[k + 1]) : key_space) - 1;
        const auto from = static_cast<size_t>(starts_[k] >> occupied_shift_);
        const auto to = static_cast<size_t>(last >> occupied_shift_);
        for (size_t o = from; o <= to; ++o) occupied_[o >> 6] |= uint64_t{1} << (o & 63);
    }
}

template class IntervalTable<uint32_t>;
template class IntervalTable<uint64_t>;

std::vector<uint32_t> AddrIndex::build(const std::vector<CompiledRule>& rules, const std::vector<uint32_t>& candidates,
                                       std::vector<uint32_t>& v6_only, bool ports) {
    indexed_ = 0;
    port_keyed_ = 0;
    v6_only.clear();
    std::vector<uint32_t> rest;
    for (uint32_t r : candidates) {
        const rules::AddrSpec* as = addr_side(rules[r]);
        const rules::PortSpec* ps = ports ? port_side(rules[r]) : nullptr;
        // Compare the fractions of each key space the two lists cover.
        const bool by_port = ps && (!as || uint64_t{port_count(*ps)} << 16 < v4_addresses(*as));
        if (by_port) {
            ++indexed_;
            ++port_keyed_;
            for (const auto& pr : ps->include) ports_.add(r, pr.lo, uint64_t{pr.hi} + 1);
            continue;
        }
        if (!as) {
            rest.push_back(r);
            continue;
        }
        ++indexed_;
        bool broad_v6 = false;
        for (const auto& c : as->include) {
            if (c.family != 4) {
                broad_v6 |= c.len < kMinPrefixLen6;
                continue;
            }
            const uint64_t size = uint64_t{1} << (32 - c.len);
            const uint64_t lo = v4_key(c.addr.data()) & ~(size - 1);
            addrs_.add(r, lo, lo + size);
        }
        if (broad_v6) {
            v6_only.push_back(r);
            continue;
        }
        for (const auto& c : as->include) {
            if (c.family == 4) continue;
            const unsigned len = c.len < 64 ? c.len : 64;
            const unsigned __int128 size = static_cast<unsigned __int128>(1) << (64 - len);
            const unsigned __int128 lo = v6_key(c.addr.data()) & ~(size - 1);
            addrs6_.add(r, lo, lo + size);
        }
    }
    addrs_.build(uint64_t{1} << 32);
    addrs6_.build(static_cast<unsigned __int128>(1) << 64);
    ports_.build(uint64_t{1} << 16);
    return rest;
}

}  // namespace vtap::detect
