// Builds complete inner Ethernet frames from a field-by-field description:
// 0..2 802.1Q tags, IPv4 (options) or IPv6 (hop-by-hop, destination options,
// fragment headers), then TCP, UDP, ICMP echo or ICMPv6 echo with a payload.
// Every IPv4 header checksum and L4 checksum is computed; `fragment` splits a
// built frame into IP fragments the way a host stack would.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "gen/net.hpp"

namespace vtap::gen {

inline constexpr uint16_t kEtherIpv4 = 0x0800;
inline constexpr uint16_t kEtherIpv6 = 0x86dd;
inline constexpr uint16_t kEtherVlan = 0x8100;

enum class L4Proto : uint8_t { kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpv6 = 58 };

// TCP header flag bits (RFC 793 3.1).
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flag

enum class Ipv6ExtKind : uint8_t { kHopByHop = 0, kFragment = 44, kDestOpts = 60 };

// One IPv6 extension header, in the order given. Hop-by-hop and destination
// options carry option TLVs (padded with PadN to a multiple of 8 bytes); a
// fragment header carries offset/M/identification.
struct Ipv6Ext {
    Ipv6ExtKind kind = Ipv6ExtKind::kDestOpts;
    std::vector<uint8_t> options;
    uint16_t frag_offset = 0;  // bytes, a multiple of 8
    bool more_fragments = false;
    uint32_t frag_id = 0;
};

struct FrameSpec {
    Mac dst_mac{};
    Mac src_mac{};
    std::vector<uint16_t> vlans;  // 802.1Q TCIs (PCP/DEI/VID), outermost first; at most 2

    IpAddr src;  // both IPv4 or both IPv6; the family selects the L3 header
    IpAddr dst;
    uint8_t ttl = 64;  // hop limit for IPv6
    uint8_t tos = 0;   // traffic class for IPv6
    uint16_t ip_id = 0;
    bool dont_fragment = true;
    std::vector<uint8_t> ipv4_options;  // padded with EOL to a multiple of 4, at most 40
    uint32_t flow_label = 0;
    std::vector<Ipv6Ext> ipv6_ext;

    L4Proto proto = L4Proto::kUdp;
    uint16_t src_port = 0;  // TCP/UDP
    uint16_t dst_port = 0;
    uint32_t seq = 0;  // TCP
    uint32_t ack = 0;
    uint8_t tcp_flags = 0;
    uint16_t window = 65535;
    std::vector<uint8_t> tcp_options;  // padded with EOL to a multiple of 4, at most 40
    bool echo_reply = false;           // ICMP/ICMPv6: echo reply instead of request
    uint16_t icmp_id = 0;
    uint16_t icmp_seq = 0;

    std::vector<uint8_t> payload;
};

// Length of everything before the payload for a spec without IP/TCP options:
// lets a caller size a payload so the frame hits an exact length.
size_t header_len(bool ipv6, size_t vlans, L4Proto proto);

// Builds the frame into `out` (cleared first). Errors name the bad field.
Result<void> build_frame(const FrameSpec& spec, std::vector<uint8_t>& out);
Result<std::vector<uint8_t>> build_frame(const FrameSpec& spec);

// Splits a frame's IP packet into fragments of at most `l3_mtu` bytes each
// (IP header included), keeping the Ethernet/VLAN header on every fragment.
// IPv4 copies the options whose copied flag is set (RFC 791 3.1); IPv6 puts a
// fragment header with `ipv6_id` after the unfragmentable part (RFC 8200 4.5).
// A packet that already fits is returned as it is.
Result<std::vector<std::vector<uint8_t>>> fragment(std::span<const uint8_t> frame, size_t l3_mtu,
                                                   uint32_t ipv6_id);

}  // namespace vtap::gen
