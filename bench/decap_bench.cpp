// BM_DecapBurst: validate + strip + inner parse (+ symmetric hash) over
// bursts of realistic VTAP frames. decap works in place, so each iteration
// restores the outer headers with rte_pktmbuf_prepend (the bytes are still
// in the headroom); BM_RestoreBurst times that restore alone so the decap
// cost is the difference, reported in bench/README.md.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "core/pkt_meta.hpp"
#include "decap/decap.hpp"
#include "shard/shard.hpp"
#include "support/frames.hpp"
#include "support/mbufs.hpp"

using namespace vtap;

namespace {

// Created on first use: EAL is up by then (bench/support/eal_bench_main.cpp).
rte_mempool* pool() {
    static rte_mempool* mp = test::make_pool("bench", 4095);
    return mp;
}

decap::DecapConfig bench_config() {
    decap::DecapConfig c;
    c.n_sources = 2;
    c.sources[0] = {test::ip4(10, 1, 0, 0), 16};
    c.sources[1] = {test::ip4(198, 18, 0, 0), 15};
    return c;
}

// 32 frames as a tapped web server sees them: TCP both directions, a few
// UDP (DNS) and an IPv6 flow; payload sizes from ACK-only to full MSS.
struct BurstFixture {
    rte_mbuf* pkts[kMaxBurst];
    uint16_t n;
    uint16_t outer_len[kMaxBurst];
    uint64_t bytes = 0;

    explicit BurstFixture(uint16_t count) : n(count) {
        std::mt19937 rng(42);
        const size_t sizes[] = {0, 0, 64, 200, 512, 1000, 1448, 1448};
        for (uint16_t i = 0; i < n; i++) {
            test::Inner in;
            in.src = test::ip4(198, 18, 1, static_cast<uint8_t>(rng() % 200));
            in.dst = test::ip4(203, 0, 113, static_cast<uint8_t>(rng() % 200));
            in.sport = static_cast<uint16_t>(32768 + rng() % 20000);
            in.dport = 443;
            if (i % 2) std::swap(in.src, in.dst), std::swap(in.sport, in.dport);
            in.payload = sizes[rng() % 8];
            if (i % 11 == 5) in.proto = 17, in.payload = 60;
            if (i % 16 == 9) in.ipv6 = true;
            auto f = test::vtap_frame(test::inner_frame(in), {.src = test::ip4(198, 18, 1, 4), .vni = 27});
            pkts[i] = test::make_mbuf(pool(), f);
            outer_len[i] = static_cast<uint16_t>(f.size());
            bytes += f.size();
        }
    }
    ~BurstFixture() { rte_pktmbuf_free_bulk(pkts, n); }

    // Puts the outer headers back in front of each (decapsulated) frame.
    void restore(rte_mbuf** order) {
        for (uint16_t i = 0; i < n; i++) {
            rte_mbuf* m = order[i];
            rte_pktmbuf_prepend(m, static_cast<uint16_t>(outer_len[i] - m->pkt_len));
        }
    }
};

void BM_RestoreBurst(benchmark::State& st) {
    BurstFixture f(static_cast<uint16_t>(st.range(0)));
    for (auto _ : st) {
        // Trim then prepend the same amount: the restore's cost, no decap.
        for (uint16_t i = 0; i < f.n; i++) rte_pktmbuf_adj(f.pkts[i], 50);
        f.restore(f.pkts);
        benchmark::DoNotOptimize(f.pkts[0]->data_off);
    }
    st.SetItemsProcessed(st.iterations() * f.n);
}

void BM_DecapBurst(benchmark::State& st) {
    BurstFixture f(static_cast<uint16_t>(st.range(0)));
    const auto cfg = bench_config();
    RxCounters ctr;
    for (auto _ : st) {
        uint16_t kept = decap::decap_burst(f.pkts, f.n, cfg, ctr);
        benchmark::DoNotOptimize(kept);
        f.restore(f.pkts);
    }
    if (ctr.drops_total() != 0) st.SkipWithError("fixture frames were dropped");
    st.SetItemsProcessed(st.iterations() * f.n);
    st.SetBytesProcessed(st.iterations() * f.bytes);
}

void BM_DecapHashBurst(benchmark::State& st) {
    BurstFixture f(static_cast<uint16_t>(st.range(0)));
    const auto cfg = bench_config();
    RxCounters ctr;
    for (auto _ : st) {
        uint16_t kept = decap::decap_burst(f.pkts, f.n, cfg, ctr);
        shard::hash_burst(f.pkts, kept);
        benchmark::DoNotOptimize(pkt_meta(f.pkts[0]).flow_hash);
        f.restore(f.pkts);
    }
    if (ctr.drops_total() != 0) st.SkipWithError("fixture frames were dropped");
    st.SetItemsProcessed(st.iterations() * f.n);
    st.SetBytesProcessed(st.iterations() * f.bytes);
}

}  // namespace

BENCHMARK(BM_RestoreBurst)->Arg(32);
BENCHMARK(BM_DecapBurst)->Arg(8)->Arg(32)->Arg(64);
BENCHMARK(BM_DecapHashBurst)->Arg(32);
