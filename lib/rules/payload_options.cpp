// Payload keywords: content and its modifiers (Suricata's separate options
// and Snort 3's "content:"x", nocase, depth 4;" form), pcre, byte_test,
// byte_jump, byte_extract, isdataat. The checks mirror the ones Suricata
// refuses a rule for (a depth shorter than the content, relative and absolute
// modifiers on one content, an unknown pcre flag, ...).
#include <algorithm>
#include <expected>
#include <variant>

#include "rules/options.hpp"
#include "rules/text.hpp"

namespace vtap::rules::detail {
namespace {

constexpr int64_t kMaxOffset = 65535;  // payload positions never exceed an IP datagram

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Inner text of a leading "..." (escapes left in) and what follows it.
bool take_quoted(std::string_view v, std::string_view& inner, std::string_view& rest) {
    size_t end = closing_quote(v);
    if (end == std::string_view::npos) return false;
    inner = v.substr(1, end - 1);
    rest = v.substr(end + 1);
    return true;
}

std::expected<std::string, std::string> decode_content(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool hex = false;
    int high = -1;  // first nibble of a hex byte, -1 when none pending
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (hex) {
            if (c == '|') {
                if (high >= 0) return std::unexpected(std::string("odd number of hex digits in |...|"));
                hex = false;
            } else if (is_space(c)) {
                if (high >= 0) return std::unexpected(std::string("hex byte split by a space in |...|"));
            } else if (int d = hex_value(c); d < 0) {
                return std::unexpected("bad hex digit " + quote(std::string_view(&s[i], 1)) + " in |...|");
            } else if (high < 0) {
                high = d;
            } else {
                out.push_back(static_cast<char>(high << 4 | d));
                high = -1;
            }
        } else if (c == '|') {
            hex = true;
        } else if (c == '\\') {
            if (i + 1 == s.size()) return std::unexpected(std::string("content ends in a lone backslash"));
            char n = s[++i];
            if (n != '"' && n != '\\' && n != ';' && n != ':')
                return std::unexpected("invalid escape '\\" + std::string(1, n) + "' in content (only \\\" \\; \\: \\\\)");
            out.push_back(n);
        } else {
            out.push_back(c);
        }
    }
    if (hex) return std::unexpected(std::string("unterminated |hex| block in content"));
    if (out.empty()) return std::unexpected(std::string("empty content"));
    return out;
}

// A number in [lo, hi] or the name of an earlier byte_extract.
Outcome parse_value(const RuleCtx& ctx, std::string_view s, std::string_view kw, int64_t lo, int64_t hi,
                    IntOrVar& out) {
    s = trim(s);
    int64_t v = 0;
    if (parse_i64(s, v)) {
        if (v < lo || v > hi)
            return Outcome::error(std::string(kw) + " value " + std::string(s) + " out of range [" +
                                  std::to_string(lo) + ", " + std::to_string(hi) + "]");
        out = IntOrVar{v, {}};
        return Outcome::ok();
    }
    if (!is_identifier(s)) return Outcome::error("bad " + std::string(kw) + " value " + quote(s));
    for (const auto& name : ctx.extract_vars) {
        if (name == s) {
            out = IntOrVar{0, std::string(s)};
            return Outcome::ok();
        }
    }
    return Outcome::error(std::string(kw) + " names " + quote(s) + ", which no earlier byte_extract defines");
}

bool is_number(std::string_view s, int64_t lo, int64_t hi, int64_t& out) { return parse_range(s, lo, hi, out); }

}  // namespace

std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::string out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        out.push_back(v[i]);
    }
    return out;
}

Outcome opt_content(RuleCtx& ctx, std::string_view value) {
    Content c;
    std::string_view v = trim(value);
    if (!v.empty() && v[0] == '!') {
        c.negated = true;
        v = trim(v.substr(1));
    }
    std::string_view inner, rest;
    if (!take_quoted(v, inner, rest))
        return Outcome::error(v.starts_with('"') ? "unterminated quoted string in content" : "content needs a quoted string");
    auto bytes = decode_content(inner);
    if (!bytes) return Outcome::error(bytes.error());
    c.bytes = std::move(*bytes);
    ctx.rule.payload.emplace_back(std::move(c));
    ctx.last_content = static_cast<int>(ctx.rule.payload.size() - 1);
    rest = trim(rest);
    if (rest.empty()) return Outcome::ok();
    if (rest[0] != ',') return Outcome::error("unexpected " + quote(rest) + " after the content string");
    // Snort 3: modifiers are sub-options of content.
    for (std::string_view item : split_commas(rest.substr(1))) {
        auto [word, arg] = split_word(item);
        std::string name = lower(word);
        if (name != "nocase" && name != "offset" && name != "depth" && name != "distance" && name != "within" &&
            name != "fast_pattern" && name != "fast_pattern_offset" && name != "fast_pattern_length")
            return Outcome::error("unknown content option " + quote(item));
        if (auto r = opt_content_modifier(ctx, name, arg, !arg.empty()); r.kind != Outcome::Kind::kOk) return r;
    }
    return Outcome::ok();
}

