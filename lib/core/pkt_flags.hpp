// Packet flags and L3 types recorded by decap in PktMeta. Kept apart from
// pkt_meta.hpp so pure parsers (lib/wire) can use them without DPDK headers.
#pragma once

#include <cstdint>

namespace vtap {

enum class L3Type : uint8_t { kNone = 0, kIpv4 = 4, kIpv6 = 6 };

// PktMeta::flags
enum PktFlag : uint8_t {
    kFlagFragment = 1u << 0,        // inner IP packet is a fragment (MF or offset != 0, or IPv6 frag hdr)
    kFlagFirstFragment = 1u << 1,   // ... and it is the first one (offset 0): L4 header present
    kFlagVxlanReserved = 1u << 2,   // VXLAN reserved bits were non-zero (permissive mode)
    kFlagL4Header = 1u << 3,        // l4_off points at a complete TCP/UDP/ICMP/ICMPv6/SCTP header
    kFlagInnerIpOptions = 1u << 4,  // inner IPv4 has options / IPv6 has extension headers
    kFlagPayloadCut = 1u << 5,      // IP length claims more bytes than arrived (truncated copy)
    kFlagUntunneled = 1u << 6,      // decap.mode ethernet: the frame arrived as is (no tap fields)
    kFlagL4Invalid = 1u << 7,       // complete IP packet whose L4 header claims more bytes than the IP
                                    // payload has: delivered as L3 only (Suricata decodes it as an
                                    // invalid packet and still runs IP-level rules)
};

}  // namespace vtap
