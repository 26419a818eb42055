// `outputs:` — where alerts go, several at once: EVE JSON lines to a file or
// stdout, and syslog over udp, tcp, tls or a unix socket. Keys that do not
// apply to an output's type or transport are errors, as for ports, so
// "port: 514" under a unix socket is caught rather than ignored.
#include <algorithm>
#include <array>

#include "config/sections.hpp"

namespace vtap::config::detail {

namespace {

constexpr std::array<std::string_view, 24> kFacilities = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};

std::string facility_list() {
    std::string s;
    for (auto f : kFacilities) s += (s.empty() ? "" : ", ") + std::string(f);
    return s;
}

bool is_output_name(const std::string& s) {
    return !s.empty() && s.size() <= 32 &&
           std::ranges::all_of(s, [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool is_printusascii(const std::string& s) {
    return std::ranges::all_of(s, [](char c) { return c >= 33 && c <= 126; });
}

// Keys that only some types or transports use: (key, who uses it).
struct KeyRule {
    std::string_view key;
    bool eve, udp, tcp, tls, unix_;
};
constexpr KeyRule kKeyRules[] = {
    // key                 eve    udp    tcp    tls    unix
    {"path",               true,  false, false, false, true},
    {"transport",          false, true,  true,  true,  true},
    {"host",               false, true,  true,  true,  false},
    {"port",               false, true,  true,  true,  false},
    {"facility",           false, true,  true,  true,  true},
    {"app_name",           false, true,  true,  true,  true},
    {"hostname",           false, true,  true,  true,  false},
    {"queue_frames",       false, true,  true,  true,  true},
    {"drop_policy",        false, true,  true,  true,  true},
    {"max_message_bytes",  false, true,  false, false, true},
    {"format",             false, false, false, false, true},
    {"tls",                false, false, false, true,  false},
};

bool applies(const KeyRule& r, const output::OutputSpec& o) {
    if (o.type == output::OutputType::kEve) return r.eve;
    switch (o.transport) {
        case output::Transport::kUdp: return r.udp;
        case output::Transport::kTcp: return r.tcp;
        case output::Transport::kTls: return r.tls;
        case output::Transport::kUnix: return r.unix_;
    }
    return false;
}

std::string_view transport_name(output::Transport t) {
    switch (t) {
        case output::Transport::kUdp: return "udp";
        case output::Transport::kTcp: return "tcp";
        case output::Transport::kTls: return "tls";
        case output::Transport::kUnix: return "unix";
    }
    return "?";
}

Result<void> read_facility(const MapView& m, uint8_t& out) {
    if (!m.has("facility")) return {};
    std::string text;
    VTAP_CONFIG_TRY(m.read("facility", text));
    uint64_t n = 0;
    bool overflow = false;
    if (parse_unsigned(text, n, overflow)) {
        if (n > 23)
            return m.fail_at("facility", quote(m.path("facility")) + " is " + text + "; use 0..23 or a name (" +
                                             facility_list() + ")");
        out = static_cast<uint8_t>(n);
        return {};
    }
    for (size_t i = 0; i < kFacilities.size(); i++)
        if (kFacilities[i] == text) {
            out = static_cast<uint8_t>(i);
            return {};
        }
    return m.fail_at("facility", quote(m.path("facility")) + " is " + quote(text) +
                                     ", not a syslog facility; use 0..23 or one of: " + facility_list());
}

Result<void> read_tls(const MapView& parent, output::TlsConfig& tls) {
    MapView m(parent.source(), parent.child("tls"), parent.path("tls"));
    VTAP_CONFIG_TRY(m.check_keys({"ca_file", "cert_file", "key_file", "server_name", "verify"}));
    VTAP_CONFIG_TRY(m.read("ca_file", tls.ca_file));
    VTAP_CONFIG_TRY(m.read("cert_file", tls.cert_file));
    VTAP_CONFIG_TRY(m.read("key_file", tls.key_file));
    VTAP_CONFIG_TRY(m.read("server_name", tls.server_name));
    VTAP_CONFIG_TRY(m.read("verify", tls.verify));
    if (tls.cert_file.empty() != tls.key_file.empty()) {
        const char* given = tls.cert_file.empty() ? "key_file" : "cert_file";
        const char* missing = tls.cert_file.empty() ? "cert_file" : "key_file";
        return m.fail_at(given, quote(m.path(given)) + " is set but " + quote(m.path(missing)) +
                                    " is not; a client certificate needs both");
    }
    return {};
}

Result<output::OutputSpec> parse_output(const std::string& source, const YAML::Node& node, size_t index) {
    const std::string path = "outputs[" + std::to_string(index) + "]";
    if (!node.IsMap())
        return fail_node(source, node, quote(path) + " must be a mapping with at least 'type' (eve or syslog), got " +
                                           std::string(kind_name(node)));
    MapView m(source, node, path);
    VTAP_CONFIG_TRY(m.check_keys({"type", "name", "path", "transport", "host", "port", "facility", "app_name",
                                  "hostname", "queue_frames", "drop_policy", "max_message_bytes", "format", "tls"}));
    output::OutputSpec o;
    std::string type;
    if (!m.has("type")) return m.fail_here(quote(path + ".type") + " is missing (eve or syslog)");
    VTAP_CONFIG_TRY(m.read("type", type));
    if (type == "eve") o.type = output::OutputType::kEve;
    else if (type == "syslog") o.type = output::OutputType::kSyslog;
    else return m.fail_at("type", quote(m.path("type")) + " is " + quote(type) + "; use eve or syslog");

    if (o.type == output::OutputType::kSyslog) {
        std::string t = "udp";
        VTAP_CONFIG_TRY(m.read("transport", t));
        if (t == "udp") o.transport = output::Transport::kUdp;
        else if (t == "tcp") o.transport = output::Transport::kTcp;
        else if (t == "tls") o.transport = output::Transport::kTls;
        else if (t == "unix") o.transport = output::Transport::kUnix;
        else return m.fail_at("transport", quote(m.path("transport")) + " is " + quote(t) + "; use udp, tcp, tls or unix");
    }
    const std::string what = o.type == output::OutputType::kEve ? "type eve"
                                                                 : "transport " + std::string(transport_name(o.transport));
    for (const auto& r : kKeyRules)
        if (m.has(r.key) && !applies(r, o))
            return m.fail_at(r.key, quote(m.path(r.key)) + " does not apply to an output of " + what + "; remove it");

    o.name = type + std::to_string(index);
    VTAP_CONFIG_TRY(m.read("name", o.name));
    if (!is_output_name(o.name))
        return m.fail_at("name", quote(m.path("name")) + " is " + quote(o.name) +
                                     "; use 1..32 characters of a-z 0-9 _ (it names the output.<name>.* counters)");

    if (o.type == output::OutputType::kEve) {
        VTAP_CONFIG_TRY(m.read("path", o.path));
        if (o.path.empty())
            return m.fail_here(quote(path + ".path") + " is required for an eve output (a file, or \"-\" for stdout)");
        return o;
    }

    if (o.transport == output::Transport::kUnix) {
        o.path = output::kDevLog;
        o.format = output::MessageFormat::kLocal;
        o.max_message_bytes = output::kUnixMaxMessage;
        VTAP_CONFIG_TRY(m.read("path", o.path));
        if (o.path.empty() || o.path.size() > 107)
            return m.fail_at("path", quote(m.path("path")) + " must be a socket path of 1..107 bytes");
        std::string f = "local";
        VTAP_CONFIG_TRY(m.read("format", f));
        if (f == "local") o.format = output::MessageFormat::kLocal;
        else if (f == "rfc5424") o.format = output::MessageFormat::kRfc5424;
        else return m.fail_at("format", quote(m.path("format")) + " is " + quote(f) + "; use local or rfc5424");
    } else {
        if (!m.has("host"))
            return m.fail_here(quote(path + ".host") + " is required for syslog over " +
                               std::string(transport_name(o.transport)) + " (the collector's name or address)");
        VTAP_CONFIG_TRY(m.read("host", o.host));
        if (o.host.empty()) return m.fail_at("host", quote(m.path("host")) + " is empty");
        o.port = o.transport == output::Transport::kTls ? output::kSyslogTlsPort : output::kSyslogPort;
        VTAP_CONFIG_TRY(m.read("port", o.port, 1, 65535));
    }
    VTAP_CONFIG_TRY(read_facility(m, o.facility));
    VTAP_CONFIG_TRY(m.read("app_name", o.app_name));
    if (o.app_name.empty() || o.app_name.size() > 48 || !is_printusascii(o.app_name))
        return m.fail_at("app_name", quote(m.path("app_name")) + " must be 1..48 printable ASCII characters without spaces (RFC 5424 APP-NAME)");
    VTAP_CONFIG_TRY(m.read("hostname", o.hostname));
    if (o.hostname.size() > 255 || !is_printusascii(o.hostname))
        return m.fail_at("hostname", quote(m.path("hostname")) + " must be up to 255 printable ASCII characters without spaces (RFC 5424 HOSTNAME); \"\" = this machine's name");
    VTAP_CONFIG_TRY(m.read("queue_frames", o.queue_frames, 1, 1u << 24));
    std::string drop = "oldest";
    VTAP_CONFIG_TRY(m.read("drop_policy", drop));
    if (drop == "oldest") o.drop_newest = false;
    else if (drop == "newest") o.drop_newest = true;
    else return m.fail_at("drop_policy", quote(m.path("drop_policy")) + " is " + quote(drop) + "; use oldest or newest");
    VTAP_CONFIG_TRY(m.read("max_message_bytes", o.max_message_bytes, 480, 65000));
    if (o.transport == output::Transport::kTls) VTAP_CONFIG_TRY(read_tls(m, o.tls));
    return o;
}

}  // namespace

Result<std::vector<output::OutputSpec>> parse_outputs(const MapView& doc) {
    std::vector<output::OutputSpec> out;
    YAML::Node list = doc.child("outputs");
    if (!list.IsDefined() || list.IsNull()) return out;
    if (!list.IsSequence())
        return doc.fail_at("outputs", "'outputs' must be a list of outputs (- type: eve / - type: syslog), got " +
                                          std::string(kind_name(list)));
    size_t i = 0;
    for (const auto& e : list) {
        auto o = parse_output(doc.source(), e, i);
        if (!o) return std::unexpected(o.error());
        for (size_t j = 0; j < out.size(); j++) {
            if (out[j].name == o->name)
                return fail_node(doc.source(), e, "'outputs[" + std::to_string(i) + "]' has the name " + quote(o->name) +
                                                      " of outputs[" + std::to_string(j) + "]; names must be unique");
            if (o->type == output::OutputType::kEve && out[j].type == output::OutputType::kEve &&
                out[j].path == o->path)
                return fail_node(doc.source(), e, "'outputs[" + std::to_string(i) + "]' writes " + quote(o->path) +
                                                      " like outputs[" + std::to_string(j) +
                                                      "]; two writers would interleave lines");
        }
        out.push_back(std::move(*o));
        i++;
    }
    return out;
}

}  // namespace vtap::config::detail
