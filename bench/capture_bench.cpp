// BM_CaptureBurst: worker-side cost of capture_burst (copy into EPB mbufs and
// enqueue), per burst of inner frames. Each iteration also dequeues and frees
// the copies as the sink would, but writes nothing: file I/O is the control
// thread's and is bounded by the disk, not by this stage.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "capture/capture_tap.hpp"
#include "core/burst.hpp"

using namespace vtap;
using namespace vtap::capture;

static void BM_CaptureBurst(benchmark::State& state) {
    const auto burst = static_cast<uint16_t>(state.range(0));
    const auto frame_len = static_cast<uint32_t>(state.range(1));
    static int instance = 0;
    const std::string tag = std::to_string(instance++);

    rte_mempool* src = rte_pktmbuf_pool_create(("bsrc" + tag).c_str(), 255, 0, 0,
                                               RTE_PKTMBUF_HEADROOM + 2048, SOCKET_ID_ANY);
    CaptureTap tap;
    tap.snaplen = kMaxSnaplen;
    tap.clock = TscClock::sample();
    tap.pool = rte_pktmbuf_pool_create_by_ops(("bcap" + tag).c_str(), 1024, 0, 0,
                                              RTE_PKTMBUF_HEADROOM + epb_size(kMaxSnaplen),
                                              SOCKET_ID_ANY, "ring_mp_sc");
    tap.ring = rte_ring_create(("bring" + tag).c_str(), 1024, SOCKET_ID_ANY,
                               RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (src == nullptr || tap.pool == nullptr || tap.ring == nullptr) {
        state.SkipWithError(rte_strerror(rte_errno));
        return;
    }
    rte_mbuf* pkts[kMaxBurst];
    for (uint16_t i = 0; i < burst; ++i) {
        pkts[i] = rte_pktmbuf_alloc(src);
        std::memset(rte_pktmbuf_append(pkts[i], static_cast<uint16_t>(frame_len)), 0x5a, frame_len);
    }
    CaptureCounters counters;
    rte_mbuf* out[kMaxBurst];
    for (auto _ : state) {
        const uint16_t q = capture_burst(tap, pkts, burst, counters);
        benchmark::DoNotOptimize(q);
        const unsigned got = rte_ring_dequeue_burst(tap.ring, reinterpret_cast<void**>(out), q, nullptr);
        rte_pktmbuf_free_bulk(out, got);
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * burst * frame_len);
    if (counters.queued.get() != static_cast<uint64_t>(state.iterations()) * burst)
        state.SkipWithError("frames were not all captured");
    rte_pktmbuf_free_bulk(pkts, burst);
    rte_ring_free(tap.ring);
    rte_mempool_free(tap.pool);
    rte_mempool_free(src);
}
BENCHMARK(BM_CaptureBurst)->Args({32, 64})->Args({32, 512})->Args({32, 1500});
