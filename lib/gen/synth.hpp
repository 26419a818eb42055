// Synthesizes VTAP captures: N seeded, reproducible conversations (TCP with
// handshake, request/response rounds and FIN teardown; DNS-like UDP; ICMP and
// ICMPv6 echo) as a tapped VM sees them, both directions, each copy wrapped
// with that VM's address as the tap source. Same config and seed, same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "gen/net.hpp"
#include "gen/payload.hpp"
#include "gen/vtap.hpp"

namespace vtap::gen {

enum class SizeMode : uint8_t { kFixed, kImix, kJumbo };
inline constexpr size_t kJumboFrame = 9000;  // MANA's largest inner frame
inline constexpr size_t kMinFixedFrame = 60;

// Inner frame size of every payload-bearing packet (TCP data, DNS, echo).
// Control segments (SYN, pure ACK, FIN) keep their natural size; a frame whose
// headers alone exceed the size carries one payload byte.
struct SizeSpec {
    SizeMode mode = SizeMode::kImix;
    size_t fixed = 0;  // kFixed only
};
Result<SizeSpec> parse_size(std::string_view text);  // "fixed:N", "imix", "jumbo"
Result<App> parse_app(std::string_view text);        // "http", "tls", "dns", "echo"

// Relative weights of the conversation kinds.
struct Mix {
    double http = 35;  // TCP port 80
    double tls = 25;   // TCP port 443
    double dns = 30;   // UDP port 53
    double echo = 10;  // ICMP / ICMPv6 echo
};

struct SynthConfig {
    uint64_t seed = 1;
    uint32_t flows = 100;
    SizeSpec size;
    Mix mix;
    double ipv6_share = 0;               // fraction of conversations over IPv6 (lab_ipv6 addresses)
    std::optional<uint16_t> inner_vlan;  // 802.1Q tag on every inner frame
    std::vector<Ipv4> tap_srcs{{198, 18, 0, 10}, {198, 18, 0, 11}};  // tapped VMs
    Ipv4Net peer_net{{198, 19, 0, 0}, 16};  // the other endpoints of non-VM-to-VM conversations
    double two_tap_share = 0;            // fraction of conversations between two tapped VMs (seen twice)
    std::string plant;                   // signature to plant into client-to-server payloads
    double plant_rate = 0;               // per client-to-server payload segment that can hold it
    std::optional<App> plant_app;        // plant only into this kind of conversation
    size_t frag_mtu = 0;                 // > 0: UDP/ICMP packets above this IP size are fragmented
    uint64_t packets_max = 0;            // 0 = no limit; counts outer frames
    uint64_t start_ns = 1'704'067'200'000'000'000ull;  // 2024-01-01T00:00:00Z
    VtapOptions vtap;
};

Result<void> validate(const SynthConfig& cfg);

struct SynthStats {
    uint64_t frames = 0;       // outer frames written
    uint64_t flows = 0;        // conversations with at least one frame written
    uint64_t planted = 0;      // frames carrying the planted signature
    uint64_t inner_bytes = 0;  // sum of inner Ethernet frame lengths
    uint64_t outer_bytes = 0;
    uint64_t tcp_flows = 0, udp_flows = 0, icmp_flows = 0, ipv6_flows = 0, two_tap_flows = 0;
};

struct EmittedFrame {
    std::span<const uint8_t> outer;  // the whole VTAP frame
    std::span<const uint8_t> inner;  // the inner Ethernet frame inside it
    uint64_t ts_ns = 0;              // strictly increasing (by at least 1 us)
    uint32_t flow = 0;               // conversation index, 0..flows-1
    Ipv4 tap_src{};
    bool to_server = false;
    bool planted = false;
};
using FrameSink = std::function<Result<void>(const EmittedFrame&)>;

Result<SynthStats> synthesize(const SynthConfig& cfg, const FrameSink& sink);
Result<SynthStats> synthesize_pcap(const SynthConfig& cfg, const std::string& path);

}  // namespace vtap::gen
