// AddrIndex::build: a sweep over prefix start/end events gives elementary
// intervals and the rules covering each.
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
const rules::AddrSpec* key_side(const CompiledRule& r) noexcept {
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

uint32_t v4(const rules::Cidr& c) noexcept {
    return (uint32_t{c.addr[0]} << 24) | (uint32_t{c.addr[1]} << 16) | (uint32_t{c.addr[2]} << 8) | c.addr[3];
}

}  // namespace

std::vector<uint32_t> AddrIndex::build(const std::vector<CompiledRule>& rules, const std::vector<uint32_t>& candidates,
                                       std::vector<uint32_t>& v6_only) {
    starts_.clear();
    first_.clear();
    rules_.clear();
    indexed_ = 0;
    v6_only.clear();
    std::vector<uint32_t> rest;
    // Events at a boundary: +1 for a rule whose prefix starts there, -1 where
    // it ends (the address after its last). 2^32 is never a start.
    std::map<uint64_t, std::vector<std::pair<uint32_t, int>>> events;
    for (uint32_t r : candidates) {
        const rules::AddrSpec* side = key_side(rules[r]);
        if (!side) {
            rest.push_back(r);
            continue;
        }
        ++indexed_;
        bool has_v6 = false;
        for (const auto& c : side->include) {
            if (c.family != 4) {
                has_v6 = true;
                continue;
            }
            const uint64_t size = uint64_t{1} << (32 - c.len);
            const uint64_t lo = v4(c) & ~(size - 1);
            events[lo].emplace_back(r, +1);
            events[lo + size].emplace_back(r, -1);
        }
        if (has_v6) v6_only.push_back(r);
    }
    std::map<uint32_t, int> active;  // rule -> covering prefixes (lists may overlap)
    for (const auto& [at, evs] : events) {
        for (const auto& [r, d] : evs)
            if ((active[r] += d) == 0) active.erase(r);
        if (at > UINT32_MAX) break;
        starts_.push_back(static_cast<uint32_t>(at));
        first_.push_back(static_cast<uint32_t>(rules_.size()));
        for (const auto& [r, n] : active) rules_.push_back(r);
    }
    first_.push_back(static_cast<uint32_t>(rules_.size()));
    return rest;
}

}  // namespace vtap::detect
