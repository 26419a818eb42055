// DetectStage with two workers and a real DefragHandoff (EAL pool and
// rings): a datagram reassembled on the worker its fragments hashed to
// (addresses only) is processed on the worker its 5-tuple hashes to, in the
// flow that worker already tracks, so a TCP signature split between a
// fragmented segment and the next unfragmented one fires. A full handoff is
// counted, and what is still in an inbox when the workers stop is processed.
#include <catch2/catch.hpp>

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

struct TwoWorkers {
    std::unique_ptr<runtime::DefragHandoff> handoff;
    std::unique_ptr<test::StageFixture> w[2];

    TwoWorkers(const std::string& name, const std::vector<rules::Rule>& rules) {
        auto h = runtime::DefragHandoff::create(2, SOCKET_ID_ANY);
        REQUIRE(h.has_value());
        handoff = std::move(*h);
        for (uint16_t i = 0; i < 2; i++) {
            w[i] = std::make_unique<test::StageFixture>(name + std::to_string(i), rules, i);
            w[i]->stage->connect_handoff(handoff.get());
        }
    }
    ~TwoWorkers() {
        for (auto& f : w) f.reset();  // the stages before the pool their inboxes use
    }
    // Where shard would send it.
    test::StageFixture& on(const test::Pkt& p) { return *w[worker_of(p)]; }
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
    test::StageFixture& owner = ws.on(whole);
    test::StageFixture& assembler = ws.on(f1);
    REQUIRE(&owner != &assembler);
    REQUIRE(&ws.on(f2) == &assembler);

    owner.run(test::udp(cli, kSrv, "hello"));
    CHECK(owner.drain()[2].first == 1);
    assembler.run(f1);
    assembler.run(f2);
    CHECK(assembler.stat("defrag.reassembled") == 1);
    CHECK(assembler.stat("defrag.handed_off") == 1);
    CHECK(assembler.drain().empty());       // not scanned where it was reassembled
    CHECK(assembler.wctr.flows.get() == 0);  // nor a flow opened there

    owner.idle();
    auto got = owner.drain();
    CHECK(got[1].first == 1);
    CHECK(got[1].second == payload);
    CHECK(got[2].first == 1);
    CHECK(owner.stat("defrag.handoff_received") == 1);
    CHECK(owner.wctr.flows.get() == 1);  // the flow the unfragmented packet opened
    CHECK(owner.stat("defrag.handoff_dropped") + assembler.stat("defrag.handoff_dropped") == 0);
}

TEST_CASE("DetectStage handoff: a TCP signature split between a fragmented segment and the next one fires",
          "[eal][runtime][defrag][handoff]") {
    rules::Rule r = detect::test::rule(7, {detect::test::C("STREAMSIG")});
    TwoWorkers ws("handoff_tcp", {r});
    const test::Ep cli = client_split_from_fragments(IPPROTO_TCP);
    test::StageFixture& owner = ws.on(test::tcp(cli, kSrv, 100, 0, kSyn));
    owner.run(test::tcp(cli, kSrv, 100, 0, kSyn));
    owner.run(test::tcp(kSrv, cli, 500, 101, kSyn | kAck));
    owner.run(test::tcp(cli, kSrv, 101, 501, kAck));

    // Segment one (16 bytes, seq 101) ends in "STREAM" and arrives as two
    // fragments; segment two (seq 117) starts with "SIG" and is whole.
    const test::Pkt seg1 = test::tcp(cli, kSrv, 101, 501, kPsh | kAck, "0123456789STREAM");
    const test::Pkt f1 = test::frag(seg1, 0, 24, true);  // TCP header + 4 bytes
    const test::Pkt f2 = test::frag(seg1, 24, 12, false);
    test::StageFixture& assembler = ws.on(f1);
    REQUIRE(&owner != &assembler);
    assembler.run(f2);
    assembler.run(f1);
    CHECK(assembler.stat("defrag.handed_off") == 1);
    owner.run(test::tcp(cli, kSrv, 117, 501, kPsh | kAck, "SIG and the rest"));

    auto got = owner.drain();
    CHECK(got[7].first == 1);
    CHECK(owner.stat("defrag.handoff_received") == 1);
    CHECK(owner.stat("flow.gaps") == 0);
    CHECK(owner.wctr.flows.get() == 1);
    CHECK(assembler.drain().empty());
    CHECK(assembler.wctr.flows.get() == 0);
}

TEST_CASE("DetectStage handoff: more datagrams than items are counted, and a stopped worker processes its inbox",
          "[eal][runtime][defrag][handoff]") {
    TwoWorkers ws("handoff_full", {detect::test::rule(1, {detect::test::C("SPLITSIG")}, rules::Proto::kUdp)});
    const test::Ep cli = client_split_from_fragments(IPPROTO_UDP);
    const test::Pkt whole = test::udp(cli, kSrv, "header.....SPLITSIG..trailer");
    test::StageFixture& owner = ws.on(whole);
    test::StageFixture& assembler = ws.on(test::frag(whole, 0, 24, true));
    // Every item of the pool (the owner never polls), then one more.
    const unsigned items = runtime::DefragHandoff::kPerWorker * 2;
    for (unsigned id = 1; id <= items + 1; id++) {
        assembler.run(test::frag(whole, 0, 24, true, static_cast<uint16_t>(id)));
        assembler.run(test::frag(whole, 24, 12, false, static_cast<uint16_t>(id)));
    }
    CHECK(assembler.stat("defrag.reassembled") == items + 1);
    CHECK(assembler.stat("defrag.handed_off") == items);
    CHECK(assembler.stat("defrag.handoff_dropped") == 1);

    // At shutdown each stopped stage takes what is left; the alert queue
    // holds 64, so stop, drain and repeat: every handed datagram fires once.
    unsigned fired = 0;
    for (int round = 0; round < 16 && owner.stat("defrag.handoff_received") < items; round++) {
        owner.stage->on_stopped(owner.wctr);
        fired += owner.drain()[1].first;
    }
    CHECK(owner.stat("defrag.handoff_received") == items);
    CHECK(fired == items);
    CHECK(owner.stat("alert.generated") == items);
}
