// Per-packet metadata that decap leaves in the mbuf (a DPDK dynamic field) for
// shard, the workers and, later, alerts: where the tap copy came from (outer
// addresses, VNI) and where the inner headers are. Offsets are relative to
// the inner Ethernet header, which is the mbuf's data start after decap.
#pragma once

#include <cstdint>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "pkt_flags.hpp"
#include "result.hpp"

namespace vtap {

struct PktMeta {
    uint32_t tap_src;      // outer IPv4 source (the tapped VM's NIC), network byte order
    uint32_t tap_dst;      // outer IPv4 destination (this collector), network byte order
    uint32_t vni : 24;     // VXLAN network identifier, an opaque tag
    uint32_t flags : 8;    // PktFlag bits
    uint32_t flow_hash;    // symmetric inner-flow hash, set by shard
    uint16_t l3_off;       // inner IP header
    uint16_t l4_off;       // inner L4 header (after IPv6 extension headers); 0 if none
    uint16_t payload_off;  // first payload byte; == data_len when no payload
    uint16_t vlan[2];      // inner 802.1Q VLAN IDs (TCI & 0x0fff), outermost first; 0 = none
    uint8_t l3;            // L3Type
    uint8_t l4_proto;      // IPPROTO_* of the L4 header (after extension headers)
};
static_assert(sizeof(PktMeta) == 28, "PktMeta must fit the mbuf dynfield area");

// Offset of the PktMeta dynfield inside rte_mbuf; < 0 until registered.
extern int g_pkt_meta_offset;

// Registers the dynfield (idempotent). Needs a running EAL.
Result<int> register_pkt_meta();

inline PktMeta& pkt_meta(rte_mbuf* m) noexcept {
    return *RTE_MBUF_DYNFIELD(m, g_pkt_meta_offset, PktMeta*);
}
inline const PktMeta& pkt_meta(const rte_mbuf* m) noexcept {
    return *RTE_MBUF_DYNFIELD(m, g_pkt_meta_offset, const PktMeta*);
}

}  // namespace vtap
