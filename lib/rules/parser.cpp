// One rule: "action proto src sport dir dst dport (options)". Syntax is
// checked before meaning: a malformed rule is an Error even when it also uses
// something unsupported; a well-formed one that needs an app-layer parser or
// an unsupported keyword is a Skip; only what is left becomes a Rule.
#include <algorithm>

#include "rules/options.hpp"
#include "rules/parser.hpp"
#include "rules/text.hpp"

namespace vtap::rules {
namespace {

using detail::Option;
using detail::Outcome;
using detail::quote;
using detail::trim;

struct NamedProto {
    std::string_view name;
    Proto proto;
};

// Header protocols that name an application layer: Suricata runs them over
// the transport given here (kIp: both TCP and UDP). Snort 3 service rules
// ("alert http (...)") use the same names.
constexpr NamedProto kAppProtos[] = {
    {"http", Proto::kTcp}, {"http1", Proto::kTcp}, {"http2", Proto::kTcp}, {"ftp", Proto::kTcp},
    {"ftp-data", Proto::kTcp}, {"smtp", Proto::kTcp}, {"tls", Proto::kTcp}, {"ssl", Proto::kTcp},
    {"ssh", Proto::kTcp}, {"imap", Proto::kTcp}, {"pop3", Proto::kTcp}, {"smb", Proto::kTcp},
    {"dcerpc", Proto::kIp}, {"dns", Proto::kIp}, {"nfs", Proto::kIp}, {"krb5", Proto::kIp},
    {"ntp", Proto::kUdp}, {"tftp", Proto::kUdp}, {"dhcp", Proto::kUdp}, {"snmp", Proto::kUdp},
    {"sip", Proto::kIp}, {"ike", Proto::kUdp}, {"ikev2", Proto::kUdp}, {"quic", Proto::kUdp},
    {"rfb", Proto::kTcp}, {"mqtt", Proto::kTcp}, {"rdp", Proto::kTcp}, {"pgsql", Proto::kTcp},
    {"telnet", Proto::kTcp}, {"modbus", Proto::kTcp}, {"dnp3", Proto::kTcp}, {"enip", Proto::kIp},
    {"bittorrent-dht", Proto::kUdp}, {"websocket", Proto::kTcp}, {"ldap", Proto::kIp}, {"msn", Proto::kTcp},
    {"irc", Proto::kTcp}, {"netbios-ssn", Proto::kTcp}, {"sunrpc", Proto::kIp}, {"dce_smb", Proto::kTcp},
    {"dce_tcp", Proto::kTcp}, {"dce_udp", Proto::kUdp}, {"gtp", Proto::kUdp}, {"file", Proto::kIp},
};

// Network protocols Suricata knows that vtapd's model has no slot for.
constexpr std::string_view kOtherProtos[] = {"icmpv4", "icmpv6", "ipv4", "ipv6", "sctp", "pkthdr", "ip4", "ip6"};

constexpr std::string_view kActions[] = {"alert", "drop", "reject", "rejectsrc", "rejectdst",
                                         "rejectboth", "pass", "log", "sdrop", "block"};

std::string where(const SourceLoc& loc, uint32_t sid) {
    std::string w = loc.file + ":" + std::to_string(loc.line);
    if (sid) w += " (sid " + std::to_string(sid) + ")";
    return w;
}

// Header tokens split on whitespace, keeping "[a, b]" lists whole.
std::expected<std::vector<std::string_view>, std::string> split_header(std::string_view h) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < h.size()) {
        while (i < h.size() && detail::is_space(h[i])) ++i;
        if (i == h.size()) break;
        size_t start = i;
        int depth = 0;
        while (i < h.size() && (depth > 0 || !detail::is_space(h[i]))) {
            if (h[i] == '[') ++depth;
            if (h[i] == ']') --depth;
            ++i;
        }
        if (depth != 0) return std::unexpected("unbalanced brackets in the header");
        out.push_back(h.substr(start, i - start));
    }
    return out;
}

struct OwnedOption {
    std::string name;  // lower-cased
    std::string_view value;
    bool has_value = false;
};

bool valid_option_name(std::string_view n) {
    if (n.empty()) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    });
}

// Splits "k:v; k;" on every ';' not escaped by '\'. Quotes do not protect a
// ';' (Suricata's rule, and ET relies on it: pcre:"/^["']?post/Ri" has a lone
// '"' inside); quoting is checked per keyword.
std::expected<std::vector<OwnedOption>, std::string> split_options(std::string_view body) {
    std::vector<OwnedOption> out;
    size_t i = 0;
    while (i < body.size()) {
        while (i < body.size() && detail::is_space(body[i])) ++i;
        if (i == body.size()) break;
        size_t start = i;
        while (i < body.size() && body[i] != ':' && body[i] != ';') ++i;
        OwnedOption o;
        o.name = detail::lower(trim(body.substr(start, i - start)));
        if (!valid_option_name(o.name))
            return std::unexpected(o.name.empty() ? std::string("empty option (stray ';'?)")
                                                  : "malformed option " + quote(trim(body.substr(start, i - start))));
        if (i < body.size() && body[i] == ':') {
            size_t vstart = ++i;
            while (i < body.size() && body[i] != ';') i += body[i] == '\\' ? 2 : 1;
            if (i > body.size()) return std::unexpected("option " + quote(o.name) + " ends in a lone backslash");
            o.value = trim(body.substr(vstart, i - vstart));
            o.has_value = true;
        }
        if (i < body.size()) ++i;  // the ';'
        out.push_back(std::move(o));
    }
    return out;
}