Outcome opt_content_modifier(RuleCtx& ctx, std::string_view name, std::string_view value, bool has_value) {
    const std::string kw(name);
    if (ctx.last_content < 0) return Outcome::error("'" + kw + "' needs a preceding content");
    Content& c = std::get<Content>(ctx.rule.payload[static_cast<size_t>(ctx.last_content)]);
    const auto len = static_cast<int64_t>(c.bytes.size());
    auto twice = [&] { return Outcome::error("'" + kw + "' given twice for one content"); };
    auto no_value = [&] { return Outcome::error("'" + kw + "' takes no value"); };
    const bool absolute = c.offset || c.depth, relative = c.distance || c.within;

    if (name == "nocase" || name == "rawbytes" || name == "startswith" || name == "endswith") {
        if (has_value) return no_value();
        bool& flag = name == "nocase" ? c.nocase : name == "rawbytes" ? c.rawbytes
                   : name == "startswith" ? c.startswith : c.endswith;
        if (flag) return twice();
        if (name == "startswith" && (absolute || relative))
            return Outcome::error("startswith cannot be combined with offset, depth, distance or within");
        flag = true;
        return Outcome::ok();
    }
    if (name == "fast_pattern") {
        if (ctx.fast_pattern_seen) return Outcome::error("fast_pattern is set on more than one content");
        ctx.fast_pattern_seen = true;
        c.fast_pattern = true;
        if (!has_value) return Outcome::ok();
        if (trim(value) == "only") {
            c.fast_pattern_only = true;
            return Outcome::ok();
        }
        auto parts = split_commas(value);
        int64_t off = 0, n = 0;
        if (parts.size() != 2 || !is_number(parts[0], 0, kMaxOffset, off) || !is_number(parts[1], 1, kMaxOffset, n))
            return Outcome::error("fast_pattern takes 'only' or '<offset>,<length>', not " + quote(value));
        if (off + n > len) return Outcome::error("fast_pattern " + std::string(value) + " reaches past the content");
        c.fp_offset = static_cast<uint16_t>(off);
        c.fp_length = static_cast<uint16_t>(n);
        return Outcome::ok();
    }
    if (name == "fast_pattern_offset" || name == "fast_pattern_length") {
        int64_t n = 0;
        if (!is_number(value, name == "fast_pattern_offset" ? 0 : 1, len, n))
            return Outcome::error("bad " + kw + " " + quote(value));
        (name == "fast_pattern_offset" ? c.fp_offset : c.fp_length) = static_cast<uint16_t>(n);
        if (c.fp_offset + c.fp_length > len) return Outcome::error(kw + " reaches past the content");
        return Outcome::ok();
    }
    const bool is_abs = name == "offset" || name == "depth";
    if (!is_abs && name != "distance" && name != "within") return Outcome::error("unknown content modifier " + quote(name));
    if (!has_value) return Outcome::error("'" + kw + "' needs a value");
    auto& slot = name == "offset" ? c.offset : name == "depth" ? c.depth : name == "distance" ? c.distance : c.within;
    if (slot) return twice();
    if (c.startswith) return Outcome::error(kw + " cannot be combined with startswith");
    if (is_abs ? relative : absolute)
        return Outcome::error("relative (distance/within) and absolute (offset/depth) modifiers on one content");
    const int64_t lo = name == "distance" ? -kMaxOffset : name == "offset" ? 0 : 1;
    IntOrVar v;
    if (auto r = parse_value(ctx, value, name, lo, kMaxOffset, v); r.kind != Outcome::Kind::kOk) return r;
    if (v.var.empty() && (name == "depth" || name == "within") && v.value < len)
        return Outcome::error(kw + " " + std::to_string(v.value) + " is shorter than the content (" +
                              std::to_string(len) + " bytes)");
    slot = v;
    return Outcome::ok();
}

