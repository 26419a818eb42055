// DetectStage with two workers and a real DefragHandoff (EAL pool and
// rings): a datagram reassembled on the worker its fragments hashed to
// (addresses only) is processed on the worker its 5-tuple hashes to, in the
// flow that worker already tracks, so a TCP signature split between a
// fragmented segment and the next unfragmented one fires. A full handoff is
// counted, and what is still in an inbox when the workers stop is processed.
// The receiver runs a datagram in arrival order among its own packets, even
// when those are still in its ring, or not yet enqueued, when the datagram
// reaches its inbox.
#include <array>

#include <catch2/catch.hpp>
#include <rte_ring.h>

#include "flow/tcp.hpp"
#include "runtime/defrag_handoff.hpp"
#include "shard/shard.hpp"
#include "tests/detect/detect_fixture.hpp"
#include "tests/flow/frag_frames.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;

namespace {

constexpr uint8_t kSyn = flow::kTcpSyn, kAck = flow::kTcpAck, kPsh = flow::kTcpPsh;
const test::Ep kSrv{{198, 18, 0, 2}, 80};

uint16_t worker_of(const test::Pkt& p) { return shard::worker_of(p.meta.flow_hash, 2); }

// A client port whose 5-tuple lands on the other worker than the address
// pair its fragments hash to: the case the handoff exists for.
test::Ep client_split_from_fragments(uint8_t proto) {
    const test::Ep base{{198, 18, 0, 1}, 40000};
    const test::Pkt whole = proto == IPPROTO_TCP ? test::tcp(base, kSrv, 1, 1, kAck, "0123456789abcdef")
                                                 : test::udp(base, kSrv, "0123456789abcdef");
    const uint16_t frag_worker = worker_of(test::frag(whole, 0, 16, true));
    for (uint16_t port = 40000; port < 40100; port++) {
        test::Ep c = base;
        c.port = port;
        const test::Pkt p = proto == IPPROTO_TCP ? test::tcp(c, kSrv, 1, 1, kAck) : test::udp(c, kSrv);
        if (worker_of(p) != frag_worker) return c;
    }
    FAIL("no port in 40000..40099 hashes away from the fragments' worker");
    return base;
}

// Two DetectStages wired as the pipeline wires them: real worker rings that
// a stand-in RX lcore (numbering its packets, shard_burst, the watermark)
// fills, and a one-round worker loop, so a test decides exactly what each
// side has seen when.
struct TwoWorkers {
    std::array<rte_ring*, 2> rings{};
    std::unique_ptr<runtime::DefragHandoff> handoff;
    std::unique_ptr<test::StageFixture> w[2];
    uint64_t next_arrival = 0;  // RX lcore 0's numbering
    RxCounters rx_ctr;
    bool capture_time;

