// Bounds-checked parsers over a byte range: the outer VTAP stack
// (Eth [+802.1Q] / IPv4 / UDP / VXLAN) and the inner frame (Eth [+2 VLANs] /
// IPv4 | IPv6 [+ext headers] / TCP | UDP | ICMP | ICMPv6 | SCTP). They never
// read at or past `avail`; a header that would need more bytes fails with a
// DropReason. Pure functions over bytes, so tests can place a frame at the
// very end of an allocation and let ASan prove the bound. Inline: decap's
// burst loops are their only hot caller.
#pragma once

#include <cstdint>

#include "core/drop_reason.hpp"
#include "core/pkt_flags.hpp"
#include "wire/vxlan.hpp"

namespace vtap::wire {

enum class Verdict : uint8_t { kPass, kDrop };

struct OuterInfo {
    uint32_t inner_off;   // start of the inner Ethernet frame
    uint32_t inner_len;   // inner frame length from the UDP length
    uint32_t src;         // outer IPv4 source, network order
    uint32_t dst;         // outer IPv4 destination, network order
    uint32_t vni;
    bool reserved_set;    // VXLAN reserved bits non-zero
};

// `avail` = bytes readable at p (the first segment); `total` = bytes of the
// whole frame (pkt_len). A header that fits `total` but not `avail` is
// segmented (kSegmentedHeaders), not truncated.
inline DropReason need(uint32_t end, uint32_t avail, uint32_t total, DropReason cut) noexcept {
    return end <= total && end > avail ? DropReason::kSegmentedHeaders : cut;
}

// Validates the outer stack up to the VXLAN header. Port and VXLAN checks
// only: allow-lists are the caller's policy.
// The shape Azure sends (no VLAN, IPv4 without options, not fragmented,
// UDP to the port, I flag set), checked with a few masked compares on
// little-endian words. Any mismatch falls back to the general walk, which
// then names the reason; so this only ever says "pass".
inline bool parse_outer_fast(const uint8_t* p, uint32_t avail, uint32_t total, uint16_t udp_port,
                             OuterInfo& out) noexcept {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "fast path reads little-endian words");
    if (avail < kVtapOverhead) return false;
    // p[12..14] = 08 00 45: IPv4 EtherType, version 4, IHL 5.
    if ((load_raw32(p + 12) & 0x00FFFFFFu) != 0x00450008u) return false;
    // p[20..21]: MF | fragment offset must be 0; p[23]: protocol UDP.
    uint16_t frag;
    std::memcpy(&frag, p + 20, 2);
    if ((frag & 0xFF3Fu) != 0 || p[23] != 17) return false;
    uint16_t dport;
    std::memcpy(&dport, p + 36, 2);
    if (dport != __builtin_bswap16(udp_port) || !(p[42] & kVxlanFlagI)) return false;
    const uint32_t ip_len = load_be16(p + 16);
    const uint32_t udp_len = load_be16(p + 38);
    if (ip_len < kIpv4MinHdrLen || kEthHdrLen + ip_len > total || udp_len < kUdpHdrLen + kVxlanHdrLen ||
        udp_len > ip_len - kIpv4MinHdrLen)
        return false;
    const uint8_t* vx = p + 42;
    out.reserved_set = (vx[0] & ~kVxlanFlagI) | vx[1] | vx[2] | vx[3] | vx[7];
    out.vni = (uint32_t{vx[4]} << 16) | (uint32_t{vx[5]} << 8) | vx[6];
    out.src = load_raw32(p + 26);
    out.dst = load_raw32(p + 30);
    out.inner_off = kVtapOverhead;
    out.inner_len = udp_len - kUdpHdrLen - kVxlanHdrLen;
    return true;
}

