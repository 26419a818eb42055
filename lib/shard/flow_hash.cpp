// flow_key, flow_hash and the hash stage over a burst.
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "shard/flow_hash_inline.hpp"
#include "shard/shard.hpp"

namespace vtap::shard {

namespace {

// Fills the endpoint fields; kAddrLen is a constant so every compare and
// memcpy below compiles to a few moves (flow_key is on the workers' path).
template <size_t kAddrLen>
void fill_endpoints(const uint8_t* src, const uint8_t* dst, const uint8_t* l4, bool ported,
                    FlowKey& key) noexcept {
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    if (ported) {  // TCP, UDP and SCTP all open with source port, destination port
        std::memcpy(&src_port, l4, 2);
        std::memcpy(&dst_port, l4 + 2, 2);
    }
    // The order FlowKey documents: address bytes, then the port as a number.
    // Byte order = numeric order of the big-endian words (a memcmp call
    // here was 20 instructions a packet in the worker's flow lookup).
    const auto be64 = [](const uint8_t* p) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        return __builtin_bswap64(v);
    };
    int c;
    if constexpr (kAddrLen == 4) {
        uint32_t s4, d4;
        std::memcpy(&s4, src, 4);
        std::memcpy(&d4, dst, 4);
        s4 = __builtin_bswap32(s4);
        d4 = __builtin_bswap32(d4);
        c = s4 < d4 ? -1 : s4 > d4;
    } else {
        const uint64_t sh = be64(src), dh = be64(dst), sl = be64(src + 8), dl = be64(dst + 8);
        c = sh != dh ? (sh < dh ? -1 : 1) : (sl < dl ? -1 : sl > dl);
    }
    const bool swap = c > 0 || (c == 0 && ntohs(src_port) > ntohs(dst_port));
    std::memcpy(key.lo_addr, swap ? dst : src, kAddrLen);
    std::memcpy(key.hi_addr, swap ? src : dst, kAddrLen);
    key.lo_port = swap ? dst_port : src_port;
    key.hi_port = swap ? src_port : dst_port;
}

}  // namespace

void flow_key(const uint8_t* frame, const PktMeta& m, FlowKey& key) noexcept {
    key = FlowKey{};
    key.vlan[0] = m.vlan[0] & detail::kVlanIdMask;
    key.vlan[1] = m.vlan[1] & detail::kVlanIdMask;
    const uint8_t* ip = frame + m.l3_off;
    const uint8_t* l4 = frame + m.l4_off;
    const bool ported = detail::keyed_on_ports(m);
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv4))
        fill_endpoints<4>(ip + 12, ip + 16, l4, ported, key);  // RFC 791 s3.1
    else if (m.l3 == static_cast<uint8_t>(L3Type::kIpv6))
        fill_endpoints<16>(ip + 8, ip + 24, l4, ported, key);  // RFC 8200 s3
    else
        return;  // no L3: only the VLANs identify it (decap never delivers one)
    key.family = m.l3;
    key.proto = detail::keyed_proto(m);
}

uint32_t flow_hash(const uint8_t* frame, const PktMeta& m) noexcept {
    return detail::flow_hash_inline(frame, m);
}

namespace {

// Far enough ahead to hide an L2 miss behind four hashes, near enough that
// the line is still there when used (l3fwd_lpm_sse.h uses the same depth).
// One line covers the addresses and the ports of an option-less IPv4 or a
// plain IPv6 header in the common layouts; decap has usually left it in L1.
constexpr uint16_t kPrefetchAhead = 4;

PktMeta& meta_at(rte_mbuf* pkt, int offset) noexcept {
    return *RTE_MBUF_DYNFIELD(pkt, offset, PktMeta*);
}

}  // namespace

void hash_burst(rte_mbuf** pkts, uint16_t n) noexcept {
    // Read once: the flow_hash stores below could alias the global.
    const int offset = g_pkt_meta_offset;
    const auto prefetch = [&](rte_mbuf* pkt) {
        rte_prefetch0(rte_pktmbuf_mtod(pkt, const uint8_t*) + meta_at(pkt, offset).l3_off);
    };
    for (uint16_t i = 0; i < n && i < kPrefetchAhead; i++) prefetch(pkts[i]);
    for (uint16_t i = 0; i < n; i++) {
        if (i + kPrefetchAhead < n) prefetch(pkts[i + kPrefetchAhead]);
        PktMeta& m = meta_at(pkts[i], offset);
        m.flow_hash = detail::flow_hash_inline(rte_pktmbuf_mtod(pkts[i], const uint8_t*), m);
    }
}

}  // namespace vtap::shard
