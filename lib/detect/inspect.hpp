// The inspection engine (hot): evaluates a rule's payload keywords in order on
// one buffer with Suricata's semantics (detect-engine-content-inspection.c):
// recursive search with retry on the next occurrence, discontinue on
// independent misses, byte_extract variables, a recursion budget. Hyperscan
// only nominates candidates; this decides.
//
// Stream mode: the buffer is the stream window (older bytes + the new chunk).
// `base` is the stream offset of buffer[0], so offset/depth stay absolute
// stream positions (like Hyperscan's min/max_offset); `fresh_from` is where
// the new chunk begins, and a positional rule only matches if some matched
// element ends after it, so bytes already inspected do not fire again.
#pragma once

#include <cstdint>
#include <span>

#include "detect/program.hpp"

struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;

namespace vtap::detect {

// Suricata's default detect.inspection-recursion-limit.
inline constexpr uint32_t kRecursionLimit = 3000;

struct InspectScratch {
    pcre2_real_match_data_8* match_data = nullptr;        // owned by the Scanner
    pcre2_real_match_context_8* match_context = nullptr;  // match/depth limits
};

struct InspectInput {
    std::span<const uint8_t> buf;
    uint64_t base = 0;        // stream offset of buf[0]; 0 for packets
    uint32_t fresh_from = 0;  // index in buf where unseen bytes start; 0 for packets
};

// True when the payload keywords of `rule` match `in`. A rule without payload
// keywords matches. Never allocates; bounded by kRecursionLimit.
bool inspect_payload(const CompiledRule& rule, const InspectInput& in, InspectScratch& scratch) noexcept;

// Stream mode, a cheap necessary condition for inspect_payload: a rule whose
// payload keywords are contents (and isdataat) can only match freshly if one
// of its positive contents occurs ending in the new bytes. False means
// inspect_payload would say no; true means it must be asked. Used for rules
// re-tried because an earlier chunk held their anchor: most new chunks hold
// none of their contents, and the full search walks the whole window.
bool may_match_fresh(const CompiledRule& rule, const InspectInput& in) noexcept;

}  // namespace vtap::detect
