// Wrap-an-existing-capture mode: every frame of an Ethernet pcap/pcapng comes
// out VTAP-wrapped, byte for byte, with its original timestamp. The tap
// source is a configured VM address that appears in the inner packet, or a
// direction-free hash of the inner conversation, so both directions of one
// conversation share a tap source.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gen/net.hpp"
#include "gen/vtap.hpp"

namespace vtap::gen {

struct WrapConfig {
    VtapOptions vtap;
    std::vector<Ipv4> tap_srcs{{198, 18, 0, 10}};
    // The capture written this many times in a row, for benchmarks that
    // need a longer run than one pass of a short capture. Copy c >= 1 is
    // told apart as new conversations by an inner 802.1Q tag with VLAN ID c
    // in front of the frame's own tags (VLAN IDs are part of the inner flow
    // key, and no rule keyword reads them), and its timestamps follow the
    // previous copy's last one by the capture's span plus one second.
    uint16_t copies = 1;
};
inline constexpr uint16_t kMaxWrapCopies = 4094;  // VLAN IDs 1..4094

struct WrapStats {
    uint64_t frames = 0;       // frames written
    uint64_t flows = 0;        // distinct inner conversations among them
    uint64_t inner_bytes = 0;
    uint64_t outer_bytes = 0;
    uint64_t truncated = 0;    // records shorter than on the wire: wrapped as captured
    uint64_t oversize = 0;     // records too large for one VTAP frame: not written (in every copy)
};

// The tap source for one inner frame.
Ipv4 choose_tap(std::span<const uint8_t> inner, const std::vector<Ipv4>& tap_srcs);

Result<WrapStats> wrap_pcap(const std::string& in_path, const std::string& out_path, const WrapConfig& cfg);

}  // namespace vtap::gen
