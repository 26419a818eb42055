// Header checks (hot): protocol, addresses, ports, direction, flow state,
// dsize, ttl, itype, icode, TCP flags, stream_size. Evaluated on every candidate before its
// payload keywords, because they cost a few compares and usually decide.
#pragma once

#include <cstring>

#include "detect/packet_info.hpp"
#include "detect/program.hpp"

namespace vtap::detect {

inline bool proto_matches(rules::Proto p, uint8_t proto) noexcept {
    switch (p) {
        case rules::Proto::kIp: return true;
        case rules::Proto::kTcp: return proto == kProtoTcp;
        case rules::Proto::kUdp: return proto == kProtoUdp;
        case rules::Proto::kIcmp: return proto == kProtoIcmp || proto == kProtoIcmpV6;  // Suricata's "icmp" covers both
    }
    return false;
}

// Prefix compare on big-endian words, masked: no memcmp call (a header
// check runs it for every listed prefix of every candidate).
inline uint64_t prefix_mask64(unsigned bits) noexcept { return bits == 0 ? 0 : ~uint64_t{0} << (64 - bits); }

inline uint64_t load_be64(const uint8_t* p) noexcept {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

inline bool cidr_contains(const rules::Cidr& c, const IpAddr& a) noexcept {
    if (c.family != a.family) return false;
    const uint64_t hi = load_be64(c.addr.data()) ^ load_be64(a.bytes.data());
    if (c.family == 4) return (hi & prefix_mask64(c.len < 32 ? c.len : 32)) == 0;  // the first 4 bytes
    if ((hi & prefix_mask64(c.len < 64 ? c.len : 64)) != 0) return false;
    if (c.len <= 64) return true;
    const uint64_t lo = load_be64(c.addr.data() + 8) ^ load_be64(a.bytes.data() + 8);
    return (lo & prefix_mask64(c.len - 64 < 64 ? c.len - 64 : 64)) == 0;
}

inline bool addr_matches(const rules::AddrSpec& s, const IpAddr& a) noexcept {
    if (s.any && s.exclude.empty()) return true;
    bool in = s.include.empty();
    for (const auto& c : s.include)
        if (cidr_contains(c, a)) {
            in = true;
            break;
        }
    if (!in) return false;
    for (const auto& c : s.exclude)
        if (cidr_contains(c, a)) return false;
    return true;
}

inline bool port_matches(const rules::PortSpec& s, uint16_t port) noexcept {
    if (s.any && s.exclude.empty()) return true;
    bool in = s.include.empty();
    for (const auto& r : s.include)
        if (port >= r.lo && port <= r.hi) {
            in = true;
            break;
        }
    if (!in) return false;
    for (const auto& r : s.exclude)
        if (port >= r.lo && port <= r.hi) return false;
    return true;
}

inline bool num_matches(const rules::NumCheck& c, uint32_t x) noexcept {
    switch (c.op) {
        case rules::CmpOp::kEq: return x == c.a;
        case rules::CmpOp::kLess: return x < c.a;
        case rules::CmpOp::kGreater: return x > c.a;
        case rules::CmpOp::kLessEq: return x <= c.a;
        case rules::CmpOp::kGreaterEq: return x >= c.a;
        case rules::CmpOp::kNotEq: return x != c.a;
        case rules::CmpOp::kRange: return x > c.a && x < c.b;
        case rules::CmpOp::kRangeIncl: return x >= c.a && x <= c.b;
    }
    return false;
}

// Suricata's FlagsMatch (detect-tcp-flags.c): `ignore` bits are masked out
// of the packet's flags first; no modifier means exactly these flags.
inline bool tcp_flags_match(const rules::TcpFlags& f, uint8_t pflags) noexcept {
    if (f.bits == 0 && pflags != 0) return f.modifier == '!';
    const uint8_t flags = pflags & static_cast<uint8_t>(~f.ignore);
    switch (f.modifier) {
        case '*': return (flags & f.bits) != 0;
        case '+': return (flags & f.bits) == f.bits;
        case '!': return (flags & f.bits) != f.bits;
        default: return flags == f.bits;
    }
}

// Suricata's stream_size (detect-stream_size.c): TCP with a session only.
inline bool stream_size_matches(const rules::StreamSize& s, const PacketInfo& p) noexcept {
    if (p.proto != kProtoTcp || !p.tcp_session) return false;
    const bool client = num_matches(s.check, p.stream_size[0]);
    const bool server = num_matches(s.check, p.stream_size[1]);
    switch (s.side) {
        case rules::StreamSize::Side::kServer: return server;
        case rules::StreamSize::Side::kClient: return client;
        case rules::StreamSize::Side::kBoth: return client && server;
        case rules::StreamSize::Side::kEither: return client || server;
    }
    return false;
}

// Checks independent of whether the payload came from a packet or a stream.
// `packet_level`: the dsize check applies (false on stream data). A pure
// conjunction, so the order is free: the checks that cost a compare or two
// (flow state and direction, ttl, ICMP, flags, dsize, ports) run before the
// address lists, which for ET's reputation rules hold hundreds of prefixes.
inline bool header_matches(const CompiledRule& r, const PacketInfo& p, bool packet_level) noexcept {
    if (!proto_matches(r.proto, p.proto)) return false;
    const auto& fl = r.flow;
    if (fl.to_server || fl.to_client || fl.established || fl.not_established) {
        if (!p.has_flow) return false;
        if (fl.to_server && !p.to_server) return false;
        if (fl.to_client && !p.to_client) return false;
        if (fl.established && !p.established) return false;
        if (fl.not_established && p.established) return false;
    }
    if (r.ttl && !num_matches(*r.ttl, p.ttl)) return false;
    if (r.itype || r.icode) {
        if (p.proto != kProtoIcmp && p.proto != kProtoIcmpV6) return false;
        if (r.itype && !num_matches(*r.itype, p.icmp_type)) return false;
        if (r.icode && !num_matches(*r.icode, p.icmp_code)) return false;
    }
    if (r.flags) {
        if (p.proto != kProtoTcp || !tcp_flags_match(*r.flags, p.tcp_flags)) return false;
    }
    if (packet_level && r.dsize && !num_matches(*r.dsize, p.dsize)) return false;
    for (const auto& ss : r.stream_size)
        if (!stream_size_matches(ss, p)) return false;
    const bool fwd = port_matches(r.src_ports, p.src_port) && port_matches(r.dst_ports, p.dst_port) &&
                     addr_matches(r.src, p.src) && addr_matches(r.dst, p.dst);
    if (fwd) return true;
    return r.bidirectional && port_matches(r.src_ports, p.dst_port) && port_matches(r.dst_ports, p.src_port) &&
           addr_matches(r.src, p.dst) && addr_matches(r.dst, p.src);
}

}  // namespace vtap::detect