inline Verdict parse_outer(const uint8_t* p, uint32_t avail, uint32_t total, uint16_t udp_port,
                           OuterInfo& out, DropReason& why) noexcept {
    if (parse_outer_fast(p, avail, total, udp_port, out)) [[likely]]
        return Verdict::kPass;
    constexpr auto kCut = DropReason::kOuterTruncated;
    uint32_t off = kEthHdrLen;
    if (avail < kEthHdrLen) { why = need(kEthHdrLen, avail, total, kCut); return Verdict::kDrop; }
    uint16_t type = load_be16(p + 12);
    if (type == kEtherTypeVlan) {  // one 802.1Q tag allowed on the outer frame
        if (avail < off + kVlanTagLen) { why = need(off + kVlanTagLen, avail, total, kCut); return Verdict::kDrop; }
        type = load_be16(p + off + 2);
        off += kVlanTagLen;
    }
    if (type != kEtherTypeIpv4) { why = DropReason::kNotIpv4; return Verdict::kDrop; }

    if (avail < off + kIpv4MinHdrLen) { why = need(off + kIpv4MinHdrLen, avail, total, kCut); return Verdict::kDrop; }
    const uint8_t* ip = p + off;
    const uint32_t ihl = (ip[0] & 0x0F) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < kIpv4MinHdrLen) { why = DropReason::kOuterBadIpHeader; return Verdict::kDrop; }
    const uint32_t ip_len = load_be16(ip + 2);
    if (ip_len < ihl) { why = DropReason::kOuterBadIpHeader; return Verdict::kDrop; }
    if (load_be16(ip + 6) & 0x3FFF) { why = DropReason::kOuterFragment; return Verdict::kDrop; }  // MF | offset
    if (ip[9] != 17) { why = DropReason::kNotUdp; return Verdict::kDrop; }
    if (off + ip_len > total) { why = kCut; return Verdict::kDrop; }
    if (avail < off + ihl) { why = need(off + ihl, avail, total, kCut); return Verdict::kDrop; }

    const uint32_t udp_off = off + ihl;
    if (ip_len < ihl + kUdpHdrLen) { why = kCut; return Verdict::kDrop; }
    if (avail < udp_off + kUdpHdrLen) { why = need(udp_off + kUdpHdrLen, avail, total, kCut); return Verdict::kDrop; }
    const uint8_t* udp = p + udp_off;
    if (load_be16(udp + 2) != udp_port) { why = DropReason::kWrongPort; return Verdict::kDrop; }
    const uint32_t udp_len = load_be16(udp + 4);
    if (udp_len < kUdpHdrLen + kVxlanHdrLen || udp_len > ip_len - ihl) {
        why = DropReason::kBadUdpLength;
        return Verdict::kDrop;
    }

    const uint32_t vx_off = udp_off + kUdpHdrLen;
    if (avail < vx_off + kVxlanHdrLen) { why = need(vx_off + kVxlanHdrLen, avail, total, kCut); return Verdict::kDrop; }
    const uint8_t* vx = p + vx_off;
    if (!(vx[0] & kVxlanFlagI)) { why = DropReason::kBadVxlanFlags; return Verdict::kDrop; }

    out.reserved_set = (vx[0] & ~kVxlanFlagI) | vx[1] | vx[2] | vx[3] | vx[7];
    out.vni = (uint32_t{vx[4]} << 16) | (uint32_t{vx[5]} << 8) | vx[6];
    out.src = load_raw32(ip + 12);
    out.dst = load_raw32(ip + 16);
    out.inner_off = vx_off + kVxlanHdrLen;
    out.inner_len = udp_len - kUdpHdrLen - kVxlanHdrLen;
    return Verdict::kPass;
}

struct InnerInfo {
    uint16_t l3_off = 0;
    uint16_t l4_off = 0;
    uint16_t payload_off = 0;
    uint16_t end = 0;         // end of the IP packet (frame length without padding), <= len
    uint16_t vlan[2] = {0, 0};
    uint8_t l3 = 0;           // 4 or 6
    uint8_t l4_proto = 0;
    uint8_t flags = 0;        // PktFlag bits
};

// IPv6 extension headers the inner walks step over (RFC 8200 s4): hop-by-hop,
// routing, destination options, AH. The fragment header (44) is handled
// apart by each walker.
inline bool ipv6_skippable_ext(uint8_t proto) noexcept {
    return proto == 0 || proto == 43 || proto == 60 || proto == 51;
}
// Length of such a header from its second byte (AH counts 4-byte units).
inline uint32_t ipv6_ext_len(uint8_t proto, const uint8_t* hdr) noexcept {
    return proto == 51 ? (hdr[1] + 2u) * 4u : (hdr[1] + 1u) * 8u;
}

