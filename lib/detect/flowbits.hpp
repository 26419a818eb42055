// flowbits (Suricata's detect-flowbits.c): named bits a rule sets, unsets or
// toggles on its flow when it matches, and that other rules require set
// (isset) or clear (isnotset). Names become small ids when the rule set is
// compiled (Database); a flow keeps the ids that are set in a fixed array
// owned by the worker (no allocation on the hot path).
#pragma once

#include <cstdint>
#include <vector>

#include "rules/rule.hpp"

namespace vtap::detect {

// One flowbits keyword of a lowered rule: names resolved to ids.
struct FlowbitOp {
    rules::Flowbit::Cmd cmd = rules::Flowbit::Cmd::kSet;
    bool any = false;               // isset/isnotset over a '|' list: true if any name qualifies
    std::vector<uint16_t> ids;
};

// The bits set on one flow. A flow rarely carries more than a few; a set
// that finds all kMax in use is refused and counted (detect.flowbits_full),
// so a later isset of that name does not match.
struct FlowBits {
    static constexpr uint32_t kMax = 15;
    uint8_t n = 0;
    uint16_t ids[kMax] = {};

    bool isset(uint16_t id) const noexcept {
        for (uint32_t i = 0; i < n; ++i)
            if (ids[i] == id) return true;
        return false;
    }
    // False when the bit is not set and there is no room for it.
    bool set(uint16_t id) noexcept {
        if (isset(id)) return true;
        if (n == kMax) return false;
        ids[n++] = id;
        return true;
    }
    void unset(uint16_t id) noexcept {
        for (uint32_t i = 0; i < n; ++i)
            if (ids[i] == id) {
                ids[i] = ids[--n];
                return;
            }
    }
    void clear() noexcept { n = 0; }
};
static_assert(sizeof(FlowBits) == 32);

// isset/isnotset of a rule against its flow's bits (nullptr: the packet has
// no flow, where Suricata's checks do not match either).
inline bool flowbit_checks_pass(const std::vector<FlowbitOp>& checks, const FlowBits* bits) noexcept {
    for (const FlowbitOp& c : checks) {
        if (bits == nullptr) return false;
        const bool want_set = c.cmd == rules::Flowbit::Cmd::kIsSet;
        bool ok = !c.any;  // all: every name must qualify; any: one is enough
        for (uint16_t id : c.ids) {
            const bool qualifies = bits->isset(id) == want_set;
            if (c.any && qualifies) { ok = true; break; }
            if (!c.any && !qualifies) { ok = false; break; }
        }
        if (!ok) return false;
    }
    return true;
}

// set/unset/toggle of a matched rule, in rule order. Returns the sets refused
// for want of room.
inline uint32_t apply_flowbit_actions(const std::vector<FlowbitOp>& actions, FlowBits* bits) noexcept {
    if (bits == nullptr) return 0;
    uint32_t full = 0;
    for (const FlowbitOp& a : actions)
        for (uint16_t id : a.ids) {
            switch (a.cmd) {
                case rules::Flowbit::Cmd::kSet: full += !bits->set(id); break;
                case rules::Flowbit::Cmd::kUnset: bits->unset(id); break;
                case rules::Flowbit::Cmd::kToggle:
                    if (bits->isset(id)) bits->unset(id);
                    else full += !bits->set(id);
                    break;
                default: break;
            }
        }
    return full;
}

}  // namespace vtap::detect
