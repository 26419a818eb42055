// Hot path. Stage functions over bursts, read top to bottom:
//   RX:     rte_eth_rx_burst -> count -> decap_burst -> hash_burst -> shard_burst
//           (decap's non-VTAP frames -> exception_burst -> control thread)
//   worker: rte_ring_dequeue_burst -> count -> WorkerStage -> free_bulk
#include "runtime/lcore_loops.hpp"

#include <sched.h>

#include <algorithm>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "shard/arrival.hpp"

namespace vtap::runtime {
namespace {

inline uint64_t burst_bytes(rte_mbuf* const* pkts, uint16_t n) noexcept {
    uint64_t b = 0;
    for (uint16_t i = 0; i < n; i++) b += pkts[i]->pkt_len;
    return b;
}

// The worker's half: account, run the stage, copy for capture, release.
inline void work_burst(rte_mbuf** pkts, uint16_t n, WorkerPath& w) noexcept {
    const uint64_t t0 = rte_rdtsc();
    w.ctr.bursts.add();
    w.ctr.packets.add(n);
    w.ctr.bytes.add(burst_bytes(pkts, n));
    w.stage->on_burst(pkts, n, w.ctr);
    if (w.tap) capture::capture_burst(*w.tap, pkts, n, w.cap_ctr);
    rte_pktmbuf_free_bulk(pkts, n);
    w.ctr.busy_cycles.add(rte_rdtsc() - t0);
}

// Offline input can wait where a wire cannot: net_pcap reads a frame from
// the file before it allocates the mbuf and drops the frame (rx_nombuf) when
// the pool is empty, and shard_burst drops on a full ring — both whenever RX
// outruns the workers. So an offline RX lcore takes no more frames than the
// pool and every worker ring can absorb (exact with one RX lcore; the pool
// has no lcore caches offline, so no free mbuf sits out of RX's reach).
inline uint16_t offline_room(const RxLcoreCtx& c) noexcept {
    unsigned room = std::min<unsigned>(c.burst, rte_mempool_avail_count(c.offline_pool));
    if (!c.run_to_completion)
        for (uint16_t w = 0; w < c.targets.n_workers; w++)
            room = std::min(room, rte_ring_free_count(c.targets.rings[w]));
    return static_cast<uint16_t>(room);
}

}  // namespace

uint32_t rx_poll_once(RxLcoreCtx& c) noexcept {
    rte_mbuf* pkts[kMaxBurst];
    uint32_t total = 0;
    for (uint16_t q = 0; q < c.n_queues; q++) {
        uint16_t want = c.burst;
        if (c.offline_pool && (want = offline_room(c)) == 0) break;
        uint16_t n = rte_eth_rx_burst(c.queues[q].port, c.queues[q].queue, pkts, want);
        c.ctr.polls.add();
        if (n == 0) continue;
        const uint64_t t0 = rte_rdtsc();
        total += n;
        c.ctr.bursts.add();
        c.ctr.packets.add(n);
        c.ctr.bytes.add(burst_bytes(pkts, n));

        Burst sink;
        sink.n = 0;
        decap::ExceptionHook hook{};
        if (c.exc.ring && c.queues[q].port == c.exc.port) hook.sink = &sink;
        n = decap::decap_burst(pkts, n, *c.decap, c.ctr, hook);
        if (unlikely(sink.n != 0)) exception_burst(sink, c.exc);
        if (likely(n != 0)) {
            shard::hash_burst(pkts, n);
            if (c.run_to_completion) {
                c.ctr.delivered.add(n);
                work_burst(pkts, n, c.rtc);
            } else {
                if (c.arrival_watermark) shard::stamp_arrivals(pkts, n, c.rx_index, c.next_arrival);
                shard::shard_burst(pkts, n, c.targets, c.ctr);
                // After the enqueues: a worker that reads this and then finds
                // its ring empty has dequeued every packet numbered below it.
                if (c.arrival_watermark) c.arrival_watermark->store(c.next_arrival, std::memory_order_release);
            }
        }
        // Run to completion: includes the worker path (also in worker0.busy_cycles).
        c.ctr.busy_cycles.add(rte_rdtsc() - t0);
    }
    return total;
}

int rx_lcore_main(void* arg) {
    auto& c = *static_cast<RxLcoreCtx*>(arg);
    while (!c.stop->load(std::memory_order_relaxed)) {
        if (rx_poll_once(c) != 0) continue;
        if (c.run_to_completion) c.rtc.stage->on_idle(c.rtc.ctr);
        // Offline, nothing came because the workers are behind (or the file
        // is done): give the CPU to a worker that may share it. No wire waits.
        if (c.offline_pool) sched_yield();
    }
    return 0;
}

int worker_lcore_main(void* arg) {
    auto& c = *static_cast<WorkerCtx*>(arg);
    rte_mbuf* pkts[kMaxBurst];
    for (;;) {
        const unsigned n = rte_ring_dequeue_burst(c.ring, reinterpret_cast<void**>(pkts), c.burst, nullptr);
        if (n) {
            work_burst(pkts, static_cast<uint16_t>(n), c.path);
            continue;
        }
        // Empty ring: exit only once no RX lcore can enqueue any more and a
        // final look finds it still empty (acquire pairs with the release
        // store the control thread makes after joining the RX lcores).
        if (c.rx_done->load(std::memory_order_acquire) && rte_ring_empty(c.ring)) break;
        c.path.stage->on_idle(c.path.ctr);
    }
    return 0;
}

}  // namespace vtap::runtime
