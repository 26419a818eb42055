// Decapsulated inner frames (Ethernet / IPv4 or IPv6 / TCP, UDP or ICMP /
// payload) built as byte buffers, with PktMeta filled the way decap and
// shard leave it, and a driver that runs them through a FlowTable and
// records what the sink receives. Test and benchmark support; no EAL.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <netinet/in.h>

#include "core/pkt_meta.hpp"
#include "flow/flow_table.hpp"
#include "shard/shard.hpp"

namespace vtap::test {

struct Ep {
    uint8_t addr[4];
    uint16_t port;  // host order; ICMP: identifier
};

struct Pkt {
    std::vector<uint8_t> frame;
    PktMeta meta{};
};

inline void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}

// proto: 6 TCP (20-byte header), 17 UDP, 1 ICMP (type = tcp_flags).
// ipv6: the IPv4 addresses become 2001:db8::a.b.c.d.
inline Pkt make_pkt(uint8_t proto, const Ep& src, const Ep& dst, uint32_t seq, uint32_t ack,
                    uint8_t tcp_flags, std::string_view payload, bool ipv6 = false) {
    Pkt p;
    const size_t l3 = 14;
    const size_t ip_len = ipv6 ? 40 : 20;
    const size_t l4 = l3 + ip_len;
    const size_t l4_len = proto == IPPROTO_TCP ? 20 : 8;
    const size_t pay = l4 + l4_len;
    auto& b = p.frame;
    b.assign(pay + payload.size(), 0);
    const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x20, 0x02, 0, 0, 0, 0, 0x10};
    std::memcpy(b.data(), macs, 12);
    put16(b, 12, ipv6 ? 0x86dd : 0x0800);
    if (!ipv6) {  // RFC 791 s3.1
        b[l3] = 0x45;
        put16(b, l3 + 2, static_cast<uint16_t>(ip_len + l4_len + payload.size()));
        b[l3 + 8] = 64;
        b[l3 + 9] = proto;
        std::memcpy(&b[l3 + 12], src.addr, 4);
        std::memcpy(&b[l3 + 16], dst.addr, 4);
    } else {  // RFC 8200 s3
        b[l3] = 0x60;
        put16(b, l3 + 4, static_cast<uint16_t>(l4_len + payload.size()));
        b[l3 + 6] = proto == IPPROTO_ICMP ? uint8_t{IPPROTO_ICMPV6} : proto;
        b[l3 + 7] = 64;
        const uint8_t pre[12] = {0x20, 0x01, 0x0d, 0xb8};
        std::memcpy(&b[l3 + 8], pre, 12);
        std::memcpy(&b[l3 + 20], src.addr, 4);
        std::memcpy(&b[l3 + 24], pre, 12);
        std::memcpy(&b[l3 + 36], dst.addr, 4);
    }
    if (proto == IPPROTO_TCP) {  // RFC 9293 s3.1
        put16(b, l4, src.port);
        put16(b, l4 + 2, dst.port);
        put32(b, l4 + 4, seq);
        put32(b, l4 + 8, ack);
        b[l4 + 12] = 0x50;
        b[l4 + 13] = tcp_flags;
        put16(b, l4 + 14, 65535);
    } else if (proto == IPPROTO_UDP) {
        put16(b, l4, src.port);
        put16(b, l4 + 2, dst.port);
        put16(b, l4 + 4, static_cast<uint16_t>(8 + payload.size()));
    } else {
        b[l4] = tcp_flags;  // ICMP type
        put16(b, l4 + 4, src.port);
    }
    if (!payload.empty()) std::memcpy(b.data() + pay, payload.data(), payload.size());  // memcpy(nullptr, 0) is UB
    PktMeta& m = p.meta;
    m.l3 = static_cast<uint8_t>(ipv6 ? L3Type::kIpv6 : L3Type::kIpv4);
    m.l4_proto = ipv6 && proto == IPPROTO_ICMP ? uint8_t{IPPROTO_ICMPV6} : proto;
    m.l3_off = l3;
    m.l4_off = static_cast<uint16_t>(l4);
    m.payload_off = static_cast<uint16_t>(pay);
    m.flags = kFlagL4Header;
    m.vni = 27;
    m.flow_hash = shard::flow_hash(b.data(), m);
    return p;
}

inline Pkt tcp(const Ep& s, const Ep& d, uint32_t seq, uint32_t ack, uint8_t flags,
               std::string_view payload = {}, bool ipv6 = false) {
    return make_pkt(IPPROTO_TCP, s, d, seq, ack, flags, payload, ipv6);
}
inline Pkt udp(const Ep& s, const Ep& d, std::string_view payload = "q") {
    return make_pkt(IPPROTO_UDP, s, d, 0, 0, 0, payload);
}
inline Pkt icmp(const Ep& s, const Ep& d, uint8_t type) {
    return make_pkt(IPPROTO_ICMP, s, d, 0, 0, type, "ping");
}

// What a sink received, per direction: the byte stream with gaps marked.
struct Collected {
    std::string bytes[2];
    std::vector<std::pair<size_t, uint32_t>> gaps[2];  // (stream offset of the gap, gap_len)
    int data_chunks[2] = {0, 0};

    static void on_chunk(void* ctx, flow::Flow&, flow::Direction d, const flow::StreamChunk& c) noexcept {
        auto* self = static_cast<Collected*>(ctx);
        const unsigned i = flow::index(d);
        if (c.event == flow::StreamEvent::kGap) {
            self->gaps[i].emplace_back(self->bytes[i].size(), c.gap_len);
            return;
        }
        self->bytes[i].append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
        self->data_chunks[i]++;
    }
    flow::Sink sink() { return {&on_chunk, this}; }
    const std::string& to_server() const { return bytes[0]; }
    const std::string& to_client() const { return bytes[1]; }
};

// Runs packets through lookup_or_create and, for TCP, tcp_segment.
struct Driver {
    flow::FlowTable& table;
    Collected out;
    uint64_t now_ns = 1'000'000'000;

    flow::Lookup feed(const Pkt& p) {
        const flow::Lookup l = table.lookup_or_create(p.frame.data(), p.meta, now_ns);
        flow::TcpSegment seg;
        if (l.flow && flow::parse_tcp(p.frame.data(), static_cast<uint32_t>(p.frame.size()), p.meta, seg))
            table.tcp_segment(*l.flow, l.dir, seg, now_ns, out.sink());
        return l;
    }
};

}  // namespace vtap::test
