// FlowTable benchmarks, no EAL: lookup_or_create on existing flows at 1k,
// 100k and 1M flows (packets in random flow order, the cache-hostile case a
// busy worker sees), and TCP reassembly throughput for in-order segments
// and for segments arriving pairwise swapped (every other one buffered).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "flow/flow_table.hpp"
#include "tests/flow/flow_frames.hpp"

using namespace vtap;
using namespace vtap::flow;

namespace {

constexpr size_t kFrameStride = 64;  // TCP/IPv4 headers + 10 payload bytes fit

// N distinct TCP flows (mid-stream, both directions mixed), frames packed
// contiguously the way a burst's headers would sit in mbufs.
struct Frames {
    std::vector<uint8_t> bytes;
    std::vector<PktMeta> meta;
    std::vector<uint32_t> order;

    explicit Frames(uint32_t n) : bytes(size_t{n} * kFrameStride), meta(n), order(n) {
        for (uint32_t i = 0; i < n; i++) {
            const test::Ep a{{10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)},
                             static_cast<uint16_t>(1024 + i % 50000)};
            const test::Ep b{{10, 255, 0, 1}, 443};
            const test::Pkt p = i % 2 ? test::tcp(a, b, i, 1, kTcpAck, "0123456789")
                                      : test::tcp(b, a, 1, i, kTcpAck, "0123456789");
            std::memcpy(&bytes[size_t{i} * kFrameStride], p.frame.data(), std::min(p.frame.size(), kFrameStride));
            meta[i] = p.meta;
        }
        std::iota(order.begin(), order.end(), 0u);
        std::shuffle(order.begin(), order.end(), std::mt19937(42));
    }
    const uint8_t* frame(uint32_t i) const { return &bytes[size_t{i} * kFrameStride]; }
};

// state.range(0) flows, a frame each, all in a table sized for them; table
// is null (and the benchmark skipped) when it cannot be made.
struct FilledTable {
    uint32_t n;
    Frames fr;
    std::unique_ptr<FlowTable> table;

    explicit FilledTable(benchmark::State& state) : n(static_cast<uint32_t>(state.range(0))), fr(n) {
        FlowConfig cfg;
        cfg.capacity = n;
        cfg.segment_pool_bytes = 0;
        auto t = FlowTable::create(cfg);
        if (!t) {
            state.SkipWithError(t.error().to_string().c_str());
            return;
        }
        table = std::move(*t);
        for (uint32_t i = 0; i < n; i++) table->lookup_or_create(fr.frame(i), fr.meta[i], 1);
    }
};