// L4 header lengths that vtapd parses; 0 = not parsed (payload starts at l4_off).
inline uint32_t l4_min_len(uint8_t proto) noexcept {
    switch (proto) {
    case 6: return kTcpMinHdrLen;   // TCP
    case 17: return kUdpHdrLen;     // UDP
    case 1: return 8;               // ICMP: type, code, checksum, 4 bytes rest-of-header
    case 58: return 4;              // ICMPv6: type, code, checksum
    case 132: return 12;            // SCTP common header
    default: return 0;
    }
}

// Parses an inner frame of `len` bytes of which `avail` are readable at f.
// Fast path for the common inner shape: no VLAN, IPv4 without options, not
// a fragment, TCP or UDP, whole headers in `avail`. Falls back (false) on
// anything else, including every malformed case.
inline bool parse_inner_fast(const uint8_t* f, uint32_t avail, uint32_t len, InnerInfo& in) noexcept {
    constexpr uint32_t kL4 = kEthHdrLen + kIpv4MinHdrLen;
    if (avail < kL4 + kTcpMinHdrLen || (load_raw32(f + 12) & 0x00FFFFFFu) != 0x00450008u) return false;
    uint16_t frag;
    std::memcpy(&frag, f + 20, 2);
    const uint8_t proto = f[23];
    const uint32_t ip_end = kEthHdrLen + load_be16(f + 16);
    if ((frag & 0xFF3Fu) != 0 || ip_end > len) return false;
    uint32_t hlen;
    if (proto == 6) {
        hlen = (f[kL4 + 12] >> 4) * 4u;
        if (hlen < kTcpMinHdrLen || kL4 + hlen > ip_end) return false;
    } else if (proto == 17) {
        hlen = kUdpHdrLen;
        if (kL4 + hlen > ip_end) return false;
    } else {
        return false;
    }
    in.l3_off = kEthHdrLen;
    in.l4_off = kL4;
    in.payload_off = static_cast<uint16_t>(kL4 + hlen);
    in.end = static_cast<uint16_t>(ip_end);
    in.l3 = 4;
    in.l4_proto = proto;
    in.flags = kFlagL4Header;
    return true;
}

