// Outer validation and VXLAN decapsulation, one burst at a time (hot path).
// For each frame: validate outer Eth(+1 VLAN)/IPv4/UDP/VXLAN, apply the
// tap-source and VNI allow-lists, strip the outer headers in place
// (rte_pktmbuf_adj, zero-copy), parse the inner headers and fill PktMeta.
// Survivors are packed at the front; every other frame is counted by reason
// and freed (or handed to the exception hook when one is attached).
#pragma once

#include <array>
#include <cstdint>

#include "core/burst.hpp"
#include "core/counters.hpp"
#include "core/pkt_meta.hpp"
#include "wire/parse.hpp"

struct rte_mbuf;

namespace vtap::decap {

// An IPv4 prefix in host byte order.
struct Ipv4Prefix {
    uint32_t addr = 0;
    uint8_t len = 0;  // 0..32

    // A 64-bit shift makes /0 (shift by 32) well defined without a branch.
    constexpr uint32_t mask() const noexcept { return static_cast<uint32_t>(~uint64_t{0} << (32 - len)); }
    constexpr bool contains(uint32_t host_addr) const noexcept {
        return (host_addr & mask()) == (addr & mask());
    }
};

enum class ReservedBits : uint8_t {
    kPermissive,  // count frames with non-zero reserved bits, deliver them
    kStrict,      // drop them as decap.vxlan_reserved
};

// vxlan: frames are VTAP copies (outer Eth/IPv4/UDP/VXLAN) to validate and
// strip. ethernet: frames are the traffic itself (a SPAN port, an original
// capture): no outer header, tap_src/tap_dst/vni are zero and
// kFlagUntunneled is set; the inner parse is the same. ip: as ethernet, but
// each frame is a bare IPv4 or IPv6 packet (raw-IP captures: link types
// RAW, IPV4, IPV6; tun devices): decap writes an Ethernet header (zero MACs,
// EtherType from the IP version) into the mbuf headroom, so every later
// stage, the decapsulated capture included, sees Ethernet as in the other
// modes.
enum class DecapMode : uint8_t { kVxlan, kEthernet, kIp };

// Immutable data-path view of the decap settings; built by the control path
// (config) once, read by every RX lcore.
struct DecapConfig {
    static constexpr size_t kMaxSources = 64;
    static constexpr size_t kMaxVnis = 64;

    DecapMode mode = DecapMode::kVxlan;
    uint16_t udp_port = 4789;                     // host byte order
    ReservedBits reserved_bits = ReservedBits::kPermissive;
    uint16_t max_inner_frame = 9216;              // bytes of inner Ethernet frame accepted
    uint8_t n_sources = 0;                        // 0 = deny every source
    std::array<Ipv4Prefix, kMaxSources> sources{};
    uint8_t n_vnis = 0;                           // 0 = any VNI
    std::array<uint32_t, kMaxVnis> vnis{};

    bool source_allowed(uint32_t host_addr) const noexcept {
        for (uint8_t i = 0; i < n_sources; i++)
            if (sources[i].contains(host_addr)) return true;
        return false;
    }
    bool vni_allowed(uint32_t vni) const noexcept {
        if (n_vnis == 0) return true;
        for (uint8_t i = 0; i < n_vnis; i++)
            if (vnis[i] == vni) return true;
        return false;
    }
};

// Where non-VTAP frames (not IPv4, not UDP, wrong port: ARP, the load
// balancer's health probe, SSH) go when an exception path is attached.
// nullptr = free them. They are counted under their drop reason either way,
// and in RxCounters::diverted when handed over.
struct ExceptionHook {
    Burst* sink = nullptr;
};

// The inner parse's result into a packet's metadata: offsets, VLANs, L3/L4,
// and its flags added to those already set. The flow hash is left to the
// shard stage. Shared with tools that replay decap (bench/detect_ceiling).
inline void set_inner_meta(PktMeta& meta, const wire::InnerInfo& in) noexcept {
    meta.flags |= in.flags;
    meta.l3_off = in.l3_off;
    meta.l4_off = in.l4_off;
    meta.payload_off = in.payload_off;
    meta.vlan[0] = in.vlan[0];
    meta.vlan[1] = in.vlan[1];
    meta.l3 = in.l3;
    meta.l4_proto = in.l4_proto;
}

// A reassembled datagram's metadata: `meta` is its first fragment's (the
// tunnel fields and what decap knew of the copy, kFlagVxlanReserved and
// kFlagUntunneled, stay), the rest re-parsed from the whole datagram at
// frame[0..len). False when the datagram does not parse. The flow hash is
// left to the caller (shard). Shared by DetectStage and bench/detect_ceiling.
inline bool reparse_datagram(const uint8_t* frame, uint32_t len, PktMeta& meta) noexcept {
    wire::InnerInfo in;
    DropReason why;
    if (wire::parse_inner(frame, len, len, in, why) != wire::Verdict::kPass) return false;
    meta.flags &= kFlagVxlanReserved | kFlagUntunneled;
    set_inner_meta(meta, in);
    return true;
}

// Validates and decapsulates pkts[0..n) in place. Returns the number of
// survivors, packed at pkts[0..ret). Requires register_pkt_meta() to have run.
uint16_t decap_burst(rte_mbuf** pkts, uint16_t n, const DecapConfig& cfg,
                     RxCounters& ctr, ExceptionHook exc = {}) noexcept;

}  // namespace vtap::decap
