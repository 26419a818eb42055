// The index FlowTable and Defrag keep over their entry arrays: open
// addressing with linear probing over a power of two of (hash, index + 1)
// entries, starting from the hash's low bits, deletions by backward shift
// (Knuth 6.4, Algorithm R), so there are no tombstones and lookups never
// slow down as entries come and go. Callers size it at least twice their
// entry count, so a probe run always ends at an empty entry.
#pragma once

#include <cstdint>

namespace vtap::flow::probe {

struct Entry {
    uint32_t hash;  // the full hash: a cheap first compare before the key
    uint32_t idx1;  // the entry's index + 1; 0 = empty
};
static_assert(sizeof(Entry) == 8);

// The position of the entry for `hash` whose index `same(index)` accepts
// (found = true), else of the empty entry where it would go.
template <class Same>
inline uint32_t find(const Entry* e, uint32_t mask, uint32_t hash, Same&& same, bool& found) noexcept {
    for (uint32_t s = hash & mask;; s = (s + 1) & mask) {
        if (e[s].idx1 == 0) {
            found = false;
            return s;
        }
        if (e[s].hash == hash && same(e[s].idx1 - 1)) {
            found = true;
            return s;
        }
    }
}

// Removes index `idx` (stored under `hash`).
inline void erase(Entry* e, uint32_t mask, uint32_t hash, uint32_t idx) noexcept {
    uint32_t i = hash & mask;
    while (e[i].idx1 != idx + 1) i = (i + 1) & mask;
    for (uint32_t j = (i + 1) & mask; e[j].idx1 != 0; j = (j + 1) & mask) {
        const uint32_t home = e[j].hash & mask;
        // The entry at j may move to i only if its home is not in (i, j].
        const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays) continue;
        e[i] = e[j];
        i = j;
    }
    e[i] = Entry{0, 0};
}

}  // namespace vtap::flow::probe
