// Wire formats of the outer VTAP stack: offsets, constants and the VXLAN
// header (RFC 7348). Parsers read bytes through load_be16/load_be32 (memcpy,
// so any alignment is fine) instead of casting packed structs: the frame
// pointer is only ever advanced after a bounds check.
#pragma once

#include <cstdint>
#include <cstring>

namespace vtap::wire {

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;  // 802.1Q
inline constexpr uint16_t kEtherTypeQinQ = 0x88A8;  // 802.1ad S-tag

inline constexpr uint32_t kEthHdrLen = 14;
inline constexpr uint32_t kVlanTagLen = 4;
inline constexpr uint32_t kIpv4MinHdrLen = 20;
inline constexpr uint32_t kIpv6HdrLen = 40;
inline constexpr uint32_t kUdpHdrLen = 8;
inline constexpr uint32_t kTcpMinHdrLen = 20;

/* VXLAN header, RFC 7348 section 5:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * I must be 1 for a valid VNI; R bits "MUST be set to zero on transmission
 * and ignored on receipt" — vtapd counts them and, in strict mode, drops.
 * Azure VTAP sends flags 0x08 and a VNI it chooses (27 in the public lab).
 */
inline constexpr uint32_t kVxlanHdrLen = 8;
inline constexpr uint8_t kVxlanFlagI = 0x08;

// Outer stack without VLAN: Eth 14 + IPv4 20 + UDP 8 + VXLAN 8.
inline constexpr uint32_t kVtapOverhead = kEthHdrLen + kIpv4MinHdrLen + kUdpHdrLen + kVxlanHdrLen;

inline uint16_t load_be16(const uint8_t* p) noexcept {
    uint16_t v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_bswap16(v);
}
inline uint32_t load_be32(const uint8_t* p) noexcept {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_bswap32(v);
}
inline uint32_t load_raw32(const uint8_t* p) noexcept {  // network order kept
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace vtap::wire
