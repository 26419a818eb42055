// Cold path: a rule whose payload keywords are a chain of positive contents
// becomes one Hyperscan regex whose match is exactly the inspection engine's
// verdict on the same buffer, so the rule is conclusive (no confirmation, no
// stream window). Shapes outside the chain below keep the literal anchor and
// inspection; so do chains that would cost Hyperscan more than the
// inspection they save (kMinChainContentBytes, kMaxChainRepeatWidth).
#pragma once

#include <cstdint>
#include <string>

#include "rules/rule.hpp"

namespace vtap::detect {

// Sum over a chain regex's repeats of its upper bound (its lower bound when
// unbounded). Above it the rule keeps today's literal anchor + inspection:
// wide bounded repeats grow hs_stream_size and compile time.
inline constexpr uint32_t kMaxChainRepeatWidth = 256;

// Every content of a compiled chain has at least this many bytes. A short
// content ("|0d 0a|", "GET") occurs in most packets, and once it is part of
// the regex Hyperscan runs the chain's engine on each occurrence, where the
// literal anchor (the longest content) stays quiet. With all loadable ET Open
// rules, allowing 3-byte contents cost 8 % of vtapd's block and 21 % of its
// stream scan throughput, 4 bytes and up ~0 % and 10 %; see bench/README.md.
inline constexpr uint32_t kMinChainContentBytes = 4;

enum class ChainShape : uint8_t {
    kChain,      // expressible: `expression` is set
    kNotChain,   // some keyword is not a content, or a content is negated, variable, endswith, ...
    kTooCostly,  // a chain, but with a short content or repeats over kMaxChainRepeatWidth
};

struct ChainRegex {
    ChainShape shape = ChainShape::kNotChain;
    std::string expression;  // Hyperscan syntax, flags 0 (no DOTALL needed: gaps are [\s\S])
};

// The chain accepted (and the regex it gets), with at least two contents:
//   C1 [offset:o] [depth:D] | startswith   ->  C1 alone, or ^[\s\S]{o,o+D-n1}C1 / ^[\s\S]{o,}C1
//   Ci distance:d (d >= 0) [within:w]       ->  [\s\S]{d,d+w-ni}Ci, or [\s\S]{d,}Ci
// Contents are \xHH escapes, nocase ones in (?i:...). Why this is exact: each
// later content's search window [p+d, p+d+w) moves right with the previous
// match end p, so the earliest occurrence at each step is never worse, and
// the inspection engine's backtracking (retry where a within follows) finds
// a match whenever one exists; see lib/detect/README.md. Left out: negative
// distance (a match may start before the previous one ends), relative
// contents with offset/depth, independent contents after the first,
// endswith, byte_extract variables.
ChainRegex chain_regex(const rules::Rule& rule);

// Every byte as \xHH: literal in any Hyperscan or PCRE context.
std::string hex_escape(const std::string& bytes);

}  // namespace vtap::detect
