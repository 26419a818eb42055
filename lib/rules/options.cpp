// Option dispatch and the non-payload keywords: rule metadata, flow, dsize,
// ttl, itype/icode, flags, stream_size, threshold / detection_filter. Every keyword not
// named in kHandlers makes the rule a Skip ("unsupported keyword 'x'"): the
// engine never runs a rule with part of its conditions left out.
#include <algorithm>
#include <unordered_map>

#include "rules/options.hpp"
#include "rules/text.hpp"

namespace vtap::rules::detail {
namespace {

using Handler = Outcome (*)(RuleCtx&, const Option&);

Outcome need_value(const Option& o) {
    return Outcome::error(quote(o.name) + " needs a value");
}

Outcome uint_field(const Option& o, uint32_t& out, int64_t lo) {
    int64_t v = 0;
    if (!o.has_value) return need_value(o);
    if (!parse_range(o.value, lo, UINT32_MAX, v)) return Outcome::error("bad " + std::string(o.name) + " " + quote(o.value));
    out = static_cast<uint32_t>(v);
    return Outcome::ok();
}

// "N", "!N", "<N", ">N", "<=N", ">=N", "=N", "A<>B", "A-B" (Suricata), "A<=>B" (Snort 3).
Outcome num_check(const Option& o, uint32_t max, std::optional<NumCheck>& out) {
    if (!o.has_value) return need_value(o);
    std::string s;
    for (char c : o.value)
        if (!is_space(c)) s.push_back(c);
    std::string_view v = s;
    auto bad = [&] { return Outcome::error("bad " + std::string(o.name) + " " + quote(o.value)); };
    auto num = [&](std::string_view t, uint32_t& n) {
        int64_t x = 0;
        if (t.empty() || t[0] < '0' || t[0] > '9' || !parse_range(t, 0, max, x)) return false;
        n = static_cast<uint32_t>(x);
        return true;
    };
    NumCheck c;
    for (auto [sep, op] : {std::pair{std::string_view("<=>"), CmpOp::kRangeIncl},
                           std::pair{std::string_view("<>"), CmpOp::kRange}, std::pair{std::string_view("-"), CmpOp::kRange}}) {
        if (auto at = v.find(sep); at != std::string_view::npos && at > 0) {
            if (!num(v.substr(0, at), c.a) || !num(v.substr(at + sep.size()), c.b)) return bad();
            if (c.a >= c.b) return Outcome::error(std::string(o.name) + " range " + quote(o.value) + " is empty or reversed");
            c.op = op;
            out = c;
            return Outcome::ok();
        }
    }
    size_t skip = 0;
    if (v.starts_with("<=")) c.op = CmpOp::kLessEq, skip = 2;
    else if (v.starts_with(">=")) c.op = CmpOp::kGreaterEq, skip = 2;
    else if (v.starts_with("!=")) c.op = CmpOp::kNotEq, skip = 2;
    else if (v.starts_with('<')) c.op = CmpOp::kLess, skip = 1;
    else if (v.starts_with('>')) c.op = CmpOp::kGreater, skip = 1;
    else if (v.starts_with('!')) c.op = CmpOp::kNotEq, skip = 1;
    else if (v.starts_with('=')) c.op = CmpOp::kEq, skip = 1;
    if (!num(v.substr(skip), c.a)) return bad();
    out = c;
    return Outcome::ok();
}

Outcome kw_msg(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    if (o.value.starts_with('"') && closing_quote(o.value) != o.value.size() - 1)
        return Outcome::error("unterminated quoted string in msg");
    ctx.rule.msg = unquote(o.value);
    return Outcome::ok();
}
Outcome kw_sid(RuleCtx& ctx, const Option& o) {
    if (ctx.rule.sid != 0) return Outcome::error("sid given twice");
    return uint_field(o, ctx.rule.sid, 1);
}
Outcome kw_rev(RuleCtx& ctx, const Option& o) { return uint_field(o, ctx.rule.rev, 0); }
Outcome kw_gid(RuleCtx& ctx, const Option& o) { return uint_field(o, ctx.rule.gid, 0); }

Outcome kw_classtype(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    ctx.rule.classtype = std::string(o.value);
    if (ctx.classes.empty()) return Outcome::ok();  // no table at all: keep the default priority
    auto it = ctx.classes.find(ctx.rule.classtype);
    if (it == ctx.classes.end()) return Outcome::error("unknown classtype " + quote(o.value));
    if (!ctx.explicit_priority) ctx.rule.priority = it->second.second;
    return Outcome::ok();
}

Outcome kw_priority(RuleCtx& ctx, const Option& o) {
    int64_t v = 0;
    if (!o.has_value || !parse_range(o.value, 1, 255, v)) return Outcome::error("priority must be 1..255");
    ctx.rule.priority = static_cast<uint8_t>(v);
    ctx.explicit_priority = true;
    return Outcome::ok();
}

Outcome kw_reference(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    ctx.rule.references.emplace_back(o.value);
    return Outcome::ok();
}

Outcome kw_metadata(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    for (auto item : split_commas(o.value))
        if (!item.empty()) ctx.rule.metadata.emplace_back(item);
    return Outcome::ok();
}

Outcome kw_target(RuleCtx& ctx, const Option& o) {
    if (o.value != "src_ip" && o.value != "dest_ip") return Outcome::error("target must be src_ip or dest_ip");
    ctx.rule.target = std::string(o.value);
    return Outcome::ok();
}

Outcome kw_service(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    for (auto item : split_commas(o.value)) {
        if (item.empty()) return Outcome::error("empty service name");
        ctx.rule.services.push_back(lower(item));
    }
    return Outcome::ok();
}

Outcome kw_ignore(RuleCtx&, const Option&) { return Outcome::ok(); }

Outcome kw_content(RuleCtx& ctx, const Option& o) {
    return o.has_value ? opt_content(ctx, o.value) : need_value(o);
}
Outcome kw_modifier(RuleCtx& ctx, const Option& o) {
    return opt_content_modifier(ctx, o.name, o.value, o.has_value);
}
Outcome kw_pcre(RuleCtx& ctx, const Option& o) { return o.has_value ? opt_pcre(ctx, o.value) : need_value(o); }
Outcome kw_byte_test(RuleCtx& ctx, const Option& o) { return o.has_value ? opt_byte_test(ctx, o.value) : need_value(o); }
Outcome kw_byte_jump(RuleCtx& ctx, const Option& o) { return o.has_value ? opt_byte_jump(ctx, o.value) : need_value(o); }
Outcome kw_byte_extract(RuleCtx& ctx, const Option& o) {
    return o.has_value ? opt_byte_extract(ctx, o.value) : need_value(o);
}
Outcome kw_isdataat(RuleCtx& ctx, const Option& o) { return o.has_value ? opt_isdataat(ctx, o.value) : need_value(o); }

Outcome kw_flow(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    FlowOpts& f = ctx.rule.flow;
    for (auto item : split_commas(o.value)) {
        std::string w = lower(item);
        if (w == "to_server" || w == "from_client") f.to_server = true;
        else if (w == "to_client" || w == "from_server") f.to_client = true;
        else if (w == "established") f.established = true;
        else if (w == "not_established") f.not_established = true;
        else if (w == "stateless") f.stateless = true;
        else if (w == "only_stream") f.only_stream = true;
        else if (w == "no_stream") f.no_stream = true;
        else if (w == "only_frag" || w == "no_frag") return Outcome::skip("flow option " + quote(w));
        else return Outcome::error("unknown flow option " + quote(item));
    }
    if (f.to_server && f.to_client) return Outcome::error("flow: to_server and to_client together");
    if (f.established && (f.not_established || f.stateless))
        return Outcome::error("flow: established with not_established or stateless");
    if (f.only_stream && f.no_stream) return Outcome::error("flow: only_stream and no_stream together");
    return Outcome::ok();
}

// flowbits:noalert | flowbits:<cmd>,<name>[|<name>...] as Suricata reads
// it: '|' lists any-of names for isset/isnotset; '&' is part of a name (ET's
// `set,a&b` sets one bit called "a&b" in Suricata too). Snort's groups (a
// third field), setx and reset are not supported: the rule is skipped whole.
Outcome kw_flowbits(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return Outcome::error("flowbits needs a value");
    const auto items = split_commas(o.value);
    if (items.size() == 1 && items[0] == "noalert") {
        ctx.rule.noalert = true;
        return Outcome::ok();
    }
    using Cmd = Flowbit::Cmd;
    static const std::pair<std::string_view, Cmd> kCmds[] = {{"set", Cmd::kSet},     {"unset", Cmd::kUnset},
                                                             {"toggle", Cmd::kToggle}, {"isset", Cmd::kIsSet},
                                                             {"isnotset", Cmd::kIsNotSet}};
    const auto* cmd = std::find_if(std::begin(kCmds), std::end(kCmds), [&](const auto& c) { return c.first == items[0]; });
    if (cmd == std::end(kCmds)) {
        if (items[0] == "setx" || items[0] == "reset") return Outcome::skip("flowbits " + quote(items[0]));
        return Outcome::error("unknown flowbits command " + quote(items[0]));
    }
    Flowbit fb;
    fb.cmd = cmd->second;
    if (items.size() < 2 || items[1].empty()) return Outcome::error("flowbits " + quote(items[0]) + " needs a name");
    if (items.size() > 2) return Outcome::skip("flowbits groups");
    const std::string_view names = items[1];
    fb.any = names.find('|') != std::string_view::npos;
    if (fb.any && !fb.is_check()) return Outcome::skip("flowbits " + quote(items[0]) + " with '|'");
    for (std::string_view rest = names;;) {
        const auto at = rest.find('|');
        const std::string_view name = trim(rest.substr(0, at));
        if (name.empty() || std::any_of(name.begin(), name.end(), is_space))
            return Outcome::error("flowbits name " + quote(name) + " is empty or has spaces");
        fb.names.emplace_back(name);
        if (at == std::string_view::npos) break;
        rest.remove_prefix(at + 1);
    }
    // Suricata refuses a rule that can never match.
    for (const Flowbit& other : ctx.rule.flowbits) {
        if (!other.is_check() || !fb.is_check() || other.cmd == fb.cmd || other.any || fb.any) continue;
        if (other.names[0] == fb.names[0])
            return Outcome::error("flowbits isset and isnotset of " + quote(fb.names[0]) + " together never match");
    }
    ctx.rule.flowbits.push_back(std::move(fb));
    return Outcome::ok();
}

Outcome kw_noalert(RuleCtx& ctx, const Option& o) {
    if (o.has_value) return Outcome::error("noalert takes no value");
    ctx.rule.noalert = true;
    return Outcome::ok();
}

Outcome kw_dsize(RuleCtx& ctx, const Option& o) { return num_check(o, 65535, ctx.rule.dsize); }
Outcome kw_ttl(RuleCtx& ctx, const Option& o) { return num_check(o, 255, ctx.rule.ttl); }
Outcome kw_itype(RuleCtx& ctx, const Option& o) { return num_check(o, 255, ctx.rule.itype); }
Outcome kw_icode(RuleCtx& ctx, const Option& o) { return num_check(o, 255, ctx.rule.icode); }

// flags:[+*!]<FSRPAUCE12 or 0>[+*!][,<ignored>] — one modifier, before or after.
Outcome kw_flags(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    auto bit = [](char c) -> int {
        switch (c) {
        case 'F': return 0x01; case 'S': return 0x02; case 'R': return 0x04; case 'P': return 0x08;
        case 'A': return 0x10; case 'U': return 0x20; case 'E': case '2': return 0x40;
        case 'C': case '1': return 0x80;
        default: return -1;
        }
    };
    auto parts = split_commas(o.value);
    if (parts.size() > 2) return Outcome::error("bad flags " + quote(o.value));
    TcpFlags f;
    bool zero = false;
    for (char c : parts[0]) {
        char u = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        if (u == '+' || u == '*' || u == '!') {
            if (f.modifier) return Outcome::error("flags has two modifiers: " + quote(o.value));
            f.modifier = u;
        } else if (u == '0') {
            zero = true;
        } else if (int b = bit(u); b >= 0) {
            f.bits |= static_cast<uint8_t>(b);
        } else if (!is_space(u)) {
            return Outcome::error("bad flag '" + std::string(1, c) + "' in flags " + quote(o.value));
        }
    }
    if (zero && f.bits) return Outcome::error("flags: '0' (no flags) with other flags");
    if (!zero && !f.bits) return Outcome::error("flags names no flag: " + quote(o.value));
    if (parts.size() == 2) {
        for (char c : parts[1]) {
            int b = bit(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
            if (b < 0) return Outcome::error("bad ignored flag '" + std::string(1, c) + "' in flags");
            f.ignore |= static_cast<uint8_t>(b);
        }
    }
    ctx.rule.flags = f;
    return Outcome::ok();
}

// threshold: type T, track K, count N, seconds M (any order);
// detection_filter: the same without type. Counts above a million are
// refused: the shared threshold table keeps 20 bits of count (ET Open's
// largest is 1,000).
constexpr int64_t kMaxThresholdCount = 1'000'000;
Outcome threshold_like(RuleCtx& ctx, const Option& o, bool detection_filter) {
    if (!o.has_value) return need_value(o);
    if (ctx.rule.threshold) return Outcome::error("only one threshold or detection_filter per rule");
    const std::string kw(o.name);
    Threshold t;
    t.type = Threshold::Type::kDetectionFilter;
    bool type = false, track = false, count = false, seconds = false;
    for (auto item : split_commas(o.value)) {
        auto [key, val] = split_word(item);
        int64_t n = 0;
        if (key == "type" && !detection_filter) {
            if (val == "limit") t.type = Threshold::Type::kLimit;
            else if (val == "threshold") t.type = Threshold::Type::kThreshold;
            else if (val == "both") t.type = Threshold::Type::kBoth;
            else return Outcome::error(kw + " type must be limit, threshold or both");
            type = true;
        } else if (key == "track") {
            if (val == "by_src") t.track = Threshold::Track::kBySrc;
            else if (val == "by_dst") t.track = Threshold::Track::kByDst;
            else if (val == "by_rule") t.track = Threshold::Track::kByRule;
            else if (val == "by_both") t.track = Threshold::Track::kByBoth;
            else if (val == "by_flow") return Outcome::skip(kw + " track by_flow");
            else return Outcome::error(kw + " track must be by_src, by_dst, by_rule or by_both");
            track = true;
        } else if (key == "count" && parse_range(val, 1, kMaxThresholdCount, n)) {
            t.count = static_cast<uint32_t>(n);
            count = true;
        } else if (key == "seconds" && parse_range(val, 1, UINT32_MAX, n)) {
            t.seconds = static_cast<uint32_t>(n);
            seconds = true;
        } else if (key == "count") {
            return Outcome::error(kw + " count must be between 1 and " + std::to_string(kMaxThresholdCount) +
                                  ", got " + quote(val));
        } else {
            return Outcome::error("bad " + kw + " item " + quote(item));
        }
    }
    if (!(type || detection_filter) || !track || !count || !seconds)
        return Outcome::error(kw + (detection_filter ? " needs track, count and seconds" : " needs type, track, count and seconds"));
    ctx.rule.threshold = t;
    return Outcome::ok();
}
Outcome kw_threshold(RuleCtx& ctx, const Option& o) { return threshold_like(ctx, o, false); }
Outcome kw_detection_filter(RuleCtx& ctx, const Option& o) { return threshold_like(ctx, o, true); }

// stream_size:<server|client|both|either>,<op>,<n>, op one of < <= = != >= >
// (Suricata's six; no ranges).
Outcome kw_stream_size(RuleCtx& ctx, const Option& o) {
    if (!o.has_value) return need_value(o);
    const auto items = split_commas(o.value);
    if (items.size() != 3) return Outcome::error("stream_size " + quote(o.value) + " is not <side>,<op>,<bytes>");
    using Side = StreamSize::Side;
    static const std::pair<std::string_view, Side> kSides[] = {
        {"server", Side::kServer}, {"client", Side::kClient}, {"both", Side::kBoth}, {"either", Side::kEither}};
    static const std::pair<std::string_view, CmpOp> kOps[] = {
        {"<", CmpOp::kLess},         {"<=", CmpOp::kLessEq}, {"=", CmpOp::kEq},
        {"!=", CmpOp::kNotEq},       {">=", CmpOp::kGreaterEq}, {">", CmpOp::kGreater}};
    StreamSize ss;
    const auto* side = std::find_if(std::begin(kSides), std::end(kSides), [&](const auto& s) { return s.first == items[0]; });
    if (side == std::end(kSides))
        return Outcome::error("stream_size side " + quote(items[0]) + " is not server, client, both or either");
    ss.side = side->second;
    const auto* op = std::find_if(std::begin(kOps), std::end(kOps), [&](const auto& c) { return c.first == items[1]; });
    if (op == std::end(kOps)) return Outcome::error("stream_size operator " + quote(items[1]) + " is not <, <=, =, !=, >= or >");
    ss.check.op = op->second;
    int64_t n = 0;
    if (items[2].empty() || items[2][0] < '0' || items[2][0] > '9' || !parse_range(items[2], 0, UINT32_MAX, n))
        return Outcome::error("bad stream_size bytes " + quote(items[2]));
    ss.check.a = static_cast<uint32_t>(n);
    ctx.rule.stream_size.push_back(ss);
    return Outcome::ok();
}

// pkt_data selects the packet payload, the only buffer vtapd has; every other
// sticky buffer (http.uri, file_data, dns.query, ...) is unsupported.
Outcome kw_pkt_data(RuleCtx&, const Option& o) {
    return o.has_value ? Outcome::error("pkt_data takes no value") : Outcome::ok();
}

const std::unordered_map<std::string_view, Handler>& handlers() {
    static const std::unordered_map<std::string_view, Handler> kHandlers{
        {"msg", kw_msg}, {"sid", kw_sid}, {"rev", kw_rev}, {"gid", kw_gid},
        {"classtype", kw_classtype}, {"priority", kw_priority}, {"reference", kw_reference},
        {"metadata", kw_metadata}, {"target", kw_target}, {"service", kw_service}, {"rem", kw_ignore},
        {"content", kw_content}, {"nocase", kw_modifier}, {"rawbytes", kw_modifier},
        {"fast_pattern", kw_modifier}, {"startswith", kw_modifier}, {"endswith", kw_modifier},
        {"offset", kw_modifier}, {"depth", kw_modifier}, {"distance", kw_modifier}, {"within", kw_modifier},
        {"pcre", kw_pcre}, {"byte_test", kw_byte_test}, {"byte_jump", kw_byte_jump},
        {"byte_extract", kw_byte_extract}, {"isdataat", kw_isdataat}, {"pkt_data", kw_pkt_data},
        {"flow", kw_flow}, {"flowbits", kw_flowbits}, {"noalert", kw_noalert},
        {"dsize", kw_dsize}, {"ttl", kw_ttl}, {"itype", kw_itype}, {"icode", kw_icode}, {"flags", kw_flags},
        {"tcp.flags", kw_flags},  // Suricata 8's name for flags (same syntax)
        {"stream_size", kw_stream_size},
        {"threshold", kw_threshold}, {"detection_filter", kw_detection_filter},
    };
    return kHandlers;
}

}  // namespace

Outcome apply_option(RuleCtx& ctx, const Option& opt) {
    const auto& table = handlers();
    auto it = table.find(opt.name);
    if (it == table.end()) return Outcome::skip("unsupported keyword " + quote(opt.name));
    return it->second(ctx, opt);
}

}  // namespace vtap::rules::detail
