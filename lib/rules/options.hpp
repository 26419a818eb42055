// Rule options ("content:...;", "flow:...;") applied one at a time, in rule
// order, to a Rule under construction. Each option either applies, asks for
// the rule to be skipped (supported syntax, unsupported meaning), or is an
// error. Internal to lib/rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rules/parser.hpp"

namespace vtap::rules::detail {

struct Option {
    std::string_view name;   // lower-cased by the caller
    std::string_view value;  // trimmed; empty when has_value is false
    bool has_value = false;
};

struct Outcome {
    enum class Kind : uint8_t { kOk, kSkip, kError };
    Kind kind = Kind::kOk;
    std::string text;  // skip reason or error message

    static Outcome ok() { return {}; }
    static Outcome skip(std::string why) { return {Kind::kSkip, std::move(why)}; }
    static Outcome error(std::string why) { return {Kind::kError, std::move(why)}; }
};

// State that spans options of one rule.
struct RuleCtx {
    Rule& rule;
    const Classifications& classes;
    int last_content = -1;            // payload index of the content modifiers apply to
    bool explicit_priority = false;   // `priority:` wins over the classtype's
    bool fast_pattern_seen = false;
    std::vector<std::string> extract_vars;  // byte_extract names defined so far
};

Outcome apply_option(RuleCtx& ctx, const Option& opt);

// Payload keywords (payload_options.cpp).
Outcome opt_content(RuleCtx& ctx, std::string_view value);
Outcome opt_content_modifier(RuleCtx& ctx, std::string_view name, std::string_view value, bool has_value);
Outcome opt_pcre(RuleCtx& ctx, std::string_view value);
Outcome opt_byte_test(RuleCtx& ctx, std::string_view value);
Outcome opt_byte_jump(RuleCtx& ctx, std::string_view value);
Outcome opt_byte_extract(RuleCtx& ctx, std::string_view value);
Outcome opt_isdataat(RuleCtx& ctx, std::string_view value);

// `msg` text: quotes removed, backslash escapes resolved.
std::string unquote(std::string_view value);

}  // namespace vtap::rules::detail
