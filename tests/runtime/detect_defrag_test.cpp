// DetectStage with real mbufs: a signature split across two IPv4 (or IPv6)
// fragments fires exactly once, on the reassembled datagram, whose payload
// the alert carries; the datagram joins the flow of the same 5-tuple's unfragmented
// packets; lone fragments are not scanned.
#include <catch2/catch.hpp>

#include "tests/detect/detect_fixture.hpp"
#include "tests/flow/frag_frames.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;

namespace {

const test::Ep kCli{{10, 0, 0, 1}, 40000};
const test::Ep kSrv{{10, 0, 0, 2}, 53};

// sid 1: the split signature (UDP); sid 2: an IP-only rule, which sees
// every scanned packet.
struct Fixture : test::StageFixture {
    Fixture()
        : StageFixture("defrag_stage", {detect::test::rule(1, {detect::test::C("SPLITSIG")}, rules::Proto::kUdp),
                                        detect::test::rule(2, {}, rules::Proto::kIp)}) {}
};

// After the second of two fragments: the split signature (sid 1) and the
// IP-only rule (sid 2) fired once each, on the whole payload, in the flow
// the unfragmented packet opened, and nothing was counted invalid.
void check_fired_once_on_datagram(Fixture& fx, const std::string& payload) {
    auto got = fx.drain();
    CHECK(got[1].first == 1);
    CHECK(got[1].second == payload);
    CHECK(got[2].first == 1);
    CHECK(got.size() == 2);
    CHECK(fx.wctr.flows.get() == 1);
    CHECK(fx.stat("defrag.fragments") == 2);
    CHECK(fx.stat("defrag.reassembled") == 1);
    CHECK(fx.stat("defrag.invalid") == 0);
}

}  // namespace

TEST_CASE("DetectStage: a signature split across two IPv4 fragments fires once, on the datagram",
          "[eal][runtime][defrag]") {
    Fixture fx;
    const std::string payload = "header.....SPLITSIG..trailer";
    const test::Pkt whole = test::udp(kCli, kSrv, payload);  // IP payload: 8 + 28 bytes
    // An unfragmented packet of the same 5-tuple first: the datagram must
    // land in its flow, though the fragments hashed on addresses only.
    fx.run(test::udp(kCli, kSrv, "hello"));
    auto first = fx.drain();
    CHECK(first[2].first == 1);
    CHECK(first.count(1) == 0);

    // "SPLIT" ends fragment one (bytes 0..24: UDP header + "header.....SPLIT").
    const test::Pkt f1 = test::frag(whole, 0, 24, true);
    const test::Pkt f2 = test::frag(whole, 24, 12, false);
    REQUIRE(std::string(f1.frame.end() - 5, f1.frame.end()) == "SPLIT");
    fx.run(f2);  // out of order
    CHECK(fx.drain().empty());  // a lone fragment is not scanned, not even by the IP rule
    fx.run(f1);
    check_fired_once_on_datagram(fx, payload);

    // A duplicate of the last fragment starts a datagram that never
    // completes: no alert, and it times out on the idle sweep.
    fx.run(f2);
    CHECK(fx.drain().empty());
    CHECK(fx.stat("defrag.reassembled") == 1);
}

TEST_CASE("DetectStage: the same fragments without their datagram complete fire nothing",
          "[eal][runtime][defrag]") {
    Fixture fx;
    const test::Pkt whole = test::udp(kCli, kSrv, "header.....SPLITSIG..trailer");
    fx.run(test::frag(whole, 0, 24, true));
    fx.run(test::frag(whole, 24, 12, true));  // MF still set: the end is unknown
    CHECK(fx.drain().empty());
    CHECK(fx.stat("defrag.fragments") == 2);
    CHECK(fx.stat("defrag.reassembled") == 0);
}

TEST_CASE("DetectStage: a signature split across two IPv6 fragments fires once, on the reassembled packet",
          "[eal][runtime][defrag]") {
    Fixture fx;
    const std::string payload = "header.....SPLITSIG..trailer";
    const test::Pkt whole = test::udp6(kCli, kSrv, payload);  // fragmentable part: 8 + 28 bytes
    fx.run(test::udp6(kCli, kSrv, "hello"));  // the reassembled packet must land in this flow
    auto first = fx.drain();
    CHECK(first[2].first == 1);
    CHECK(first.count(1) == 0);

    // "SPLIT" ends fragment one (bytes 0..24: UDP header + "header.....SPLIT");
    // the first fragment also carries a hop-by-hop header.
    const test::Pkt f1 = test::frag6(whole, 0, 24, true, 0xabcd0001, 27, true);
    const test::Pkt f2 = test::frag6(whole, 24, 12, false, 0xabcd0001);
    REQUIRE(std::string(f1.frame.end() - 5, f1.frame.end()) == "SPLIT");
    fx.run(f1);
    CHECK(fx.drain().empty());  // a lone fragment is not scanned, not even by the IP rule
    fx.run(f2);
    check_fired_once_on_datagram(fx, payload);

    // The fragments again under another identification: one more alert,
    // and a lone duplicate fragment fires nothing.
    fx.run(test::frag6(whole, 24, 12, false, 0xabcd0002));
    CHECK(fx.drain().empty());
    fx.run(test::frag6(whole, 0, 24, true, 0xabcd0002));
    CHECK(fx.drain()[1].first == 1);
    CHECK(fx.stat("defrag.reassembled") == 2);
}
