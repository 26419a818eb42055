// Wraps an inner Ethernet frame the way Azure Virtual Network TAP sends it:
// outer Ethernet, IPv4 from the tapped VM's address to the collector (TTL 64,
// ID 0, DF clear), UDP to 4789 with checksum 0, VXLAN (RFC 7348) flags 0x08
// and the VNI. Knobs exist to break each field for negative tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/ids.hpp"
#include "core/result.hpp"
#include "gen/net.hpp"

namespace vtap::gen {

inline constexpr uint16_t kVxlanPort = 4789;
inline constexpr Vni kAzureVni{27};  // the VNI seen in the decoded Azure capture
inline constexpr size_t kVtapOverhead = 14 + 20 + 8 + 8;  // outer Eth + IPv4 + UDP + VXLAN
// The pcap writer's snap length bounds an outer frame; the inner frame gets
// what is left once the outer headers (and an optional outer tag) are paid.
inline constexpr size_t kMaxOuterFrame = 65535;
inline constexpr size_t kMaxInnerFrame = kMaxOuterFrame - kVtapOverhead;

struct VtapOptions {
    // The collector NIC's MAC and the Azure host's (the well-known 12:34:56:78:9a:bc).
    Mac outer_dst_mac{0x00, 0x0d, 0x3a, 0xc0, 0x11, 0xec};
    Mac outer_src_mac{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    std::optional<uint16_t> outer_vlan;  // Azure sends none; for negative/robustness tests
    Ipv4 collector{198, 18, 0, 4};
    uint16_t udp_dst_port = kVxlanPort;
    // Azure's outer source port is undocumented; by default it is a hash of
    // the inner flow in 49152..65535 (RFC 7348 5), not symmetric.
    std::optional<uint16_t> fixed_src_port;
    Vni vni = kAzureVni;             // 24 bits, an opaque tag
    uint8_t vxlan_flags = 0x08;      // I flag only; other values for negative tests
    bool set_reserved = false;       // fill the reserved bits with ones (negative tests)
    uint8_t ttl = 64;
};

Result<void> validate(const VtapOptions& opts);

// The outer UDP source port derived from the inner flow.
uint16_t flow_src_port(std::span<const uint8_t> inner);

// Writes the VTAP frame into `out` (cleared first).
Result<void> wrap_vtap(std::span<const uint8_t> inner, const Ipv4& tap_src, const VtapOptions& opts,
                       std::vector<uint8_t>& out);

// Length of the outer headers for these options (50, or 54 with an outer tag).
size_t vtap_overhead(const VtapOptions& opts);

}  // namespace vtap::gen
