// One synthetic conversation: who talks (a tapped VM and a peer, or two
// tapped VMs), what it speaks, and its script: every packet's time,
// direction, TCP state and slice of an application message. Scripts hold no
// payload bytes; frames are built when a step is emitted.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "gen/frame.hpp"
#include "gen/net.hpp"
#include "gen/payload.hpp"
#include "gen/rng.hpp"
#include "gen/synth.hpp"

namespace vtap::gen {

struct Endpoint {
    IpAddr ip;
    Mac mac{};
    uint16_t port = 0;  // ICMP: the echo identifier (client side)
    int tap = -1;       // index into SynthConfig::tap_srcs when this endpoint is tapped
    uint8_t ttl = 64;   // as seen at the tap: peers arrive a few hops down
};

struct Flow {
    uint32_t id = 0;
    App app = App::kHttp;
    L4Proto proto = L4Proto::kTcp;
    Endpoint client, server;
    uint64_t seed = 0;  // payload bytes, IP IDs
    uint64_t rtt_ns = 0;
};

struct Step {
    uint64_t t_ns = 0;
    uint32_t index = 0;
    bool to_server = true;
    bool plant = false;     // try to plant the signature into this segment's filler bytes
    uint8_t tcp_flags = 0;
    uint16_t txn = 0;       // message number in the conversation (echo: sequence number)
    uint32_t seq = 0, ack = 0;
    uint32_t msg_off = 0;   // this segment's slice of the message
    uint32_t msg_len = 0;   // whole message
    uint32_t len = 0;       // payload bytes in this segment
};

// Draws the conversation's kind, family and endpoints.
Flow make_flow(const SynthConfig& cfg, uint32_t id, Rng& rng);

// Appends the conversation's packets, starting at start_ns, times strictly increasing.
void script_flow(const SynthConfig& cfg, const Flow& flow, Rng& rng, uint64_t start_ns, std::vector<Step>& steps);

// Per-conversation scratch so a message split over segments renders once.
struct MessageCache {
    int64_t key = -1;
    std::vector<uint8_t> bytes;
    Filler filler;
};

// Builds the inner frame of one step: payload rendered, and the signature
// planted when the step asks for it and the segment holds enough filler (the
// caller counts planted frames by looking for the signature).
Result<void> step_frame(const SynthConfig& cfg, const Flow& flow, const Step& step, MessageCache& cache,
                        FrameSpec& spec, std::vector<uint8_t>& frame);

}  // namespace vtap::gen
