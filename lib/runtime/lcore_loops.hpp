// The two lcore loops of the data path and the contexts they run on. Each
// context is owned by exactly one lcore while it runs; the control thread
// only reads its counters and sets the stop flags.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "core/counters.hpp"
#include "decap/decap.hpp"
#include "runtime/exception_path.hpp"
#include "runtime/worker_stage.hpp"
#include "shard/shard.hpp"

struct rte_mempool;
struct rte_ring;

#include "capture/capture_tap.hpp"

namespace vtap::runtime {

struct RxQueueRef {
    uint16_t port = 0;
    uint16_t queue = 0;
};

// What a worker does with a burst, shared by worker lcores and by RX lcores
// running to completion: count, run the stage, copy to the capture sink.
struct alignas(kCacheLine) WorkerPath {
    std::unique_ptr<WorkerStage> stage;
    capture::CaptureTap* tap = nullptr;     // decapsulated capture; nullptr = off
    WorkerCounters ctr;
    capture::CaptureCounters cap_ctr;
};

struct alignas(kCacheLine) RxLcoreCtx {
    static constexpr unsigned kMaxQueues = 32;
    unsigned lcore = 0;
    uint16_t burst = 32;
    uint16_t n_queues = 0;
    std::array<RxQueueRef, kMaxQueues> queues{};
    const decap::DecapConfig* decap = nullptr;
    shard::ShardTargets targets;            // used when run_to_completion is false
    bool run_to_completion = false;
    WorkerPath rtc;                         // the RX lcore's own worker (run to completion)
    const std::atomic<bool>* stop = nullptr;
    // Offline input only (every port a pcap file): poll only while this pool
    // can take a burst per queue. nullptr on live ports, where the wire does
    // not wait and a full pool is the NIC's counted rx_nombuf/imissed.
    const rte_mempool* offline_pool = nullptr;
    ExceptionRx exc;                        // non-VTAP frames to the kernel; exc.ring == nullptr: off
    // Set when workers hand work to each other (DefragHandoff): delivered
    // packets are numbered (shard/arrival.hpp) and, after each burst, the
    // next number is published here. nullptr: no numbering.
    std::atomic<uint64_t>* arrival_watermark = nullptr;
    uint8_t rx_index = 0;
    uint64_t next_arrival = 0;
    RxCounters ctr;
};

struct alignas(kCacheLine) WorkerCtx {
    unsigned lcore = 0;
    uint16_t burst = 32;
    rte_ring* ring = nullptr;
    // Set once every RX lcore has returned: drain the ring, then exit.
    const std::atomic<bool>* rx_done = nullptr;
    WorkerPath path;
};

// rte_eal_remote_launch entry points; arg is the context.
int rx_lcore_main(void* rx_ctx);
int worker_lcore_main(void* worker_ctx);

// One RX poll round over every queue of the context (also used by the main
// lcore when it is the only lcore). Returns packets received.
uint32_t rx_poll_once(RxLcoreCtx& c) noexcept;

}  // namespace vtap::runtime
