// Frames for the load generator: lib/gen's synthesizer, streamed so millions
// of conversations never sit in memory at once, or every frame of an Ethernet
// pcap VTAP-wrapped. Each frame comes with its conversation number and whether
// it carries the planted signature; a FrameStore keeps a prefix as bytes for
// replay. Cold path, no DPDK.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "gen/synth.hpp"
#include "gen/wrap.hpp"

namespace vtap::loadgen {

struct GenFrame {
    std::span<const uint8_t> outer;
    uint64_t ts_ns = 0;
    uint32_t flow = 0;  // dense conversation number from 0
    bool planted = false;
};
using GenSink = std::function<Result<void>(const GenFrame&)>;

// Exactly one of the two: synthesize, or wrap the pcap at wrap_in.
struct SourceConfig {
    std::optional<gen::SynthConfig> synth;
    std::string wrap_in;
    gen::WrapConfig wrap;
};

// One pass over the source, at most max_frames frames (0 = all of it).
// Returns the number of frames handed to the sink.
Result<uint64_t> produce(const SourceConfig& src, uint64_t max_frames, const GenSink& sink);

// The frames of one pass kept as bytes, in order, for replay.
class FrameStore {
public:
    struct Rec {
        uint64_t off = 0;
        uint32_t len = 0;
        uint32_t flow = 0;
        bool planted = false;
    };
    void add(const GenFrame& f);
    size_t size() const { return recs_.size(); }
    std::span<const uint8_t> bytes(size_t i) const { return {arena_.data() + recs_[i].off, recs_[i].len}; }
    const Rec& rec(size_t i) const { return recs_[i]; }
    uint64_t arena_bytes() const { return arena_.size(); }

private:
    std::vector<uint8_t> arena_;
    std::vector<Rec> recs_;
};

// Which conversations have been sent: one bit each, grown on demand.
class FlowSet {
public:
    // True the first time a flow is seen.
    bool insert(uint32_t flow) {
        size_t w = flow / 64;
        if (w >= bits_.size()) bits_.resize(w + 1, 0);
        uint64_t b = uint64_t{1} << (flow % 64);
        if (bits_[w] & b) return false;
        bits_[w] |= b;
        ++count_;
        return true;
    }
    uint64_t count() const { return count_; }

private:
    std::vector<uint64_t> bits_;
    uint64_t count_ = 0;
};

}  // namespace vtap::loadgen
