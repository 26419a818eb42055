// Inline core of the symmetric flow hash, shared by flow_hash() and the
// hash_burst() loop so the loop body needs no call. Internal to lib/shard:
// other modules use shard.hpp.
#pragma once

#include <cstdint>
#include <cstring>

#include <netinet/in.h>
#ifdef __SSE4_2__
#include <nmmintrin.h>
#else
#include <rte_hash_crc.h>
#endif

#include "core/pkt_meta.hpp"
#include "shard/shard.hpp"

namespace vtap::shard::detail {

// Different seeds per family; the values themselves are arbitrary.
inline constexpr uint32_t kSeedV4 = 0x9e3779b9u;
inline constexpr uint32_t kSeedV6 = 0x85ebca6bu;

// CRC32C of one 64-bit word. x86-64-v2 (meson option march) guarantees
// SSE4.2, so this is one instruction; rte_hash_crc keeps other targets working.
inline uint32_t crc32c_u64(uint32_t crc, uint64_t word) noexcept {
#ifdef __SSE4_2__
    return static_cast<uint32_t>(_mm_crc32_u64(crc, word));
#else
    return rte_hash_crc_8byte(word, crc);
#endif
}

inline uint32_t crc32c_u32(uint32_t crc, uint32_t word) noexcept {
#ifdef __SSE4_2__
    return _mm_crc32_u32(crc, word);
#else
    return rte_hash_crc_4byte(word, crc);
#endif
}

inline uint32_t load_u32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// TCP, UDP and SCTP: the protocols whose first 4 L4 bytes are the ports.
inline constexpr uint64_t kPortedProtos[4] = {
    uint64_t{1} << IPPROTO_TCP | uint64_t{1} << IPPROTO_UDP, 0,
    uint64_t{1} << (IPPROTO_SCTP - 128), 0};

// Ports are part of the key only when the L4 header is really there and
// identical in every packet of the flow: never for a fragment (later
// fragments carry payload where ports would be), never for ICMP.
inline bool keyed_on_ports(const PktMeta& m) noexcept {
    const bool l4 = (m.flags & (kFlagL4Header | kFlagFragment)) == kFlagL4Header;
    const bool ported = kPortedProtos[m.l4_proto >> 6] >> (m.l4_proto & 63) & 1;
    return l4 & ported;  // not &&: no branch on the protocol mix
}

// The protocol a flow is keyed on. An IPv6 fragment is keyed on
// IPPROTO_FRAGMENT: when extension headers follow the fragment header, only
// the first fragment reveals the upper-layer protocol, and every fragment of
// one datagram must still meet on one worker (RFC 8200 s4.5).
inline uint8_t keyed_proto(const PktMeta& m) noexcept {
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv6) && (m.flags & kFlagFragment))
        return IPPROTO_FRAGMENT;
    return m.l4_proto;
}

inline constexpr uint16_t kVlanIdMask = 0x0fff;

// IPv4 fast path, ~20 instructions, branch-free: no key is built. Each
// endpoint becomes one 64-bit word, port:16 | address:32 as loaded; the two
// words are sorted (any total order on endpoints makes the hash symmetric,
// it need not be the key's order) and hashed with two CRC32C instructions,
// then the VLAN IDs with a third. The protocol perturbs the seed: CRC is
// linear in its initial value, so distinct protocols give distinct hashes.
// The hash is a function of FlowKey's content, so equal keys hash alike.
inline uint32_t hash_ipv4(const uint8_t* frame, const PktMeta& m) noexcept {
    const uint8_t* addrs = frame + m.l3_off + 12;  // RFC 791 s3.1: source, destination
    // Without ports, read a valid word (the addresses) and mask it away
    // rather than branch on the protocol mix.
    const bool ported = keyed_on_ports(m);
    const uint32_t ports = load_u32(ported ? frame + m.l4_off : addrs) & (0u - ported);
    const uint64_t a = uint64_t{load_u32(addrs)} | uint64_t{ports & 0xffff} << 32;
    const uint64_t b = uint64_t{load_u32(addrs + 4)} | uint64_t{ports >> 16} << 32;
    uint32_t vlans;
    std::memcpy(&vlans, m.vlan, sizeof vlans);
    vlans &= uint32_t{kVlanIdMask} * 0x10001u;
    const uint32_t crc = crc32c_u64(crc32c_u64(kSeedV4 ^ m.l4_proto, a < b ? a : b), a < b ? b : a);
    return crc32c_u32(crc, vlans);
}

// IPv6: the same scheme over 16-byte addresses, six CRC32C instructions.
// Endpoints are ordered as (address as a 128-bit number, port), again any
// total order will do; keyed_proto() gives fragments their own protocol.
inline uint32_t hash_ipv6(const uint8_t* frame, const PktMeta& m) noexcept {
    const uint8_t* addrs = frame + m.l3_off + 8;  // RFC 8200 s3: source, destination
    const bool ported = keyed_on_ports(m);
    const uint32_t ports = load_u32(ported ? frame + m.l4_off : addrs) & (0u - ported);
    unsigned __int128 src, dst;
    std::memcpy(&src, addrs, 16);
    std::memcpy(&dst, addrs + 16, 16);
    const uint16_t src_port = static_cast<uint16_t>(ports);
    const uint16_t dst_port = static_cast<uint16_t>(ports >> 16);
    const bool swap = src > dst || (src == dst && src_port > dst_port);
    const unsigned __int128 lo = swap ? dst : src;
    const unsigned __int128 hi = swap ? src : dst;
    const uint32_t lo_hi_ports = swap ? (ports >> 16 | ports << 16) : ports;
    uint32_t vlans;
    std::memcpy(&vlans, m.vlan, sizeof vlans);
    vlans &= uint32_t{kVlanIdMask} * 0x10001u;
    uint32_t crc = kSeedV6 ^ keyed_proto(m);
    crc = crc32c_u64(crc, static_cast<uint64_t>(lo));
    crc = crc32c_u64(crc, static_cast<uint64_t>(lo >> 64));
    crc = crc32c_u64(crc, static_cast<uint64_t>(hi));
    crc = crc32c_u64(crc, static_cast<uint64_t>(hi >> 64));
    return crc32c_u64(crc, uint64_t{lo_hi_ports} | uint64_t{vlans} << 32);
}

// A frame without L3 (decap never delivers one): only its VLANs identify it.
inline uint32_t hash_no_l3(const PktMeta& m) noexcept {
    uint32_t vlans;
    std::memcpy(&vlans, m.vlan, sizeof vlans);
    return crc32c_u32(kSeedV6, vlans & uint32_t{kVlanIdMask} * 0x10001u);
}

inline uint32_t flow_hash_inline(const uint8_t* frame, const PktMeta& m) noexcept {
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv4)) [[likely]]
        return hash_ipv4(frame, m);
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv6))
        return hash_ipv6(frame, m);
    return hash_no_l3(m);
}

}  // namespace vtap::shard::detail