Outcome opt_pcre(RuleCtx& ctx, std::string_view value) {
    Pcre p;
    std::string_view v = trim(value);
    if (!v.empty() && v[0] == '!') {
        p.negated = true;
        v = trim(v.substr(1));
    }
    if (v.size() < 2 || v.front() != '"' || v.back() != '"') return Outcome::error("pcre needs a quoted \"/pattern/flags\"");
    v = v.substr(1, v.size() - 2);
    auto last = v.rfind('/');
    if (v.empty() || v[0] != '/' || last == 0) return Outcome::error("pcre must look like \"/pattern/flags\"");
    if (last == 1) return Outcome::error("empty pcre pattern");
    p.pattern = std::string(v.substr(1, last - 1));
    for (char f : v.substr(last + 1)) {
        switch (f) {
        case 'i': case 's': case 'm': case 'x': case 'A': case 'E': case 'G':
            if (p.flags.find(f) == std::string::npos) p.flags.push_back(f);
            break;
        case 'R': p.relative = true; break;
        case 'B': case 'O': break;  // rawbytes (vtapd only has raw bytes); match-limit override
        case 'U': case 'I': case 'P': case 'Q': case 'H': case 'D': case 'M': case 'C':
        case 'S': case 'Y': case 'V': case 'W': case 'Z':
            return Outcome::skip("pcre flag '" + std::string(1, f) + "' (HTTP buffer)");
        default:
            return Outcome::error("unknown pcre flag '" + std::string(1, f) + "'");
        }
    }
    ctx.rule.payload.emplace_back(std::move(p));
    return Outcome::ok();
}

namespace {

// Options byte_test, byte_jump and byte_extract share. handled=false: not one of them.
Outcome byte_spec_option(std::string_view kw, ByteSpec& spec, std::string_view word, std::string_view arg,
                         bool& handled) {
    handled = true;
    int64_t n = 0;
    if (word == "relative") spec.relative = true;
    else if (word == "big") spec.little_endian = false;
    else if (word == "little") spec.little_endian = true;
    else if (word == "string") spec.string = true;
    else if (word == "hex") spec.base = 16;
    else if (word == "dec") spec.base = 10;
    else if (word == "oct") spec.base = 8;
    else if (word == "dce") return Outcome::skip(std::string(kw) + " dce");
    else if (word == "bitmask") {
        if (!is_number(arg, 1, UINT32_MAX, n)) return Outcome::error(std::string(kw) + " bad bitmask " + quote(arg));
        spec.bitmask = static_cast<uint32_t>(n);
        return Outcome::ok();
    } else {
        handled = false;
        return Outcome::ok();
    }
    if (!arg.empty()) return Outcome::error(std::string(kw) + " option '" + std::string(word) + "' takes no value");
    return Outcome::ok();
}

Outcome check_nbytes(std::string_view kw, const ByteSpec& spec) {
    if (!spec.string && spec.nbytes > 8)
        return Outcome::error(std::string(kw) + " reads " + std::to_string(spec.nbytes) +
                              " bytes, more than 8 without 'string'");
    return Outcome::ok();
}

// byte_test and byte_extract read 1..10 bytes; Suricata's byte_jump takes
// 0..23 (23 string digits fill a uint64; 0 bytes jump by post_offset alone,
// and a 0-digit string never matches).
Outcome parse_nbytes(std::string_view kw, std::string_view s, ByteSpec& spec, int64_t lo = 1, int64_t hi = 10) {
    int64_t n = 0;
    if (!is_number(s, lo, hi, n))
        return Outcome::error(std::string(kw) + " byte count " + quote(s) + " is not " + std::to_string(lo) + ".." +
                              std::to_string(hi));
    spec.nbytes = static_cast<uint8_t>(n);
    return Outcome::ok();
}

#define VTAP_TRY(expr)                                            \
    do {                                                          \
        if (Outcome r_ = (expr); r_.kind != Outcome::Kind::kOk) return r_; \
    } while (0)

}  // namespace

Outcome opt_byte_test(RuleCtx& ctx, std::string_view value) {
    auto parts = split_commas(value);
    if (parts.size() < 4) return Outcome::error("byte_test needs <bytes>,<op>,<value>,<offset>[,options]");
    ByteTest t;
    VTAP_TRY(parse_nbytes("byte_test", parts[0], t.spec));
    std::string_view op = parts[1];
    if (op == "!" || op == "!=") {
        t.op = ByteOp::kNotEqual;
    } else {
        if (op.starts_with('!')) {
            t.negated = true;
            op.remove_prefix(1);
        }
        if (op == "<") t.op = ByteOp::kLess;
        else if (op == ">") t.op = ByteOp::kGreater;
        else if (op == "=") t.op = ByteOp::kEqual;
        else if (op == "<=") t.op = ByteOp::kLessEq;
        else if (op == ">=") t.op = ByteOp::kGreaterEq;
        else if (op == "&") t.op = ByteOp::kAnd;
        else if (op == "^") t.op = ByteOp::kOr;  // Snort and Suricata document '^' as bitwise OR
        else return Outcome::error("byte_test operator " + quote(parts[1]) + " is not one of < > = ! & ^ <= >=");
    }
    VTAP_TRY(parse_value(ctx, parts[2], "byte_test value", 0, INT64_MAX, t.value));
    VTAP_TRY(parse_value(ctx, parts[3], "byte_test offset", -kMaxOffset, kMaxOffset, t.spec.offset));
    for (size_t i = 4; i < parts.size(); ++i) {
        auto [word, arg] = split_word(parts[i]);
        bool handled = false;
        VTAP_TRY(byte_spec_option("byte_test", t.spec, word, arg, handled));
        if (!handled) return Outcome::error("unknown byte_test option " + quote(parts[i]));
    }
    VTAP_TRY(check_nbytes("byte_test", t.spec));
    ctx.rule.payload.emplace_back(std::move(t));
    return Outcome::ok();
}

