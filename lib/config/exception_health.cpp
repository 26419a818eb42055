// `exception:` (non-VTAP frames to a kernel tap and back) and `health:`
// (the control thread's HTTP health endpoint). Kept apart from config.cpp:
// both sections are optional and only cross-check against `ports`.
#include <charconv>

#include "config/sections.hpp"

namespace vtap::config::detail {
namespace {

constexpr size_t kMaxForward = 16;  // runtime/exception_path.hpp holds as many

bool parse_u16(std::string_view t, uint16_t& out) {
    uint64_t v = 0;
    bool overflow = false;
    if (!parse_unsigned(t, v, overflow) || overflow || v > 0xFFFF) return false;
    out = static_cast<uint16_t>(v);
    return true;
}

// "arp" | "icmp" | "ipv6" | "tcp:N" | "udp:N" | "ip:N" | "ethertype:N"
Result<ForwardEntry> parse_forward(const std::string& text) {
    ForwardEntry e;
    e.text = text;
    if (text == "arp") return e.kind = ForwardKind::kEtherType, e.value = 0x0806, e;
    if (text == "ipv6") return e.kind = ForwardKind::kEtherType, e.value = 0x86DD, e;
    if (text == "icmp") return e.kind = ForwardKind::kIpProto, e.value = 1, e;
    const auto colon = text.find(':');
    const std::string_view what = std::string_view(text).substr(0, colon);
    const std::string_view num = colon == std::string::npos ? "" : std::string_view(text).substr(colon + 1);
    if (what == "tcp") e.kind = ForwardKind::kTcpPort;
    else if (what == "udp") e.kind = ForwardKind::kUdpPort;
    else if (what == "ip") e.kind = ForwardKind::kIpProto;
    else if (what == "ethertype") e.kind = ForwardKind::kEtherType;
    else
        return fail("", "unknown forward entry " + quote(text) +
                            "; use arp, icmp, ipv6, tcp:PORT, udp:PORT, ip:PROTO or ethertype:0xNNNN");
    if (!parse_u16(num, e.value) || (e.kind == ForwardKind::kIpProto && e.value > 255) ||
        ((e.kind == ForwardKind::kTcpPort || e.kind == ForwardKind::kUdpPort) && e.value == 0))
        return fail("", quote(text) + ": needs a number after ':' (port 1..65535, protocol 0..255, EtherType 0..0xFFFF)");
    if (e.kind == ForwardKind::kEtherType && e.value == 0x0800)
        return fail("", quote(text) + ": all of IPv4 cannot go to the kernel (VTAP is IPv4); name icmp, tcp:PORT, ...");
    return e;
}

// "A.B.C.D/N" with N in 1..32.
bool valid_cidr(const std::string& s) {
    const auto slash = s.find('/');
    if (slash == std::string::npos) return false;
    uint16_t len = 0;
    return parse_prefix(s.substr(0, slash) + "/32") && parse_u16(std::string_view(s).substr(slash + 1), len) &&
           len >= 1 && len <= 32;
}

}  // namespace

Result<void> parse_exception(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("exception"), "exception");
    VTAP_CONFIG_TRY(m.check_keys({"enabled", "tap_name", "address", "port", "ring_size", "forward"}));
    ExceptionConfig& x = cfg.exception;
    VTAP_CONFIG_TRY(m.read("enabled", x.enabled));
    VTAP_CONFIG_TRY(m.read("tap_name", x.tap_name));
    VTAP_CONFIG_TRY(m.read("address", x.address));
    VTAP_CONFIG_TRY(m.read("port", x.port, 0, 255));
    VTAP_CONFIG_TRY(m.read("ring_size", x.ring_size, 64, 65536));
    if (x.ring_size & (x.ring_size - 1))
        return m.fail_at("ring_size", "'exception.ring_size' is " + std::to_string(x.ring_size) +
                                          "; it must be a power of two");
    if (x.tap_name.empty() || x.tap_name.size() > 15 || x.tap_name.find_first_of(",=/ ") != std::string::npos)
        return m.fail_at("tap_name", "'exception.tap_name' " + quote(x.tap_name) +
                                         " must be 1..15 characters without ',', '=', '/' or spaces");
    if (!x.address.empty() && !valid_cidr(x.address))
        return m.fail_at("address", "'exception.address' " + quote(x.address) + " must be A.B.C.D/N (N 1..32)");
    std::vector<std::string> fwd{"arp", "icmp"};
    VTAP_CONFIG_TRY(m.read("forward", fwd));
    if (fwd.size() > kMaxForward)
        return m.fail_at("forward", "'exception.forward' has " + std::to_string(fwd.size()) + " entries; at most " +
                                        std::to_string(kMaxForward));
    x.forward.clear();
    for (const auto& t : fwd) {
        auto e = parse_forward(t);
        if (!e) return m.fail_at("forward", "'exception.forward': " + e.error().what);
        if (e->kind == ForwardKind::kUdpPort && e->value == cfg.decap.udp_port)
            return m.fail_at("forward", "'exception.forward': " + quote(t) + " is the VXLAN port (decap.udp_port)");
        for (const auto& o : x.forward)
            if (o.kind == e->kind && o.value == e->value)
                return m.fail_at("forward", "'exception.forward' lists " + quote(t) + " twice");
        x.forward.push_back(*e);
    }
    if (x.enabled && x.port >= cfg.ports.size())
        return m.fail_at("port", "'exception.port' is " + std::to_string(x.port) + " but there are only " +
                                     std::to_string(cfg.ports.size()) + " ports");
    return {};
}

Result<void> parse_health(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("health"), "health");
    VTAP_CONFIG_TRY(m.check_keys({"listen", "max_drop_ratio", "stall_ms", "window_s"}));
    HealthConfig& h = cfg.health;
    VTAP_CONFIG_TRY(m.read("listen", h.listen));
    VTAP_CONFIG_TRY(m.read("stall_ms", h.stall_ms, 100, 3600000));
    VTAP_CONFIG_TRY(m.read("window_s", h.window_s, 1, 3600));
    if (m.child("max_drop_ratio").IsDefined()) {
        std::string t;
        VTAP_CONFIG_TRY(m.read("max_drop_ratio", t));
        double v = -1;
        auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        if (r.ec != std::errc{} || r.ptr != t.data() + t.size() || !(v >= 0 && v <= 1))
            return m.fail_at("max_drop_ratio", "'health.max_drop_ratio' " + quote(t) + " must be a number 0..1");
        h.max_drop_ratio = v;
    }
    if (!h.listen.empty()) {
        const auto colon = h.listen.rfind(':');
        uint16_t port = 0;
        auto addr = colon == std::string::npos ? std::string() : h.listen.substr(0, colon);
        auto p = parse_prefix(addr + "/32");
        // Port 0 binds any free port; vtapd prints the one it got.
        if (colon == std::string::npos || !p || !parse_u16(std::string_view(h.listen).substr(colon + 1), port))
            return m.fail_at("listen", "'health.listen' " + quote(h.listen) +
                                           " must be IPv4ADDRESS:PORT, e.g. 127.0.0.1:8081");
    }
    return {};
}

}  // namespace vtap::config::detail
