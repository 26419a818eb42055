#include "alert/eve_json.hpp"

#include <charconv>
#include <cstring>
#include <ctime>
#include <limits.h>
#include <unistd.h>

#include "alert/community_id.hpp"
#include "alert/json_escape.hpp"
#include "alert/sha1.hpp"

namespace vtap::alert {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_uint(std::string& out, uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<size_t>(r.ptr - buf));
}

void append_2(char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

// IPv4 dotted quad; IPv6 as Suricata prints it (util-print.c PrintInetIPv6):
// eight groups of four hex digits, no "::" compression.
void append_ip(std::string& out, uint8_t family, const std::array<uint8_t, 16>& a) {
    if (family == 6) {
        char buf[39];
        char* p = buf;
        for (int g = 0; g < 8; g++) {
            if (g) *p++ = ':';
            *p++ = kHex[a[2 * g] >> 4];
            *p++ = kHex[a[2 * g] & 15];
            *p++ = kHex[a[2 * g + 1] >> 4];
            *p++ = kHex[a[2 * g + 1] & 15];
        }
        out.append(buf, sizeof buf);
        return;
    }
    for (int i = 0; i < 4; i++) {
        if (i) out.push_back('.');
        append_uint(out, a[i]);
    }
}

void append_ipv4_net(std::string& out, uint32_t net) {
    std::array<uint8_t, 16> a{};
    std::memcpy(a.data(), &net, 4);
    append_ip(out, 4, a);
}

void key(std::string& out, const char* k) {  // ,"k":
    out.push_back(',');
    out.push_back('"');
    out.append(k);
    out.append("\":", 2);
}

void str_field(std::string& out, const char* k, std::string_view v) {
    key(out, k);
    out.push_back('"');
    append_json_escaped(out, v);
    out.push_back('"');
}

void uint_field(std::string& out, const char* k, uint64_t v) {
    key(out, k);
    append_uint(out, v);
}

std::string escaped(std::string_view s) {
    std::string o;
    append_json_escaped(o, s);
    return o;
}

}  // namespace

