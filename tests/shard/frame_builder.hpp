// Builds decapsulated inner frames (Ethernet [+ 802.1Q tags] / IPv4 or IPv6
// [+ fragment header] / TCP, UDP, SCTP or ICMP) as byte buffers, and fills
// PktMeta the way decap does, so shard tests and benchmarks need no decap.
// Test support only: header-only, allocation-free, no DPDK calls.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include <netinet/in.h>

#include "core/pkt_meta.hpp"

namespace vtap::test {

inline constexpr size_t kMaxTestFrame = 256;

struct Endpoint {
    std::array<uint8_t, 16> addr{};  // IPv4 uses the first 4 bytes
    uint16_t port = 0;               // host byte order; ICMP: unused
};

enum class Frag : uint8_t { kNone, kFirst, kMiddle, kLast };

struct Tuple {
    L3Type family = L3Type::kIpv4;
    Endpoint src, dst;
    uint8_t proto = IPPROTO_TCP;
    uint16_t vlan[2] = {0, 0};  // 0 = no tag; vlan[0] is the outermost
    Frag frag = Frag::kNone;
    bool ip_options = false;    // IPv4: one 4-byte option (IHL 6)
    uint32_t fragment_id = 0;   // IPv4 identification / IPv6 fragment header id
    uint32_t seq = 0;           // written as the first 4 payload bytes (order checks)
};

inline Tuple reversed(Tuple t) {
    std::swap(t.src, t.dst);
    return t;
}

inline Endpoint ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port = 0) {
    Endpoint e;
    e.addr = {a, b, c, d};
    e.port = port;
    return e;
}

namespace detail {
inline uint8_t* put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
    return p + 2;
}
inline uint8_t* put32(uint8_t* p, uint32_t v) {
    return put16(put16(p, static_cast<uint16_t>(v >> 16)), static_cast<uint16_t>(v));
}
}  // namespace detail

// Writes the frame into buf (>= kMaxTestFrame bytes); returns its length.
// Non-first fragments carry payload bytes where ports would be (the tuple's
// ports, swapped, so a hash that wrongly read them would notice).
inline size_t build_frame(const Tuple& t, uint8_t* buf, PktMeta& m) {
    using detail::put16;
    using detail::put32;
    constexpr size_t kPayload = 16;
    std::memset(buf, 0, kMaxTestFrame);
    m = PktMeta{};
    m.tap_src = 0x0a000001;
    m.tap_dst = 0x0a0000fe;
    m.vni = 4242;

    // Ethernet, RFC 894 / IEEE 802.1Q.
    uint8_t* p = buf;
    const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
    std::memcpy(p, macs, 12);
    p += 12;
    for (int i = 0; i < 2; i++) {
        if (t.vlan[i] == 0) continue;
        p = put16(put16(p, 0x8100), t.vlan[i]);
        m.vlan[i] = t.vlan[i] & 0x0fff;
    }
    const bool v4 = t.family == L3Type::kIpv4;
    p = put16(p, v4 ? 0x0800 : 0x86dd);
    m.l3_off = static_cast<uint16_t>(p - buf);
    m.l3 = static_cast<uint8_t>(t.family);
    m.l4_proto = t.proto;

    const bool fragment = t.frag != Frag::kNone;
    const bool first = t.frag == Frag::kNone || t.frag == Frag::kFirst;
    const uint16_t frag_units = t.frag == Frag::kMiddle ? 185 : t.frag == Frag::kLast ? 370 : 0;
    const bool more = t.frag == Frag::kFirst || t.frag == Frag::kMiddle;
    size_t l4_len = 0;
    switch (t.proto) {
        case IPPROTO_TCP: l4_len = 20; break;
        case IPPROTO_UDP: case IPPROTO_ICMP: case IPPROTO_ICMPV6: l4_len = 8; break;
        case IPPROTO_SCTP: l4_len = 12; break;
        default: l4_len = 0;
    }
    const size_t after_ip = (first ? l4_len : 0) + kPayload;

    if (v4) {  // RFC 791 s3.1
        const uint8_t ihl = t.ip_options ? 6 : 5;
        p[0] = static_cast<uint8_t>(0x40 | ihl);
        put16(p + 2, static_cast<uint16_t>(ihl * 4 + after_ip));
        put16(p + 4, static_cast<uint16_t>(t.fragment_id));
        put16(p + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | frag_units));
        p[8] = 64;
        p[9] = t.proto;
        std::memcpy(p + 12, t.src.addr.data(), 4);
        std::memcpy(p + 16, t.dst.addr.data(), 4);
        if (t.ip_options) p[20] = 1;  // NOP options
        p += ihl * 4;
        if (t.ip_options) m.flags |= kFlagInnerIpOptions;
    } else {  // RFC 8200 s3, s4.5
        p[0] = 0x60;
        put16(p + 4, static_cast<uint16_t>(after_ip + (fragment ? 8 : 0)));
        p[6] = fragment ? uint8_t{IPPROTO_FRAGMENT} : t.proto;
        p[7] = 64;
        std::memcpy(p + 8, t.src.addr.data(), 16);
        std::memcpy(p + 24, t.dst.addr.data(), 16);
        p += 40;
        if (fragment) {
            p[0] = t.proto;
            put16(p + 2, static_cast<uint16_t>(frag_units << 3 | (more ? 1 : 0)));
            put32(p + 4, t.fragment_id);
            p += 8;
            m.flags |= kFlagInnerIpOptions;
        }
    }
    if (fragment) m.flags |= kFlagFragment;
    if (t.frag == Frag::kFirst) m.flags |= kFlagFirstFragment;

    if (first && l4_len) {
        m.l4_off = static_cast<uint16_t>(p - buf);
        m.flags |= kFlagL4Header;
        if (t.proto == IPPROTO_ICMP || t.proto == IPPROTO_ICMPV6) {
            p[0] = t.proto == IPPROTO_ICMP ? 8 : 128;  // echo request
            put16(p + 4, t.src.port);                  // identifier
        } else {
            put16(put16(p, t.src.port), t.dst.port);
            if (t.proto == IPPROTO_TCP) {
                put32(p + 4, t.seq);
                p[12] = 0x50;  // data offset 5
                p[13] = 0x18;  // PSH ACK
            } else if (t.proto == IPPROTO_UDP) {
                put16(p + 4, static_cast<uint16_t>(8 + kPayload));
            }
        }
        p += l4_len;
    } else if (!first) {
        // As lib/wire does: l4_off at the fragment's data, no kFlagL4Header.
        m.l4_off = static_cast<uint16_t>(p - buf);
        put16(put16(p, t.dst.port), t.src.port);  // payload that looks like ports
    }
    if (first) put32(p, t.seq);
    p += kPayload;
    m.payload_off = static_cast<uint16_t>(p - buf);
    return static_cast<size_t>(p - buf);
}

}  // namespace vtap::test