Outcome opt_byte_jump(RuleCtx& ctx, std::string_view value) {
    auto parts = split_commas(value);
    if (parts.size() < 2) return Outcome::error("byte_jump needs <bytes>,<offset>[,options]");
    ByteJump j;
    VTAP_TRY(parse_nbytes("byte_jump", parts[0], j.spec, 0, 23));
    VTAP_TRY(parse_value(ctx, parts[1], "byte_jump offset", -kMaxOffset, kMaxOffset, j.spec.offset));
    for (size_t i = 2; i < parts.size(); ++i) {
        auto [word, arg] = split_word(parts[i]);
        bool handled = false;
        VTAP_TRY(byte_spec_option("byte_jump", j.spec, word, arg, handled));
        if (handled) continue;
        int64_t n = 0;
        if (word == "multiplier" && is_number(arg, 1, kMaxOffset, n)) j.multiplier = static_cast<int32_t>(n);
        else if (word == "post_offset" && is_number(arg, -kMaxOffset, kMaxOffset, n)) j.post_offset = static_cast<int32_t>(n);
        else if (word == "align" && arg.empty()) j.align = true;
        else if (word == "from_beginning" && arg.empty()) j.from_beginning = true;
        else if (word == "from_end" && arg.empty()) j.from_end = true;
        else return Outcome::error("bad byte_jump option " + quote(parts[i]));
    }
    if (j.from_beginning && j.from_end) return Outcome::error("byte_jump: from_beginning and from_end together");
    VTAP_TRY(check_nbytes("byte_jump", j.spec));
    ctx.rule.payload.emplace_back(std::move(j));
    return Outcome::ok();
}

Outcome opt_byte_extract(RuleCtx& ctx, std::string_view value) {
    auto parts = split_commas(value);
    if (parts.size() < 3) return Outcome::error("byte_extract needs <bytes>,<offset>,<name>[,options]");
    ByteExtract e;
    VTAP_TRY(parse_nbytes("byte_extract", parts[0], e.spec));
    int64_t off = 0;
    if (!is_number(parts[1], -kMaxOffset, kMaxOffset, off))
        return Outcome::error("byte_extract offset " + quote(parts[1]) + " is not a number");
    e.spec.offset = IntOrVar{off, {}};
    if (!is_identifier(parts[2])) return Outcome::error("byte_extract name " + quote(parts[2]) + " is not a name");
    e.name = std::string(parts[2]);
    for (size_t i = 3; i < parts.size(); ++i) {
        auto [word, arg] = split_word(parts[i]);
        bool handled = false;
        VTAP_TRY(byte_spec_option("byte_extract", e.spec, word, arg, handled));
        if (handled) continue;
        int64_t n = 0;
        if (word == "multiplier" && is_number(arg, 1, kMaxOffset, n)) e.multiplier = static_cast<int32_t>(n);
        else if (word == "align" && (arg == "2" || arg == "4")) e.align = static_cast<uint8_t>(arg[0] - '0');
        else return Outcome::error("bad byte_extract option " + quote(parts[i]));
    }
    VTAP_TRY(check_nbytes("byte_extract", e.spec));
    // Snort 3 rules redefine a name to re-extract it (community sid 36611).
    if (std::find(ctx.extract_vars.begin(), ctx.extract_vars.end(), e.name) == ctx.extract_vars.end())
        ctx.extract_vars.push_back(e.name);
    ctx.rule.payload.emplace_back(std::move(e));
    return Outcome::ok();
}

Outcome opt_isdataat(RuleCtx& ctx, std::string_view value) {
    IsDataAt d;
    std::string_view v = trim(value);
    if (!v.empty() && v[0] == '!') {
        d.negated = true;
        v = v.substr(1);
    }
    auto parts = split_commas(v);
    VTAP_TRY(parse_value(ctx, parts[0], "isdataat", 0, kMaxOffset, d.offset));
    for (size_t i = 1; i < parts.size(); ++i) {
        if (parts[i] == "relative") d.relative = true;
        else if (parts[i] != "rawbytes") return Outcome::error("unknown isdataat option " + quote(parts[i]));
    }
    ctx.rule.payload.emplace_back(std::move(d));
    return Outcome::ok();
}

#undef VTAP_TRY

}  // namespace vtap::rules::detail