void BM_FlowLookup(benchmark::State& state) {
    const FilledTable ft(state);
    if (!ft.table) return;
    const uint32_t n = ft.n;
    const Frames& fr = ft.fr;
    FlowTable& table = *ft.table;
    uint64_t now = 1;
    uint32_t k = 0;
    for (auto _ : state) {
        const uint32_t i = fr.order[k];
        k = k + 1 == n ? 0 : k + 1;
        // 200 ns per packet: the clock of a worker at 5 Mpps, so busy flows
        // make their (rate-limited) LRU moves as they would in service.
        now += 200;
        const Lookup l = table.lookup_or_create(fr.frame(i), fr.meta[i], now);
        benchmark::DoNotOptimize(l.flow);
    }
    if (table.counters().created.get() != n) state.SkipWithError("a lookup created a flow");
    state.SetItemsProcessed(state.iterations());
    state.counters["bytes_per_flow"] = static_cast<double>(table.bytes_per_flow());
}
BENCHMARK(BM_FlowLookup)->Arg(1000)->Arg(100'000)->Arg(1'000'000);

// Lookups a burst at a time, as DetectStage::on_burst makes them. arg 0:
// flows; arg 1: 1 = with its prefetch hints (FlowTable::prefetch_index four
// packets ahead, prefetch_flow three ahead), 0 = without. Both variants
// prefetch the burst's frames and metadata first, as the worker's mbuf
// prefetch does, so the hints are the only difference. At 1k flows the
// table is in L2; at 1M (256 MB of Flows) every lookup leaves the caches.
void BM_FlowLookupBurst(benchmark::State& state) {
    constexpr uint32_t kBurst = 32;
    const bool hints = state.range(1) != 0;
    const FilledTable ft(state);
    if (!ft.table) return;
    const Frames& fr = ft.fr;
    uint64_t now = 1;
    for (uint32_t k = 0; auto _ : state) {
        if (k + kBurst > ft.n) k = 0;
        const uint32_t* ids = &fr.order[k];
        k += kBurst;
        for (uint32_t j = 0; j < kBurst; j++) {
            __builtin_prefetch(fr.frame(ids[j]));
            __builtin_prefetch(&fr.meta[ids[j]]);
        }
        for (int j = -4; j < static_cast<int>(kBurst); j++) {
            if (hints) {
                if (j + 4 < static_cast<int>(kBurst)) ft.table->prefetch_index(fr.meta[ids[j + 4]].flow_hash);
                if (j + 3 >= 0 && j + 3 < static_cast<int>(kBurst)) ft.table->prefetch_flow(fr.meta[ids[j + 3]].flow_hash);
            }
            if (j < 0) continue;
            now += 200;  // 5 Mpps, as in BM_FlowLookup
            const Lookup l = ft.table->lookup_or_create(fr.frame(ids[j]), fr.meta[ids[j]], now);
            benchmark::DoNotOptimize(l.flow);
        }
    }
    if (ft.table->counters().created.get() != ft.n) state.SkipWithError("a lookup created a flow");
    state.SetItemsProcessed(state.iterations() * kBurst);
}
BENCHMARK(BM_FlowLookupBurst)->ArgsProduct({{1000, 100'000, 1'000'000}, {0, 1}});

void count_bytes(void* ctx, Flow&, Direction, const StreamChunk& c) noexcept {
    *static_cast<uint64_t*>(ctx) += c.bytes.size();
}

// arg 0: segment payload bytes; arg 1: 0 in order, 1 pairwise swapped.
void BM_TcpReassembly(benchmark::State& state) {
    const auto seg_len = static_cast<uint32_t>(state.range(0));
    const bool swapped = state.range(1) != 0;
    FlowConfig cfg;
    cfg.capacity = 16;
    cfg.segment_pool_bytes = 1u << 20;
    auto t = FlowTable::create(cfg);
    if (!t) {
        state.SkipWithError(t.error().to_string().c_str());
        return;
    }
    FlowTable& table = **t;
    const test::Pkt syn = test::tcp({{198, 18, 0, 10}, 40000}, {{198, 18, 0, 20}, 80}, 0xfff00000u, 0, kTcpSyn);
    Flow& f = *table.lookup_or_create(syn.frame.data(), syn.meta, 1).flow;
    uint64_t got = 0;
    const Sink sink{&count_bytes, &got};
    TcpSegment seg;
    seg.flags = kTcpSyn;
    seg.seq = 0xfff00000u;
    table.tcp_segment(f, Direction::kToServer, seg, 1, sink);
    std::vector<uint8_t> payload(seg_len, 'x');
    seg.flags = kTcpAck | kTcpPsh;
    seg.payload = payload;
    uint32_t next = 0xfff00001u;  // wraps during the run
    for (auto _ : state) {
        if (swapped) {  // second segment first, then the one that fills the hole
            seg.seq = next + seg_len;
            table.tcp_segment(f, Direction::kToServer, seg, 2, sink);
            seg.seq = next;
            table.tcp_segment(f, Direction::kToServer, seg, 2, sink);
            next += 2 * seg_len;
        } else {
            seg.seq = next;
            table.tcp_segment(f, Direction::kToServer, seg, 2, sink);
            next += seg_len;
        }
        benchmark::DoNotOptimize(got);
    }
    const uint64_t per_iter = swapped ? 2 * seg_len : seg_len;
    if (got != per_iter * state.iterations() || table.counters().gaps.get() != 0)
        state.SkipWithError("stream not delivered whole");
    state.SetBytesProcessed(static_cast<int64_t>(per_iter * state.iterations()));
    state.SetItemsProcessed(state.iterations() * (swapped ? 2 : 1));
}
BENCHMARK(BM_TcpReassembly)->ArgsProduct({{64, 512, 1460}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