std::string local_hostname() {
    char buf[HOST_NAME_MAX + 1] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

std::string_view proto_name(uint8_t p, char (&num)[4]) noexcept {
    // Suricata reads these names from /etc/protocols (the alias column) with
    // a built-in fallback; these are the ones traffic behind a VM NIC carries.
    switch (p) {
        case 1: return "ICMP";
        case 2: return "IGMP";
        case 4: return "IP-ENCAP";
        case 6: return "TCP";
        case 17: return "UDP";
        case 41: return "IPv6";
        case 47: return "GRE";
        case 50: return "ESP";
        case 51: return "AH";
        case 58: return "IPv6-ICMP";
        case 112: return "VRRP";
        case 132: return "SCTP";
        case 136: return "UDPLite";
        default: {
            auto r = std::to_chars(num, num + sizeof num, unsigned{p});
            return {num, static_cast<size_t>(r.ptr - num)};
        }
    }
}

EveFormatter::EveFormatter(EveOptions opts)
    : opts_(std::move(opts)), host_json_(escaped(opts_.host)), iface_json_(escaped(opts_.in_iface)) {}

void EveFormatter::append_timestamp(uint64_t ts_ns, std::string& out) {
    const auto sec = static_cast<int64_t>(ts_ns / 1'000'000'000u);
    const auto usec = static_cast<uint32_t>(ts_ns % 1'000'000'000u / 1000u);
    if (sec != cached_sec_) {
        const time_t t = static_cast<time_t>(sec);
        struct tm tm {};
        long gmtoff = 0;
        if (opts_.local_time) {
            localtime_r(&t, &tm);
            gmtoff = tm.tm_gmtoff;
        } else {
            gmtime_r(&t, &tm);
        }
        cached_prefix_len_ = strftime(cached_prefix_, sizeof cached_prefix_, "%Y-%m-%dT%H:%M:%S", &tm);
        const long m = (gmtoff < 0 ? -gmtoff : gmtoff) / 60;
        cached_zone_[0] = gmtoff < 0 ? '-' : '+';
        append_2(cached_zone_ + 1, static_cast<int>(m / 60 % 100));
        append_2(cached_zone_ + 3, static_cast<int>(m % 60));
        cached_sec_ = sec;
    }
    out.append(cached_prefix_, cached_prefix_len_);
    char frac[7] = {'.'};
    uint32_t u = usec;
    for (int i = 6; i >= 1; i--, u /= 10) frac[i] = static_cast<char>('0' + u % 10);
    out.append(frac, 7);
    out.append(cached_zone_, 5);
}

void EveFormatter::format(const AlertRecord& r, std::string& out) {
    const bool icmp = r.ip_proto == 1 || r.ip_proto == 58;
    const bool ports = r.ip_proto == 6 || r.ip_proto == 17 || r.ip_proto == 132;
    const uint8_t family = r.family == 6 ? 6 : 4;

    out.append("{\"timestamp\":\"");
    append_timestamp(r.ts_ns, out);
    out.push_back('"');
    uint_field(out, "flow_id", r.flow_id & kFlowIdMask);
    if (!opts_.in_iface.empty()) {
        key(out, "in_iface");
        out.push_back('"');
        out.append(iface_json_);
        out.push_back('"');
    }
    out.append(",\"event_type\":\"alert\",\"src_ip\":\"");
    append_ip(out, family, r.src_addr);
    out.push_back('"');
    if (ports) uint_field(out, "src_port", r.src_port);
    out.append(",\"dest_ip\":\"");
    append_ip(out, family, r.dst_addr);
    out.push_back('"');
    if (ports) uint_field(out, "dest_port", r.dst_port);
    char num[4];
    key(out, "proto");
    out.push_back('"');
    out.append(proto_name(r.ip_proto, num));
    out.push_back('"');
    uint_field(out, "ip_v", family);
    if (icmp) {
        uint_field(out, "icmp_type", r.src_port & 0xFF);
        uint_field(out, "icmp_code", r.dst_port & 0xFF);
    }
    str_field(out, "pkt_src", r.tunneled ? "vxlan encapsulation" : "wire/pcap");

    if (r.tunneled) {
        // Suricata's AlertJsonTunnel describes the root (outer) packet. The
        // outer UDP source port is not kept by decap (its behaviour on Azure
        // is undocumented), so src_port is left out; vxlan_vni is vtapd's.
        out.append(",\"tunnel\":{\"src_ip\":\"");
        append_ipv4_net(out, r.tap_src);
        out.append("\",\"dest_ip\":\"");
        append_ipv4_net(out, r.tap_dst);
        out.append("\",\"dest_port\":");
        append_uint(out, opts_.vxlan_port);
        out.append(",\"proto\":\"UDP\",\"depth\":1,\"pkt_src\":\"wire/pcap\",\"vxlan_vni\":");
        append_uint(out, r.vni.value & 0xFFFFFF);
        out.push_back('}');
    }

    if (opts_.community_id) {
        char cid[kCommunityIdLen];
        const FlowTuple t{family, r.src_addr.data(), r.dst_addr.data(), r.ip_proto, r.src_port, r.dst_port};
        community_id_v1(t, opts_.community_id_seed, cid);
        key(out, "community_id");
        out.push_back('"');
        out.append(cid, sizeof cid);
        out.push_back('"');
    }

    out.append(",\"alert\":{\"action\":\"");
    out.append(r.action == Action::kBlocked ? "blocked" : "allowed");
    out.push_back('"');
    uint_field(out, "gid", r.gid);
    uint_field(out, "signature_id", r.sid);
    uint_field(out, "rev", r.rev);
    str_field(out, "signature", r.msg.view());
    str_field(out, "category", r.class_desc.view());
    uint_field(out, "severity", r.priority);
    out.push_back('}');

    if (r.direction != Direction::kUnknown)
        str_field(out, "direction", r.direction == Direction::kToServer ? "to_server" : "to_client");

    if (opts_.payload) {
        key(out, "payload");
        out.push_back('"');
        const size_t at = out.size();
        const size_t n = r.payload.kept();
        out.resize(at + (n + 2) / 3 * 4);
        base64_encode(r.payload.bytes, n, out.data() + at);
        out.push_back('"');
    }
    if (opts_.payload_printable) {
        key(out, "payload_printable");
        out.push_back('"');
        append_json_printable(out, r.payload.bytes, r.payload.kept());
        out.push_back('"');
    }
    if (opts_.payload || opts_.payload_printable) uint_field(out, "payload_length", r.payload.total);

    if (!opts_.host.empty()) {
        key(out, "host");
        out.push_back('"');
        out.append(host_json_);
        out.push_back('"');
    }
    out.append("}\n", 2);
}

}  // namespace vtap::alert
