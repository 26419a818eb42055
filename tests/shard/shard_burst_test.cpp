// hash_burst and shard_burst over real mbufs from a real mempool and real
// rte_rings, under the EAL (--no-huge --in-memory, see tests/support/eal_main.cpp).
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "shard/arrival.hpp"
#include "shard/shard.hpp"
#include "tests/shard/frame_builder.hpp"

using namespace vtap;
using namespace vtap::shard;
using vtap::test::Tuple;

namespace {

int g_name_seq = 0;
std::string unique_name(const char* stem) { return stem + std::to_string(g_name_seq++); }

struct Pool {
    static constexpr unsigned kSize = 1023;
    rte_mempool* mp = rte_pktmbuf_pool_create(unique_name("shard_t").c_str(), kSize, 32, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    Pool() { REQUIRE(mp != nullptr); }
    ~Pool() { rte_mempool_free(mp); }
    unsigned available() const { return rte_mempool_avail_count(mp); }
};

struct Rings {
    ShardTargets targets;
    Rings(uint16_t n_workers, unsigned size) {
        targets.n_workers = n_workers;
        for (uint16_t w = 0; w < n_workers; w++) {
            targets.rings[w] = rte_ring_create(unique_name("shard_r").c_str(), size, SOCKET_ID_ANY,
                                               RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
            REQUIRE(targets.rings[w] != nullptr);
        }
    }
    ~Rings() {
        for (rte_ring* r : targets.rings) rte_ring_free(r);
    }
    // Everything worker w's ring holds, in ring order.
    std::vector<rte_mbuf*> drain(uint16_t w) {
        std::vector<rte_mbuf*> out;
        void* obj;
        while (rte_ring_sc_dequeue(targets.rings[w], &obj) == 0) out.push_back(static_cast<rte_mbuf*>(obj));
        return out;
    }
};

rte_mbuf* make_packet(rte_mempool* mp, const Tuple& t) {
    uint8_t frame[test::kMaxTestFrame];
    PktMeta meta;
    const size_t len = test::build_frame(t, frame, meta);
    rte_mbuf* m = rte_pktmbuf_alloc(mp);
    REQUIRE(m != nullptr);
    char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(len));
    REQUIRE(data != nullptr);
    std::memcpy(data, frame, len);
    pkt_meta(m) = meta;
    return m;
}

// The tag build_frame writes as the first payload bytes (Tuple::seq).
uint32_t seq_of(const rte_mbuf* m) {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*) + pkt_meta(m).payload_off - 16;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Flow i of a deterministic mix: IPv4 TCP mostly, some UDP, IPv6, ICMP, VLANs.
Tuple conversation(uint32_t i) {
    Tuple t;
    const uint8_t kind = static_cast<uint8_t>(i % 8);
    t.family = kind == 6 ? L3Type::kIpv6 : L3Type::kIpv4;
    t.proto = kind == 5 ? IPPROTO_UDP : kind == 7 ? IPPROTO_ICMP : IPPROTO_TCP;
    t.src.addr = {198, 18, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    t.dst.addr = {198, 19, 0, static_cast<uint8_t>(1 + i % 5)};
    if (t.family == L3Type::kIpv6) {
        t.src.addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        t.dst.addr = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(1 + i % 5)};
    }
    t.src.port = static_cast<uint16_t>(32768 + i * 7);
    t.dst.port = kind == 5 ? 53 : 443;
    if (kind == 3) t.vlan[0] = 100;
    return t;
}

void hash_and_shard(std::vector<rte_mbuf*>& pkts, const ShardTargets& t, RxCounters& ctr, uint16_t burst) {
    for (size_t at = 0; at < pkts.size(); at += burst) {
        const uint16_t n = static_cast<uint16_t>(std::min<size_t>(burst, pkts.size() - at));
        hash_burst(pkts.data() + at, n);
        shard_burst(pkts.data() + at, n, t, ctr);
    }
}

}  // namespace

TEST_CASE("hash_burst sets every packet's flow hash to the flow_hash of its frame", "[shard][eal]") {
    Pool pool;
    std::vector<rte_mbuf*> pkts;
    for (uint32_t i = 0; i < 53; i++) pkts.push_back(make_packet(pool.mp, conversation(i)));  // not a multiple of the prefetch depth
    hash_burst(pkts.data(), static_cast<uint16_t>(pkts.size()));
    std::set<uint32_t> distinct;
    for (rte_mbuf* m : pkts) {
        REQUIRE(pkt_meta(m).flow_hash == flow_hash(rte_pktmbuf_mtod(m, const uint8_t*), pkt_meta(m)));
        distinct.insert(pkt_meta(m).flow_hash);
    }
    REQUIRE(distinct.size() == pkts.size());
    rte_pktmbuf_free_bulk(pkts.data(), static_cast<unsigned>(pkts.size()));
    REQUIRE(pool.available() == Pool::kSize);
}

TEST_CASE("both directions of every conversation land on one worker", "[shard][eal]") {
    Pool pool;
    Rings rings(4, 1024);
    RxCounters ctr;
    // 150 conversations, 3 packets each way, interleaved; the reverse
    // direction comes from another tap source and VNI. seq = conversation << 8 | packet.
    std::vector<rte_mbuf*> pkts;
    for (uint32_t round = 0; round < 3; round++)
        for (uint32_t c = 0; c < 150; c++) {
            Tuple fwd = conversation(c);
            fwd.seq = c << 8 | round * 2;
            Tuple rev = test::reversed(fwd);
            rev.seq = fwd.seq + 1;
            pkts.push_back(make_packet(pool.mp, fwd));
            rte_mbuf* back = make_packet(pool.mp, rev);
            pkt_meta(back).tap_src = 0xc6120002;
            pkt_meta(back).vni = 99;
            pkts.push_back(back);
        }
    hash_and_shard(pkts, rings.targets, ctr, 32);
    REQUIRE(ctr.delivered.get() == 900);
    REQUIRE(ctr.drop(DropReason::kRingFull).get() == 0);

    std::map<uint32_t, std::set<uint16_t>> workers_of;  // conversation -> workers that saw it
    std::map<uint32_t, int> packets_of;
    size_t busy_workers = 0;
    for (uint16_t w = 0; w < 4; w++) {
        auto got = rings.drain(w);
        busy_workers += !got.empty();
        for (rte_mbuf* m : got) {
            workers_of[seq_of(m) >> 8].insert(w);
            packets_of[seq_of(m) >> 8]++;
        }
        rte_pktmbuf_free_bulk(got.data(), static_cast<unsigned>(got.size()));
    }
    REQUIRE(workers_of.size() == 150);
    for (const auto& [c, ws] : workers_of) {
        CAPTURE(c);
        REQUIRE(ws.size() == 1);
        REQUIRE(packets_of[c] == 6);
    }
    REQUIRE(busy_workers == 4);
    REQUIRE(pool.available() == Pool::kSize);
}

TEST_CASE("a full worker ring costs shard.ring_full exactly and the refused mbufs return to the pool",
          "[shard][eal]") {
    Pool pool;
    constexpr unsigned kRingSlots = 4;
    Rings rings(2, kRingSlots);
    REQUIRE(rte_ring_get_capacity(rings.targets.rings[0]) == kRingSlots);
    RxCounters ctr;

    std::vector<rte_mbuf*> burst;
    for (uint32_t i = 0; i < 32; i++) {
        Tuple t = conversation(i);
        t.seq = i;
        burst.push_back(make_packet(pool.mp, t));
    }
    hash_burst(burst.data(), 32);
    // What each worker should get: its first kRingSlots packets, in burst order.
    std::vector<uint32_t> expect[2];
    for (rte_mbuf* m : burst) {
        auto& e = expect[worker_of(pkt_meta(m).flow_hash, 2)];
        if (e.size() < kRingSlots) e.push_back(seq_of(m));
    }
    const uint64_t expect_sent = expect[0].size() + expect[1].size();
    REQUIRE(expect_sent == 2 * kRingSlots);  // both workers got more than fit

    REQUIRE(shard_burst(burst.data(), 32, rings.targets, ctr) == expect_sent);
    REQUIRE(ctr.delivered.get() == expect_sent);
    REQUIRE(ctr.drop(DropReason::kRingFull).get() == 32 - expect_sent);
    REQUIRE(ctr.drops_total() == 32 - expect_sent);
    REQUIRE(pool.available() == Pool::kSize - expect_sent);

    // A second burst finds both rings full: every packet is refused.
    std::vector<rte_mbuf*> more;
    for (uint32_t i = 0; i < 10; i++) more.push_back(make_packet(pool.mp, conversation(i)));
    hash_burst(more.data(), 10);
    REQUIRE(shard_burst(more.data(), 10, rings.targets, ctr) == 0);
    REQUIRE(ctr.delivered.get() + ctr.drop(DropReason::kRingFull).get() == 42);
    REQUIRE(ctr.drop(DropReason::kRingFull).get() == 42 - expect_sent);

    for (uint16_t w = 0; w < 2; w++) {
        auto got = rings.drain(w);
        std::vector<uint32_t> seqs;
        for (rte_mbuf* m : got) seqs.push_back(seq_of(m));
        REQUIRE(seqs == expect[w]);
        rte_pktmbuf_free_bulk(got.data(), static_cast<unsigned>(got.size()));
    }
    REQUIRE(pool.available() == Pool::kSize);
}

TEST_CASE("shard_burst keeps every worker's packets in burst order, across bursts longer than kMaxBurst",
          "[shard][eal]") {
    const uint16_t n_workers = GENERATE(uint16_t{1}, uint16_t{3}, kMaxWorkers);
    CAPTURE(n_workers);
    Pool pool;
    Rings rings(n_workers, 512);
    RxCounters ctr;
    constexpr uint16_t kPackets = 200;
    std::vector<rte_mbuf*> pkts;
    for (uint32_t i = 0; i < kPackets; i++) {
        Tuple t = conversation(i % 40);  // 40 flows, 5 packets each, interleaved
        t.seq = i;
        pkts.push_back(make_packet(pool.mp, t));
    }
    hash_burst(pkts.data(), kPackets);
    std::vector<std::vector<uint32_t>> expect(n_workers);
    for (rte_mbuf* m : pkts) expect[worker_of(pkt_meta(m).flow_hash, n_workers)].push_back(seq_of(m));

    REQUIRE(shard_burst(pkts.data(), kPackets, rings.targets, ctr) == kPackets);
    REQUIRE(ctr.delivered.get() == kPackets);
    for (uint16_t w = 0; w < n_workers; w++) {
        auto got = rings.drain(w);
        std::vector<uint32_t> seqs;
        for (rte_mbuf* m : got) seqs.push_back(seq_of(m));
        REQUIRE(seqs == expect[w]);
        rte_pktmbuf_free_bulk(got.data(), static_cast<unsigned>(got.size()));
    }
    REQUIRE(pool.available() == Pool::kSize);
}

TEST_CASE("arrival numbers survive shard_burst, rise within every worker's ring and keep the RX lcore",
          "[shard][eal]") {
    Pool pool;
    Rings rings(3, 512);
    RxCounters ctr;
    constexpr uint16_t kPackets = 100;
    std::vector<rte_mbuf*> pkts;
    for (uint32_t i = 0; i < kPackets; i++) {
        Tuple t = conversation(i % 20);
        t.seq = i;
        rte_mbuf* m = make_packet(pool.mp, t);
        m->hash.rss = 0xdeadbeef;  // what a NIC left there
        m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
        pkts.push_back(m);
    }
    hash_burst(pkts.data(), kPackets);
    // Near the top of the 56 bits a number keeps.
    const uint64_t first = (uint64_t{1} << 56) - 1000;
    uint64_t next = first;
    stamp_arrivals(pkts.data(), kPackets, 201, next);
    REQUIRE(next == first + kPackets);
    REQUIRE(shard_burst(pkts.data(), kPackets, rings.targets, ctr) == kPackets);
    std::set<uint64_t> seen;
    for (uint16_t w = 0; w < 3; w++) {
        auto got = rings.drain(w);
        uint64_t last = 0;
        for (rte_mbuf* m : got) {
            const Arrival a = arrival_of(m);
            CHECK(a.rx == 201);
            CHECK(a.seq == first + seq_of(m));  // packet i got number first + i
            CHECK(a.seq > last);
            CHECK((m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) == 0);
            last = a.seq;
            seen.insert(a.seq);
        }
        rte_pktmbuf_free_bulk(got.data(), static_cast<unsigned>(got.size()));
    }
    CHECK(seen.size() == kPackets);
}

TEST_CASE("shard_burst frees and counts packets that have no worker ring to go to", "[shard][eal]") {
    Pool pool;
    RxCounters ctr;
    std::vector<rte_mbuf*> pkts;
    for (uint32_t i = 0; i < 40; i++) pkts.push_back(make_packet(pool.mp, conversation(i)));
    hash_burst(pkts.data(), 40);

    SECTION("no workers at all") {
        ShardTargets none;
        REQUIRE(shard_burst(pkts.data(), 40, none, ctr) == 0);
        REQUIRE(ctr.drop(DropReason::kRingFull).get() == 40);
        REQUIRE(ctr.delivered.get() == 0);
    }
    SECTION("one of two workers has no ring") {
        Rings rings(1, 64);
        rings.targets.n_workers = 2;  // rings[1] stays nullptr
        uint64_t to_second = 0;
        for (rte_mbuf* m : pkts) to_second += worker_of(pkt_meta(m).flow_hash, 2) == 1;
        REQUIRE(to_second > 0);
        REQUIRE(shard_burst(pkts.data(), 40, rings.targets, ctr) == 40 - to_second);
        REQUIRE(ctr.drop(DropReason::kRingFull).get() == to_second);
        auto got = rings.drain(0);
        REQUIRE(got.size() == 40 - to_second);
        rte_pktmbuf_free_bulk(got.data(), static_cast<unsigned>(got.size()));
    }
    REQUIRE(pool.available() == Pool::kSize);
}