bool is_transport(std::string_view p, Proto& proto, FlowOpts& flow) {
    if (p == "ip") proto = Proto::kIp;
    else if (p == "tcp") proto = Proto::kTcp;
    else if (p == "udp") proto = Proto::kUdp;
    else if (p == "icmp") proto = Proto::kIcmp;
    else if (p == "tcp-pkt") proto = Proto::kTcp, flow.no_stream = true;     // Suricata 7: packets only
    else if (p == "tcp-stream") proto = Proto::kTcp, flow.only_stream = true;  // reassembled stream only
    else return false;
    return true;
}

}  // namespace

RuleParser::RuleParser(const Vars& vars, Classifications classes) : net_(vars), classes_(std::move(classes)) {}

ParseResult RuleParser::parse(std::string_view text, const SourceLoc& loc) {
    uint32_t sid = 0;
    auto error = [&](std::string what) { return ParseResult(Error{where(loc, sid), std::move(what)}); };
    text = trim(text);
    const auto open = text.find('(');
    if (open == std::string_view::npos) return error("missing '(' before the rule options");
    if (text.back() != ')') return error("rule does not end with ')'");
    auto opts = split_options(text.substr(open + 1, text.size() - open - 2));
    if (!opts) return error(opts.error());

    // The sid first, so that every later message can name it.
    bool has_sid = false;
    for (const auto& o : *opts) {
        int64_t v = 0;
        if (o.name != "sid") continue;
        has_sid = true;
        if (detail::parse_range(o.value, 1, UINT32_MAX, v)) sid = static_cast<uint32_t>(v);
    }
    if (!has_sid) return error("rule has no sid");

    Rule rule;
    rule.loc = loc;
    auto split = split_header(text.substr(0, open));
    if (!split) return error(split.error());
    const auto& head = *split;
    if (head.empty()) return error("missing action and header before '('");
    const std::string action = detail::lower(head[0]);
    if (std::find(std::begin(kActions), std::end(kActions), action) == std::end(kActions))
        return error("unknown action " + quote(head[0]));
    rule.action = action == "alert" ? Action::kAlert
                : action == "pass"  ? Action::kPass
                : action == "log"   ? Action::kLog
                : action.starts_with("reject") ? Action::kReject
                                               : Action::kDrop;
    if (action == "sdrop") rule.noalert = true;  // Snort's silent drop
    if (head.size() < 2) return error("missing protocol after the action");

    std::string skip;
    const std::string proto = detail::lower(head[1]);
    if (!is_transport(proto, rule.proto, rule.flow)) {
        auto app = std::find_if(std::begin(kAppProtos), std::end(kAppProtos),
                                [&](const NamedProto& p) { return p.name == proto; });
        if (app != std::end(kAppProtos)) {
            rule.app_proto = proto;
            rule.proto = app->proto;
            skip = "app-layer protocol " + quote(proto);
        } else if (std::find(std::begin(kOtherProtos), std::end(kOtherProtos), proto) != std::end(kOtherProtos)) {
            skip = "unsupported protocol " + quote(proto);
        } else {
            return error("unknown protocol " + quote(head[1]));
        }
    }
    // Snort 3 service rules may leave out addresses, ports and direction.
    if (head.size() == 2 && !rule.app_proto.empty()) return ParseResult(Skip{skip, sid});
    if (head.size() != 7)
        return error("header needs 'action proto src_addr src_port -> dst_addr dst_port', got " +
                     std::to_string(head.size()) + " fields");
    if (head[4] == "<>") rule.bidirectional = true;
    else if (head[4] != "->") return error("direction must be '->' or '<>', not " + quote(head[4]));

    auto src = net_.address(head[2]);
    if (!src) return error("source address: " + src.error());
    auto sport = net_.ports(head[3]);
    if (!sport) return error("source port: " + sport.error());
    auto dst = net_.address(head[5]);
    if (!dst) return error("destination address: " + dst.error());
    auto dport = net_.ports(head[6]);
    if (!dport) return error("destination port: " + dport.error());
    rule.src = std::move(*src);
    rule.src_ports = std::move(*sport);
    rule.dst = std::move(*dst);
    rule.dst_ports = std::move(*dport);
    if (!skip.empty()) return ParseResult(Skip{std::move(skip), sid});

    detail::RuleCtx ctx{rule, classes_};
    for (const auto& o : *opts) {
        Outcome r = detail::apply_option(ctx, Option{o.name, o.value, o.has_value});
        if (r.kind == Outcome::Kind::kSkip) return ParseResult(Skip{std::move(r.text), sid});
        if (r.kind == Outcome::Kind::kError) return error(std::move(r.text));
    }
    // Snort 3 matches a service rule on the identified service; with no port to
    // stand in for that identification the rule would fire on every flow.
    if (!rule.services.empty() && rule.src_ports.any && rule.dst_ports.any)
        return ParseResult(Skip{"service with any ports (needs app-layer identification)", sid});
    return ParseResult(std::move(rule));
}

ParseResult parse_rule(std::string_view text, const Vars& vars, const Classifications& classes, SourceLoc loc) {
    RuleParser parser(vars, classes);
    return parser.parse(text, loc);
}

}  // namespace vtap::rules
