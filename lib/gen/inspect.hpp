// A forgiving reader of inner Ethernet frames: finds VLAN tags, the IP
// addresses, protocol and ports, and where the payload starts. It never
// fails; it reports how far it got. The wrapper uses it to pick an outer UDP
// source port and a tap source; tests use it to check what the generator wrote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "gen/net.hpp"

namespace vtap::gen {

struct FrameInfo {
    uint16_t ethertype = 0;  // after the VLAN tags
    uint8_t n_vlans = 0;
    uint16_t vlan_tci[2] = {0, 0};
    bool has_ip = false;     // a complete IPv4/IPv6 header (and extension chain)
    IpAddr src, dst;
    uint8_t proto = 0;       // upper-layer protocol after IPv6 extension headers
    bool fragment = false;   // IPv4 MF/offset or an IPv6 fragment header
    bool first_fragment = false;
    bool has_l4 = false;     // a complete TCP/UDP/ICMP header is present
    uint16_t src_port = 0;   // TCP/UDP; ICMP echo: the identifier in both
    uint16_t dst_port = 0;
    uint8_t tcp_flags = 0;
    uint32_t seq = 0, ack = 0;
    size_t l3_off = 0, l4_off = 0, payload_off = 0, payload_len = 0;
};

FrameInfo inspect_frame(std::span<const uint8_t> frame);

// A direction-free 64-bit key of the inner conversation (addresses, protocol,
// ports, VLAN IDs); equal for both directions. Non-IP frames key on the MACs.
uint64_t conversation_key(std::span<const uint8_t> frame, const FrameInfo& info);

}  // namespace vtap::gen
