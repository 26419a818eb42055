// vtap-gen's sender against a net_ring port built here: the frames that come
// out of the port's TX ring are exactly the stored ones, in order, repeated to
// the requested count; refused frames are counted; pacing holds the rate down.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "loadgen/source.hpp"
#include "loadgen/tx.hpp"

using namespace vtap;
using namespace vtap::loadgen;

namespace {

struct RingPort {
    rte_ring* rx = nullptr;
    rte_ring* tx = nullptr;
    uint16_t port = 0;
    rte_mempool* pool = nullptr;

    RingPort(const std::string& name, unsigned tx_size, unsigned mbufs) {
        rx = rte_ring_create((name + "r").c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx = rte_ring_create((name + "t").c_str(), tx_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
        REQUIRE((rx && tx));
        int p = rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, SOCKET_ID_ANY);
        REQUIRE(p >= 0);
        port = static_cast<uint16_t>(p);
        pool = rte_pktmbuf_pool_create((name + "p").c_str(), mbufs, 0, 0, 2048 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
        REQUIRE(pool != nullptr);
        rte_eth_conf conf{};
        REQUIRE(rte_eth_dev_configure(port, 1, 1, &conf) == 0);
        REQUIRE(rte_eth_rx_queue_setup(port, 0, 64, SOCKET_ID_ANY, nullptr, pool) == 0);
        REQUIRE(rte_eth_tx_queue_setup(port, 0, 64, SOCKET_ID_ANY, nullptr) == 0);
        REQUIRE(rte_eth_dev_start(port) == 0);
    }
    ~RingPort() {
        drain([](rte_mbuf*) {});
        rte_eth_dev_stop(port);
        rte_eth_dev_close(port);
        rte_ring_free(rx);
        rte_ring_free(tx);
        rte_mempool_free(pool);
    }
    // Hands every frame in the TX ring to `f`, then frees it.
    template <class F>
    size_t drain(F f) {
        void* objs[64];
        size_t total = 0;
        while (unsigned n = rte_ring_dequeue_burst(tx, objs, 64, nullptr)) {
            for (unsigned i = 0; i < n; ++i) f(static_cast<rte_mbuf*>(objs[i]));
            rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), n);
            total += n;
        }
        return total;
    }
};

SourceConfig small_source() {
    SourceConfig src;
    src.synth = gen::SynthConfig{};
    src.synth->flows = 5;
    src.synth->seed = 11;
    src.synth->size = gen::SizeSpec{gen::SizeMode::kFixed, 300};
    src.synth->mix = gen::Mix{1, 0, 1, 0};
    src.synth->plant = "planted-by-the-tx-test";
    src.synth->plant_rate = 1;
    return src;
}

FrameStore store_of(const SourceConfig& src) {
    FrameStore s;
    auto n = produce(src, 0, [&](const GenFrame& f) -> Result<void> { return s.add(f), Result<void>{}; });
    REQUIRE(n);
    REQUIRE(*n == s.size());
    return s;
}

}  // namespace

TEST_CASE("sender repeats the stored frames, in order, to exactly the requested count", "[loadgen][eal]") {
    auto src = small_source();
    auto store = store_of(src);
    REQUIRE(store.size() > 10);
    uint64_t planted_per_pass = 0;
    for (size_t i = 0; i < store.size(); ++i) planted_per_pass += store.rec(i).planted;
    REQUIRE(planted_per_pass > 0);

    for (TxMode mode : {TxMode::kCopy, TxMode::kRefcnt}) {
        INFO("mode " << mode_name(mode));
        RingPort rp(std::string("lgtx") + std::string(mode_name(mode)), 4096, 4095);
        TxOptions o;
        o.port = rp.port;
        o.pool = rp.pool;
        o.count = 2 * store.size() + 7;
        o.mode = mode;
        auto st = send_store(store, o);
        REQUIRE(st);
        CHECK(st->offered == o.count);
        CHECK(st->sent == o.count);
        CHECK(st->rejected == 0);
        CHECK(st->flows == 5);
        size_t i = 0, mismatched = 0;
        uint64_t bytes = 0, planted = 0;
        rp.drain([&](rte_mbuf* m) {
            auto want = store.bytes(i % store.size());
            auto got = std::span<const uint8_t>(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
            mismatched += !std::equal(want.begin(), want.end(), got.begin(), got.end());
            planted += store.rec(i % store.size()).planted;
            bytes += m->pkt_len;
            ++i;
        });
        CHECK(i == o.count);
        CHECK(mismatched == 0);
        CHECK(st->bytes == bytes);
        CHECK(st->planted == planted);
        CHECK(st->planted >= 2 * planted_per_pass);
        // Every mbuf came back: the refcnt mode released its prebuilt ones.
        CHECK(rte_mempool_avail_count(rp.pool) == 4095);
    }
}

TEST_CASE("sender counts the frames a full port refuses and retries them when asked", "[loadgen][eal]") {
    auto src = small_source();
    auto store = store_of(src);
    RingPort rp("lgfull", 100, 2047);
    TxOptions o;
    o.port = rp.port;
    o.pool = rp.pool;
    o.count = 250;
    auto st = send_store(store, o);
    REQUIRE(st);
    CHECK(st->offered == 250);
    CHECK(st->sent == 100);
    CHECK(st->rejected == 150);
    CHECK(rp.drain([](rte_mbuf*) {}) == 100);
    CHECK(rte_mempool_avail_count(rp.pool) == 2047);
}

TEST_CASE("stream mode sends what the synthesizer makes, without storing it", "[loadgen][eal]") {
    auto src = small_source();
    auto store = store_of(src);
    RingPort rp("lgstream", 4096, 4095);
    TxOptions o;
    o.port = rp.port;
    o.pool = rp.pool;
    o.count = store.size() + 3;  // one pass and the start of a second
    o.mode = TxMode::kStream;
    auto st = send_stream(src, o);
    REQUIRE(st);
    CHECK(st->sent == o.count);
    size_t i = 0, mismatched = 0;
    rp.drain([&](rte_mbuf* m) {
        auto want = store.bytes(i++ % store.size());
        mismatched += !std::equal(want.begin(), want.end(), rte_pktmbuf_mtod(m, const uint8_t*),
                                  rte_pktmbuf_mtod(m, const uint8_t*) + m->data_len);
    });
    CHECK(i == o.count);
    CHECK(mismatched == 0);
}

TEST_CASE("sender holds a packet rate: 2,000 frames at 20,000 pps take about 0.1 s", "[loadgen][eal]") {
    auto src = small_source();
    auto store = store_of(src);
    RingPort rp("lgpace", 4096, 4095);
    TxOptions o;
    o.port = rp.port;
    o.pool = rp.pool;
    o.count = 2000;
    o.rate.pps = 20000;
    o.burst = 10;
    auto st = send_store(store, o);
    REQUIRE(st);
    CHECK(st->sent == 2000);
    // The last burst leaves at 1990/20000 s; a loaded machine may only be later.
    CHECK(st->seconds() >= 0.099);
    CHECK(st->seconds() < 5.0);
    rp.drain([](rte_mbuf*) {});
}
