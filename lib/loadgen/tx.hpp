// Sends generated frames out of a DPDK port: a precise count, paced by the
// TSC (Pacer), in bursts. Three ways to fill a burst, to measure which is
// cheaper: `refcnt` builds one mbuf per stored frame once and re-sends it with
// its reference count raised (only for PMDs that copy out and free, i.e. not
// an in-process net_ring whose receiver would edit the shared mbuf); `copy`
// copies stored bytes into fresh mbufs per burst; `stream` synthesizes frames
// while sending, for flow counts whose frames do not fit in memory.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.hpp"
#include "loadgen/pacer.hpp"
#include "loadgen/source.hpp"

struct rte_mempool;

namespace vtap::loadgen {

enum class TxMode : uint8_t { kRefcnt, kCopy, kStream };
Result<TxMode> parse_mode(std::string_view text);  // "refcnt", "copy", "stream"
std::string_view mode_name(TxMode m);

struct TxOptions {
    uint16_t port = 0;
    uint16_t queue = 0;
    rte_mempool* pool = nullptr;
    uint64_t count = 0;  // frames to offer; the source is replayed from the start as often as needed
    Rate rate;
    uint16_t burst = 32;
    // A frame the port refuses (TX ring full) is retried until taken; without
    // it the frame is counted as rejected and the next one follows on schedule.
    bool retry = false;
    TxMode mode = TxMode::kCopy;
};

struct TxStats {
    uint64_t offered = 0;   // frames handed to rte_eth_tx_burst (first attempt)
    uint64_t sent = 0;      // frames the port took
    uint64_t rejected = 0;  // offered - sent (without retry)
    uint64_t bytes = 0;     // of the frames sent
    uint64_t flows = 0;     // distinct conversations among the frames sent
    uint64_t planted = 0;   // frames sent that carry the planted signature
    uint64_t slips = 0;     // times the sender fell behind the schedule
    uint64_t tsc_cycles = 0;  // first burst to last
    uint64_t tsc_hz = 0;
    double seconds() const { return tsc_hz ? static_cast<double>(tsc_cycles) / static_cast<double>(tsc_hz) : 0; }
};

// kRefcnt and kCopy: replays `store` (which must not be empty).
Result<TxStats> send_store(const FrameStore& store, const TxOptions& opt);
// kStream: produces from `src` while sending.
Result<TxStats> send_stream(const SourceConfig& src, const TxOptions& opt);

}  // namespace vtap::loadgen
