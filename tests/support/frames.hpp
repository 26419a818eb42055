// Test frames spelled out header by header. Checksums are left zero: decap
// does not validate them (Azure sends outer UDP checksum 0; inner checksums
// are the endpoint's business). Lengths are filled in by finish().
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace vtap::test {

struct Bytes {
    std::vector<uint8_t> b;
    Bytes& u8(uint8_t v) { b.push_back(v); return *this; }
    Bytes& be16(uint16_t v) { b.push_back(v >> 8); b.push_back(v & 0xFF); return *this; }
    Bytes& be32(uint32_t v) { be16(v >> 16); return be16(v & 0xFFFF); }
    Bytes& raw(std::initializer_list<uint8_t> v) { b.insert(b.end(), v); return *this; }
    Bytes& raw(const std::vector<uint8_t>& v) { b.insert(b.end(), v.begin(), v.end()); return *this; }
    Bytes& zeros(size_t n) { b.insert(b.end(), n, 0); return *this; }
    size_t size() const { return b.size(); }
    void put16(size_t at, uint16_t v) { b[at] = v >> 8; b[at + 1] = v & 0xFF; }
};

inline uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d;
}

// What an inner frame should contain.
struct Inner {
    std::vector<uint16_t> vlans;         // 0..2 inner VLAN IDs
    bool ipv6 = false;
    std::vector<uint8_t> v6_ext;         // IPv6 extension header next-header codes to insert (0, 60, 43, 44)
    uint16_t v6_frag_offset = 0;         // for a 44 header: fragment offset in 8-byte units
    uint8_t ipv4_options_words = 0;      // extra 32-bit words of IPv4 options
    uint16_t ipv4_frag = 0;              // IPv4 flags+offset field (0x2000 = MF)
    uint8_t proto = 6;                   // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, other
    uint32_t src = ip4(198, 18, 0, 10), dst = ip4(198, 18, 0, 20);
    uint16_t sport = 40000, dport = 80;
    uint8_t tcp_doff_words = 5;
    size_t payload = 16;                 // payload bytes (0x61 'a' ...)
    size_t pad = 0;                      // Ethernet padding after the IP packet
};

inline std::vector<uint8_t> inner_frame(const Inner& in) {
    Bytes f;
    f.raw({0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01});  // dst MAC, src MAC
    for (uint16_t vid : in.vlans) f.be16(0x8100).be16(vid);
    f.be16(in.ipv6 ? 0x86DD : 0x0800);
    const size_t l3 = f.size();
    // L4 header + payload first, so the IP lengths can be computed.
    Bytes l4;
    switch (in.proto) {
    case 6:
        l4.be16(in.sport).be16(in.dport).be32(1000).be32(0).u8(in.tcp_doff_words << 4).u8(0x18).be16(65535).be16(0).be16(0);
        for (int i = 5; i < in.tcp_doff_words; i++) l4.raw({1, 1, 1, 1});  // NOP options
        break;
    case 17: l4.be16(in.sport).be16(in.dport).be16(8 + in.payload).be16(0); break;
    case 1: l4.raw({8, 0, 0, 0}).be16(1).be16(1); break;
    case 58: l4.raw({128, 0, 0, 0}).be16(1).be16(1); break;
    default: break;
    }
    for (size_t i = 0; i < in.payload; i++) l4.u8(static_cast<uint8_t>('a' + i % 26));
    if (!in.ipv6) {
        const size_t ihl = 20 + 4u * in.ipv4_options_words;
        f.u8(0x40 | (ihl / 4)).u8(0).be16(ihl + l4.size()).be16(0x1234).be16(in.ipv4_frag)
            .u8(64).u8(in.proto).be16(0).be32(in.src).be32(in.dst);
        for (int i = 0; i < in.ipv4_options_words; i++) f.raw({1, 1, 1, 1});
    } else {
        Bytes ext;
        for (size_t i = 0; i < in.v6_ext.size(); i++) {
            uint8_t next = i + 1 < in.v6_ext.size() ? in.v6_ext[i + 1] : in.proto;
            if (in.v6_ext[i] == 44) ext.u8(next).u8(0).be16(in.v6_frag_offset << 3 | 1).be32(7);
            else ext.u8(next).u8(0).raw({1, 4, 0, 0, 0, 0});  // 8 bytes, PadN
        }
        uint8_t first = in.v6_ext.empty() ? in.proto : in.v6_ext[0];
        f.be32(0x60000000).be16(ext.size() + l4.size()).u8(first).u8(64);
        f.be32(0x20010db8).be32(0).be32(0).be32(in.src);
        f.be32(0x20010db8).be32(0).be32(0).be32(in.dst);
        f.raw(ext.b);
    }
    (void)l3;
    f.raw(l4.b);
    f.zeros(in.pad);
    return f.b;
}

// The outer VTAP stack around an inner frame, as Azure sends it.
struct Outer {
    bool vlan = false;                   // one outer 802.1Q tag
    uint16_t ether_type = 0x0800;
    uint8_t ip_vihl = 0x45;
    uint8_t ipv4_options_words = 0;
    uint16_t ip_frag = 0;                // flags+offset; Azure: 0 (DF clear)
    uint8_t proto = 17;
    uint32_t src = ip4(198, 18, 1, 4), dst = ip4(198, 18, 0, 1);
    uint16_t sport = 49152, dport = 4789;
    int udp_len_delta = 0;               // corrupt the UDP length
    int ip_len_delta = 0;                // corrupt the IP total length
    uint8_t vxlan_flags = 0x08;
    uint8_t vxlan_reserved = 0;          // written into the first reserved byte
    uint32_t vni = 27;
};

inline std::vector<uint8_t> vtap_frame(const std::vector<uint8_t>& inner, const Outer& o = {}) {
    Bytes f;
    f.raw({0x00, 0x0d, 0x3a, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc});
    if (o.vlan) f.be16(0x8100).be16(100);
    f.be16(o.ether_type);
    const size_t ihl = 20 + 4u * o.ipv4_options_words;
    const size_t udp_len = 8 + 8 + inner.size();
    f.u8(o.ip_vihl == 0x45 ? 0x40 | (ihl / 4) : o.ip_vihl).u8(0)
        .be16(static_cast<uint16_t>(ihl + udp_len + o.ip_len_delta)).be16(0).be16(o.ip_frag)
        .u8(64).u8(o.proto).be16(0).be32(o.src).be32(o.dst);
    for (int i = 0; i < o.ipv4_options_words; i++) f.raw({1, 1, 1, 1});
    f.be16(o.sport).be16(o.dport).be16(static_cast<uint16_t>(udp_len + o.udp_len_delta)).be16(0);
    f.u8(o.vxlan_flags).u8(o.vxlan_reserved).u8(0).u8(0)
        .u8(o.vni >> 16).u8((o.vni >> 8) & 0xFF).u8(o.vni & 0xFF).u8(0);
    f.raw(inner);
    return f.b;
}

}  // namespace vtap::test
