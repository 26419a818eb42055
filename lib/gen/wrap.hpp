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
};

struct WrapStats {
    uint64_t frames = 0;       // frames written
    uint64_t flows = 0;        // distinct inner conversations among them
    uint64_t inner_bytes = 0;
    uint64_t outer_bytes = 0;
    uint64_t truncated = 0;    // records shorter than on the wire: wrapped as captured
    uint64_t oversize = 0;     // records too large for one VTAP frame: not written
};

// The tap source for one inner frame.
Ipv4 choose_tap(std::span<const uint8_t> inner, const std::vector<Ipv4>& tap_srcs);

Result<WrapStats> wrap_pcap(const std::string& in_path, const std::string& out_path, const WrapConfig& cfg);

}  // namespace vtap::gen