    // `capture_time`: packets carry capture timestamps 10 us apart from
    // 2023-11-14, as net_pcap delivers a file.
    TwoWorkers(const std::string& name, const std::vector<rules::Rule>& rules, bool capture_time = false)
        : capture_time(capture_time) {
        for (uint16_t i = 0; i < 2; i++) {
            rings[i] = rte_ring_create((name + "_ring" + std::to_string(i)).c_str(), 512, SOCKET_ID_ANY,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
            REQUIRE(rings[i] != nullptr);
        }
        auto h = runtime::DefragHandoff::create(rings, SOCKET_ID_ANY);
        REQUIRE(h.has_value());
        handoff = std::move(*h);
        for (uint16_t i = 0; i < 2; i++) {
            w[i] = std::make_unique<test::StageFixture>(name + std::to_string(i), rules, i, capture_time);
            w[i]->stage->connect_handoff(handoff.get());
        }
    }
    ~TwoWorkers() {
        for (rte_ring* r : rings) {
            void* m;
            while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        }
        for (auto& f : w) f.reset();  // the stages before the pool their inboxes use
        handoff.reset();
        for (rte_ring* r : rings) rte_ring_free(r);
    }
    // Where shard would send it.
    uint16_t index(const test::Pkt& p) const { return worker_of(p); }
    test::StageFixture& on(const test::Pkt& p) { return *w[worker_of(p)]; }

    // RX, in steps: number a burst, enqueue one worker's share of it, publish
    // the watermark. RX's real order is number, shard_burst (worker by
    // worker), publish; a test can stop between any two.
    struct Arrived {
        test::Pkt pkt;
        shard::Arrival arrival;
        uint64_t ts_ns;
    };
    using Numbered = std::vector<Arrived>;
    Numbered number(const std::vector<test::Pkt>& burst) {
        Numbered out;
        for (const auto& p : burst) {
            const uint64_t seq = next_arrival++;
            out.push_back({p, {seq, 0}, capture_time ? 1'700'000'000'000'000'000 + seq * 10'000 : 0});
        }
        return out;
    }
    void enqueue(const Numbered& burst, uint16_t worker) {
        std::vector<rte_mbuf*> mine;
        for (const auto& [p, a, ts] : burst)
            if (index(p) == worker) mine.push_back(w[worker]->mbuf(p, a, ts));
        shard::ShardTargets t;
        t.n_workers = 2;
        t.rings = {rings[0], rings[1]};
        REQUIRE(shard::shard_burst(mine.data(), static_cast<uint16_t>(mine.size()), t, rx_ctr) == mine.size());
    }
    void publish() { handoff->rx_watermark(0).store(next_arrival, std::memory_order_release); }
    void deliver(const std::vector<test::Pkt>& burst) {
        const Numbered b = number(burst);
        enqueue(b, 0);
        enqueue(b, 1);
        publish();
    }

    // One round of worker_lcore_main: a burst, or on_idle on an empty ring.
    unsigned work(uint16_t worker) {
        rte_mbuf* pkts[32];
        const unsigned n = rte_ring_dequeue_burst(rings[worker], reinterpret_cast<void**>(pkts), 32, nullptr);
        test::StageFixture& f = *w[worker];
        if (n == 0) {
            f.stage->on_idle(f.wctr);
            return 0;
        }
        f.stage->on_burst(pkts, static_cast<uint16_t>(n), f.wctr);
        rte_pktmbuf_free_bulk(pkts, n);
        return n;
    }
    // Both workers until their rings are empty, then one idle round each.
    void settle() {
        while (work(0) + work(1) != 0) {
        }
    }
};

}  // namespace

TEST_CASE("DetectStage handoff: a UDP datagram reassembled on one worker is scanned in its flow on the other",
          "[eal][runtime][defrag][handoff]") {
    TwoWorkers ws("handoff_udp", {detect::test::rule(1, {detect::test::C("SPLITSIG")}, rules::Proto::kUdp),
                                  detect::test::rule(2, {}, rules::Proto::kIp)});
    const test::Ep cli = client_split_from_fragments(IPPROTO_UDP);
    const std::string payload = "header.....SPLITSIG..trailer";
    const test::Pkt whole = test::udp(cli, kSrv, payload);
    const test::Pkt f1 = test::frag(whole, 0, 24, true);
    const test::Pkt f2 = test::frag(whole, 24, 12, false);
    const uint16_t owner = ws.index(whole), assembler = ws.index(f1);
    REQUIRE(owner != assembler);
    REQUIRE(ws.index(f2) == assembler);
    test::StageFixture& o = *ws.w[owner];
    test::StageFixture& a = *ws.w[assembler];

    ws.deliver({test::udp(cli, kSrv, "hello")});
    ws.settle();
    CHECK(o.drain()[2].first == 1);
    ws.deliver({f1, f2});
    ws.work(assembler);
    CHECK(a.stat("defrag.reassembled") == 1);
    CHECK(a.stat("defrag.handed_off") == 1);
    CHECK(a.drain().empty());       // not scanned where it was reassembled
    CHECK(a.wctr.flows.get() == 0);  // nor a flow opened there

    ws.work(owner);  // idle: everything before the fragment is done
    auto got = o.drain();
    CHECK(got[1].first == 1);
    CHECK(got[1].second == payload);
    CHECK(got[2].first == 1);
    CHECK(o.stat("defrag.handoff_received") == 1);
    CHECK(o.wctr.flows.get() == 1);  // the flow the unfragmented packet opened
    CHECK(o.stat("defrag.handoff_dropped") + a.stat("defrag.handoff_dropped") == 0);
}

namespace {

// The client's handshake, its segment one (seq 101, 16 bytes ending in
// "STREAM") as two fragments, and segment two (seq 117) starting with "SIG".
struct SplitSignature {
    test::Ep cli = client_split_from_fragments(IPPROTO_TCP);
    std::vector<test::Pkt> handshake{test::tcp(cli, kSrv, 100, 0, kSyn), test::tcp(kSrv, cli, 500, 101, kSyn | kAck),
                                     test::tcp(cli, kSrv, 101, 501, kAck)};
    test::Pkt seg1 = test::tcp(cli, kSrv, 101, 501, kPsh | kAck, "0123456789STREAM");
    test::Pkt f1 = test::frag(seg1, 0, 24, true);  // TCP header + 4 bytes
    test::Pkt f2 = test::frag(seg1, 24, 12, false);
    test::Pkt seg2 = test::tcp(cli, kSrv, 117, 501, kPsh | kAck, "SIG and the rest");

    // One RX burst: the handshake, then segment one's fragments.
    std::vector<test::Pkt> handshake_then_fragments() const {
        std::vector<test::Pkt> burst = handshake;
        burst.push_back(f1);
        burst.push_back(f2);
        return burst;
    }
};

// What a single worker would report: one flow, one alert, no gap, and
// nothing on the assembler.
void check_one_alert_in_one_flow(TwoWorkers& ws, uint16_t owner, uint16_t assembler) {
    test::StageFixture& o = *ws.w[owner];
    test::StageFixture& a = *ws.w[assembler];
    CHECK(o.drain()[7].first == 1);
    CHECK(o.stat("defrag.handoff_received") == 1);
    CHECK(o.stat("flow.gaps") == 0);
    CHECK(o.wctr.flows.get() == 1);
    CHECK(a.stat("defrag.handed_off") == 1);
    CHECK(a.drain().empty());
    CHECK(a.wctr.flows.get() == 0);
    CHECK(ws.handoff->held(owner) == 0);
}

// Two workers, the split-signature connection, and which worker is which.
struct SplitCase {
    TwoWorkers ws;
    SplitSignature c;
    uint16_t owner = ws.index(c.seg2);
    uint16_t assembler = ws.index(c.f1);
    explicit SplitCase(const std::string& name, bool capture_time = false)
        : ws(name, {detect::test::rule(7, {detect::test::C("STREAMSIG")})}, capture_time) {
        REQUIRE(owner != assembler);
    }
};

}  // namespace

TEST_CASE("DetectStage handoff: a TCP signature split between a fragmented segment and the next one fires",
          "[eal][runtime][defrag][handoff]") {
    SplitCase t("handoff_tcp");
    auto& [ws, c, owner, assembler] = t;
    ws.deliver(c.handshake);
    ws.settle();
    ws.deliver({c.f2, c.f1});
    ws.work(assembler);
    CHECK(ws.w[assembler]->stat("defrag.handed_off") == 1);
    ws.deliver({c.seg2});  // the datagram runs before it: it arrived first
    ws.work(owner);
    check_one_alert_in_one_flow(ws, owner, assembler);
}

TEST_CASE("DetectStage handoff: a datagram waits for the receiver's earlier packets still in its ring",
          "[eal][runtime][defrag][handoff]") {
    SplitCase t("handoff_ring");
    auto& [ws, c, owner, assembler] = t;
    // The assembler is faster; the owner has not dequeued the handshake
    // when the datagram lands in its inbox.
    ws.deliver(c.handshake_then_fragments());
    ws.work(assembler);
    REQUIRE(ws.w[assembler]->stat("defrag.handed_off") == 1);

    ws.work(owner);  // the handshake, and the datagram stays held
    CHECK(ws.w[owner]->stat("defrag.handoff_received") == 0);
    CHECK(ws.handoff->held(owner) == 1);
    ws.work(owner);  // idle, ring empty, fragment delivered: its turn
    CHECK(ws.w[owner]->stat("defrag.handoff_received") == 1);
    ws.deliver({c.seg2});
    ws.settle();
    check_one_alert_in_one_flow(ws, owner, assembler);
}

TEST_CASE("DetectStage handoff: a datagram waits for the receiver's earlier packets RX has not enqueued yet",
          "[eal][runtime][defrag][handoff]") {
    SplitCase t("handoff_rx");
    auto& [ws, c, owner, assembler] = t;
    // RX enqueues a burst worker by worker: the fragments reach the
    // assembler while the handshake before them is not in the owner's ring.
    const TwoWorkers::Numbered b = ws.number(c.handshake_then_fragments());
    ws.enqueue(b, assembler);
    ws.work(assembler);
    REQUIRE(ws.w[assembler]->stat("defrag.handed_off") == 1);
    ws.work(owner);  // idle on an empty ring, but RX has not published the burst
    CHECK(ws.w[owner]->stat("defrag.handoff_received") == 0);
    CHECK(ws.handoff->held(owner) == 1);

    ws.enqueue(b, owner);
    ws.publish();
    ws.deliver({c.seg2});
    ws.work(owner);  // handshake, then the datagram, then segment two
    CHECK(ws.w[owner]->stat("defrag.handoff_received") == 1);
    ws.settle();
    check_one_alert_in_one_flow(ws, owner, assembler);
}

TEST_CASE("DetectStage handoff: on capture time, a datagram that opens its flow on the receiver keeps that clock",
          "[eal][runtime][defrag][handoff]") {
    // Mid-stream: the fragmented segment is the first the owner sees of the
    // connection. Its flow is opened at capture time (2023); the owner's
    // idle expiry must run on that clock too, not on the wall clock, which
    // would time the flow out at once and lose its stream (seen with
    // vtapd_defrag: 8 of 16 alerts, 8 flows timed out).
    SplitCase t("handoff_clock", true);
    auto& [ws, c, owner, assembler] = t;
    ws.deliver({c.f1, c.f2});
    ws.work(assembler);
    ws.work(owner);  // idle: the datagram runs, then expiry
    CHECK(ws.w[owner]->stat("defrag.handoff_received") == 1);
    CHECK(ws.w[owner]->stat("flow.timed_out") == 0);
    ws.deliver({c.seg2});
    ws.settle();
    test::StageFixture& o = *ws.w[owner];
    CHECK(o.drain()[7].first == 1);
    CHECK(o.wctr.flows.get() == 1);
    CHECK(o.stat("flow.midstream_pickups") == 1);
    CHECK(ws.w[assembler]->wctr.flows.get() == 0);
}

TEST_CASE("DetectStage handoff: more datagrams than items are counted, and a stopped worker processes its inbox",
          "[eal][runtime][defrag][handoff]") {
    TwoWorkers ws("handoff_full", {detect::test::rule(1, {detect::test::C("SPLITSIG")}, rules::Proto::kUdp)});
    const test::Ep cli = client_split_from_fragments(IPPROTO_UDP);
    const test::Pkt whole = test::udp(cli, kSrv, "header.....SPLITSIG..trailer");
    test::StageFixture& owner = ws.on(whole);
    const uint16_t assembler = ws.index(test::frag(whole, 0, 24, true));
    test::StageFixture& a = *ws.w[assembler];
    // Every item of both pools (the owner never polls; a small datagram
    // takes a large item once the small ones are gone), then one more.
    const unsigned items = (runtime::DefragHandoff::kPerWorker + runtime::DefragHandoff::kLargePerWorker) * 2;
    for (unsigned id = 1; id <= items + 1; id++) {
        ws.deliver({test::frag(whole, 0, 24, true, static_cast<uint16_t>(id)),
                    test::frag(whole, 24, 12, false, static_cast<uint16_t>(id))});
        ws.work(assembler);
    }
    CHECK(a.stat("defrag.reassembled") == items + 1);
    CHECK(a.stat("defrag.handed_off") == items);
    CHECK(a.stat("defrag.handoff_dropped") == 1);

    // At shutdown each stopped stage takes what is left, a batch per call;
    // the alert queue holds 64, so drain between calls as the pipeline
    // does: every handed datagram fires once.
    unsigned fired = 0, calls = 0;
    for (bool more = true; more && calls < 64; calls++) {
        more = owner.stage->on_stopped(owner.wctr);
        fired += owner.drain()[1].first;
    }
    CHECK(calls == (items + 31) / 32);
    CHECK(owner.stat("defrag.handoff_received") == items);
    CHECK(fired == items);
    CHECK(owner.stat("alert.generated") == items);
    CHECK(owner.alerts.counters().producer.dropped.get() == 0);
}

TEST_CASE("DetectStage handoff: a datagram too big for a small item travels in a large one, and is counted when "
          "none is free", "[eal][runtime][defrag][handoff]") {
    TwoWorkers ws("handoff_big", {detect::test::rule(1, {detect::test::C("SPLITSIG")}, rules::Proto::kUdp)});
    const test::Ep cli = client_split_from_fragments(IPPROTO_UDP);
    std::string payload(12000, '.');
    payload.replace(6000, 8, "SPLITSIG");
    const test::Pkt big = test::udp(cli, kSrv, payload);
    REQUIRE(big.frame.size() > runtime::DefragHandoff::kSmallFrame);
    const test::Pkt small = test::udp(cli, kSrv, "header.....SPLITSIG..trailer");
    const uint16_t owner = ws.index(big), assembler = ws.index(test::frag(big, 0, 1480, true));
    REQUIRE(owner != assembler);
    // 1,480-byte fragments of the 12,008-byte IP payload.
    auto fragments = [](const test::Pkt& whole, uint16_t id) {
        const uint32_t total = static_cast<uint32_t>(whole.frame.size()) - 34;
        std::vector<test::Pkt> out;
        for (uint32_t off = 0; off < total; off += 1480)
            out.push_back(test::frag(whole, off, std::min<uint32_t>(1480, total - off), off + 1480 < total, id));
        return out;
    };
    test::StageFixture& a = *ws.w[assembler];
    const unsigned large = runtime::DefragHandoff::kLargePerWorker * 2;
    for (unsigned id = 1; id <= large + 1; id++) {
        ws.deliver(fragments(big, static_cast<uint16_t>(id)));
        ws.work(assembler);
    }
    CHECK(a.stat("defrag.reassembled") == large + 1);
    CHECK(a.stat("defrag.handed_off") == large);
    CHECK(a.stat("defrag.handoff_dropped") == 1);
    // The small items are still free.
    ws.deliver({test::frag(small, 0, 24, true, 500), test::frag(small, 24, 12, false, 500)});
    ws.work(assembler);
    CHECK(a.stat("defrag.handed_off") == large + 1);

    ws.settle();
    test::StageFixture& o = *ws.w[owner];
    CHECK(o.drain()[1].first == large + 1);
    CHECK(o.stat("defrag.handoff_received") == large + 1);
    CHECK(ws.handoff->held(owner) == 0);
}
