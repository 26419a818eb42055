// Cold path: one rules::Rule -> CompiledRule (ops with resolved variables,
// compiled pcre2 code) and its Hyperscan anchor: the expression whose match
// nominates the rule as a candidate. A chain of positive contents is one
// regex for the whole chain (chain.hpp). Otherwise Suricata's fast-pattern
// choice: the content marked fast_pattern, else the longest positive
// content; with no positive content, a positive pcre Hyperscan accepts
// (exactly or with HS_FLAG_PREFILTER); otherwise none and the rule is
// evaluated on every scan of its group after the header checks.
#pragma once

#include <cstdint>
#include <string>

#include <hs/hs.h>

#include "core/result.hpp"
#include "detect/program.hpp"
#include "rules/rule.hpp"

namespace vtap::detect {

// kChain: a whole content chain as one regex (chain.hpp); the rule is conclusive.
enum class AnchorKind : uint8_t { kNone, kLiteral, kRegex, kChain };

struct Anchor {
    AnchorKind kind = AnchorKind::kNone;
    std::string expression;     // Hyperscan syntax (literals as \xHH escapes)
    unsigned flags = 0;         // HS_FLAG_* (CASELESS, DOTALL, MULTILINE, PREFILTER)
    hs_expr_ext_t ext{};        // min/max_offset for absolute offset/depth
    bool stream_safe = true;    // false: the regex anchors (^, $, \A...) and means something else across a stream
    bool chain_too_costly = false;  // a content chain left to this anchor + inspection (ChainShape::kTooCostly)
};

// "file:line (sid N)" for errors about `rule`.
std::string rule_where(const rules::Rule& rule);

// Lowers one rule. Errors name the rule and the keyword (unknown variable,
// bad pcre, too many byte_extract variables, ...).
Result<CompiledRule> lower_rule(const rules::Rule& rule);

// The anchor for a lowered rule (rule and its source, same order of ops).
Anchor choose_anchor(const rules::Rule& rule);

}  // namespace vtap::detect
