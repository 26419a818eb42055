// Benchmarks of the shard stages on real mbufs: hash_burst (symmetric flow
// hash) and shard_burst (group by worker, one ring enqueue per worker) over
// bursts of realistic inner frames, IPv4 TCP mostly, many flows, both directions.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "core/burst.hpp"
#include "core/pkt_meta.hpp"
#include "shard/shard.hpp"
#include "tests/shard/frame_builder.hpp"

using namespace vtap;

namespace {

// 256 frames: 8 bursts of 32 cycle through L1/L2 the way a decapsulated
// burst sits there when the hash stage reads it.
constexpr uint32_t kFrames = 256;

enum class Mix : int64_t {
    kRealistic = 0,  // ~75% IPv4 TCP, 10% IPv4 UDP (DNS), 10% IPv6 TCP, 5% ICMP; 1 in 10 on VLAN 100
    kIpv4Tcp = 1,
    kIpv6Tcp = 2,
};

// 64 conversations, both directions.
test::Tuple conversation(uint32_t i, Mix mix) {
    test::Tuple t;
    const uint32_t conv = (i * 37) % 64;
    const uint32_t kind = conv % 10;
    t.family = mix == Mix::kIpv6Tcp || (mix == Mix::kRealistic && kind == 7) ? L3Type::kIpv6 : L3Type::kIpv4;
    t.proto = mix != Mix::kRealistic ? IPPROTO_TCP
              : kind == 8        ? IPPROTO_UDP
              : kind == 9 && conv % 20 == 9 ? IPPROTO_ICMP
                                            : IPPROTO_TCP;
    t.src.addr = {10, 1, static_cast<uint8_t>(conv / 16), static_cast<uint8_t>(conv)};
    t.dst.addr = {10, 2, 0, static_cast<uint8_t>(1 + conv % 3)};
    if (t.family == L3Type::kIpv6) {
        t.src.addr = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, static_cast<uint8_t>(conv)};
        t.dst.addr = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1};
    }
    t.src.port = static_cast<uint16_t>(40000 + conv * 13);
    t.dst.port = t.proto == IPPROTO_UDP ? 53 : 443;
    if (conv % 10 == 0) t.vlan[0] = 100;
    return (i / 64) % 2 ? test::reversed(t) : t;
}

struct Frames {
    rte_mempool* pool = nullptr;
    std::vector<rte_mbuf*> pkts;
    uint64_t bytes = 0;
};

Frames& frames(Mix mix = Mix::kRealistic) {
    static Frames sets[3];
    Frames& f = sets[static_cast<size_t>(mix)];
    if (f.pool) return f;
    f = [mix] {
        Frames fr;
        fr.pool = rte_pktmbuf_pool_create(("shard_bench" + std::to_string(static_cast<int>(mix))).c_str(), 2 * kFrames - 1, 0, 0,
                                          RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
        if (!fr.pool) return fr;
        for (uint32_t i = 0; i < kFrames; i++) {
            uint8_t buf[test::kMaxTestFrame];
            PktMeta meta;
            const size_t len = test::build_frame(conversation(i, mix), buf, meta);
            rte_mbuf* m = rte_pktmbuf_alloc(fr.pool);
            std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(len)), buf, len);
            pkt_meta(m) = meta;
            fr.pkts.push_back(m);
            fr.bytes += len;
        }
        shard::hash_burst(fr.pkts.data(), static_cast<uint16_t>(kFrames));
        return fr;
    }();
    return f;
}

void BM_HashBurst(benchmark::State& state) {
    const auto burst = static_cast<uint16_t>(state.range(0));
    Frames& f = frames(static_cast<Mix>(state.range(1)));
    if (f.pkts.size() != kFrames) return state.SkipWithError("no mbuf pool");
    uint32_t at = 0;
    for (auto _ : state) {
        shard::hash_burst(f.pkts.data() + at, burst);
        benchmark::DoNotOptimize(pkt_meta(f.pkts[at]).flow_hash);
        at = at + 2 * burst <= kFrames ? at + burst : 0;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * burst * (f.bytes / kFrames)));
}

struct Rings {
    shard::ShardTargets targets;
    explicit Rings(uint16_t n_workers) {
        targets.n_workers = n_workers;
        for (uint16_t w = 0; w < n_workers; w++)
            targets.rings[w] = rte_ring_create(("shard_bench" + std::to_string(w)).c_str(), 1024,
                                               SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    }
    ~Rings() {
        for (rte_ring* r : targets.rings) rte_ring_free(r);
    }
    bool ok() const {
        for (uint16_t w = 0; w < targets.n_workers; w++)
            if (!targets.rings[w]) return false;
        return true;
    }
};

// The timed loop also drains the rings (the workers' rte_ring_dequeue_burst),
// since shard_burst hands the mbufs over; BM_RingRoundTripBurst below is that
// cost with no grouping, the baseline to subtract.
void BM_ShardBurst(benchmark::State& state) {
    const auto burst = static_cast<uint16_t>(state.range(0));
    const auto n_workers = static_cast<uint16_t>(state.range(1));
    Frames& f = frames();
    Rings rings(n_workers);
    if (f.pkts.size() != kFrames || !rings.ok()) return state.SkipWithError("no pool or rings");
    RxCounters ctr;
    rte_mbuf* pkts[kMaxBurst];
    void* drained[kMaxBurst];
    uint32_t at = 0;
    for (auto _ : state) {
        std::memcpy(pkts, f.pkts.data() + at, burst * sizeof(rte_mbuf*));
        benchmark::DoNotOptimize(shard::shard_burst(pkts, burst, rings.targets, ctr));
        for (uint16_t w = 0; w < n_workers; w++)
            rte_ring_dequeue_burst(rings.targets.rings[w], drained, kMaxBurst, nullptr);
        at = at + 2 * burst <= kFrames ? at + burst : 0;
    }
    if (ctr.drops_total() != 0) state.SkipWithError("ring_full during the benchmark");
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * burst * (f.bytes / kFrames)));
}

void BM_RingRoundTripBurst(benchmark::State& state) {
    const auto burst = static_cast<uint16_t>(state.range(0));
    Frames& f = frames();
    Rings rings(1);
    if (f.pkts.size() != kFrames || !rings.ok()) return state.SkipWithError("no pool or rings");
    void* drained[kMaxBurst];
    uint32_t at = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(rte_ring_enqueue_burst(
            rings.targets.rings[0], reinterpret_cast<void* const*>(f.pkts.data() + at), burst, nullptr));
        rte_ring_dequeue_burst(rings.targets.rings[0], drained, kMaxBurst, nullptr);
        at = at + 2 * burst <= kFrames ? at + burst : 0;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * burst);
}

}  // namespace

// mix: 0 realistic, 1 IPv4 TCP only, 2 IPv6 TCP only.
BENCHMARK(BM_HashBurst)->ArgNames({"burst", "mix"})
    ->Args({8, 0})->Args({32, 0})->Args({64, 0})->Args({32, 1})->Args({32, 2});
BENCHMARK(BM_ShardBurst)->ArgNames({"burst", "workers"})
    ->Args({8, 4})->Args({32, 1})->Args({32, 2})->Args({32, 4})->Args({32, 8})->Args({64, 4});
BENCHMARK(BM_RingRoundTripBurst)->Arg(8)->Arg(32)->Arg(64);