inline Verdict parse_inner(const uint8_t* f, uint32_t avail, uint32_t len, InnerInfo& in,
                           DropReason& why) noexcept {
    if (parse_inner_fast(f, avail, len, in)) [[likely]]
        return Verdict::kPass;
    constexpr auto kCut = DropReason::kInnerTruncated;
    if (len < kEthHdrLen) { why = kCut; return Verdict::kDrop; }
    if (avail < kEthHdrLen) { why = need(kEthHdrLen, avail, len, kCut); return Verdict::kDrop; }
    uint32_t off = kEthHdrLen;
    uint16_t type = load_be16(f + 12);
    unsigned n_vlan = 0;
    while (type == kEtherTypeVlan || type == kEtherTypeQinQ) {
        if (n_vlan == 2) { why = DropReason::kInnerNotIp; return Verdict::kDrop; }
        if (avail < off + kVlanTagLen) { why = need(off + kVlanTagLen, avail, len, kCut); return Verdict::kDrop; }
        in.vlan[n_vlan++] = load_be16(f + off) & 0x0FFF;
        type = load_be16(f + off + 2);
        off += kVlanTagLen;
    }
    in.l3_off = static_cast<uint16_t>(off);
    uint32_t l4 = 0, ip_end = 0;
    uint8_t proto = 0;
    bool has_l4 = true;

    if (type == kEtherTypeIpv4) {
        if (avail < off + kIpv4MinHdrLen) { why = need(off + kIpv4MinHdrLen, avail, len, kCut); return Verdict::kDrop; }
        const uint8_t* ip = f + off;
        const uint32_t ihl = (ip[0] & 0x0F) * 4u;
        const uint32_t ip_len = load_be16(ip + 2);
        if ((ip[0] >> 4) != 4 || ihl < kIpv4MinHdrLen || ip_len < ihl) { why = DropReason::kInnerBadIpHeader; return Verdict::kDrop; }
        if (avail < off + ihl) { why = need(off + ihl, avail, len, kCut); return Verdict::kDrop; }
        if (ihl > kIpv4MinHdrLen) in.flags |= kFlagInnerIpOptions;
        const uint16_t frag = load_be16(ip + 6);
        if (frag & 0x3FFF) {
            in.flags |= kFlagFragment;
            if ((frag & 0x1FFF) == 0) in.flags |= kFlagFirstFragment;
            else has_l4 = false;  // later fragments carry no L4 header
        }
        in.l3 = 4;
        proto = ip[9];
        l4 = off + ihl;
        ip_end = off + ip_len;
    } else if (type == kEtherTypeIpv6) {
        if (avail < off + kIpv6HdrLen) { why = need(off + kIpv6HdrLen, avail, len, kCut); return Verdict::kDrop; }
        const uint8_t* ip = f + off;
        const uint32_t payload_len = load_be16(ip + 4);
        // payload length 0 is a jumbogram (RFC 2675): larger than any frame
        // vtapd accepts, so it can only be malformed here.
        if ((ip[0] >> 4) != 6 || payload_len == 0) { why = DropReason::kInnerBadIpHeader; return Verdict::kDrop; }
        in.l3 = 6;
        ip_end = off + kIpv6HdrLen + payload_len;
        proto = ip[6];
        l4 = off + kIpv6HdrLen;
        // Walk the common extension headers (RFC 8200 s4), at most 8 of them.
        for (int i = 0; i < 8; i++) {
            if (ipv6_skippable_ext(proto)) {
                if (avail < l4 + 2) { why = need(l4 + 2, avail, len, kCut); return Verdict::kDrop; }
                const uint32_t hlen = ipv6_ext_len(proto, f + l4);
                proto = f[l4];
                l4 += hlen;
                in.flags |= kFlagInnerIpOptions;
            } else if (proto == 44) {  // Fragment
                if (avail < l4 + 8) { why = need(l4 + 8, avail, len, kCut); return Verdict::kDrop; }
                in.flags |= kFlagFragment | kFlagInnerIpOptions;
                if ((load_be16(f + l4 + 2) & 0xFFF8) == 0) in.flags |= kFlagFirstFragment;
                else has_l4 = false;
                proto = f[l4];
                l4 += 8;
                if (!has_l4) break;
            } else {
                break;
            }
        }
        if (l4 > ip_end) { why = DropReason::kInnerBadIpHeader; return Verdict::kDrop; }
    } else {
        why = DropReason::kInnerNotIp;
        return Verdict::kDrop;
    }

    if (ip_end > len) {  // the copy is shorter than the packet claims: keep what arrived
        in.flags |= kFlagPayloadCut;
        ip_end = len;
    }
    if (l4 > ip_end) { why = kCut; return Verdict::kDrop; }
    uint32_t payload = l4;
    if (has_l4) {
        uint32_t min = l4_min_len(proto);
        if (min) {
            // The IP packet arrived whole (no kFlagPayloadCut) but is too
            // short for its L4 header: not a truncated copy but an invalid
            // packet. Suricata keeps such packets for IP-level rules, so it
            // passes as L3 only (kFlagL4Invalid, no payload).
            const bool whole = !(in.flags & kFlagPayloadCut);
            if (l4 + min > ip_end) {
                if (!whole) { why = kCut; return Verdict::kDrop; }
                in.flags |= kFlagL4Invalid;
                min = 0;
            }
            if (min) {
                if (avail < l4 + min) { why = need(l4 + min, avail, len, kCut); return Verdict::kDrop; }
                uint32_t hlen = min;
                if (proto == 6) {
                    hlen = (f[l4 + 12] >> 4) * 4u;
                    if (hlen < kTcpMinHdrLen) { why = DropReason::kInnerBadL4Header; return Verdict::kDrop; }
                }
                if (l4 + hlen > ip_end) {
                    if (!whole) { why = kCut; return Verdict::kDrop; }
                    in.flags |= kFlagL4Invalid;
                    payload = ip_end;
                } else {
                    payload = l4 + hlen;
                    in.flags |= kFlagL4Header;
                }
            } else {
                payload = ip_end;
            }
        }
    }
    in.l4_off = static_cast<uint16_t>(l4);
    in.payload_off = static_cast<uint16_t>(payload);
    in.end = static_cast<uint16_t>(ip_end);
    in.l4_proto = proto;
    return Verdict::kPass;
}

}  // namespace vtap::wire
