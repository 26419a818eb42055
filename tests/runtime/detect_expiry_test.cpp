// DetectStage times idle flows out while it is busy, not only when its ring
// runs dry: a saturated worker must not keep dead flows and their streams
// until the full table evicts them.
#include <catch2/catch.hpp>

#include "tests/detect/detect_fixture.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;

TEST_CASE("DetectStage expires idle flows between bursts without going idle", "[eal][runtime][flow]") {
    test::StageFixture fx("expiry_busy", {detect::test::rule(1, {detect::test::C("EVIL")})}, 0, /*capture_time=*/true);
    constexpr uint64_t kSec = 1'000'000'000;
    auto burst_at = [&](const test::Pkt& p, uint64_t ts_ns) {
        rte_mbuf* m = fx.mbuf(p, {}, ts_ns);
        fx.stage->on_burst(&m, 1, fx.wctr);
        rte_pktmbuf_free(m);
    };
    const test::Pkt a = test::udp({{198, 18, 0, 1}, 40000}, {{198, 18, 0, 2}, 53}, "query a");
    const test::Pkt b = test::udp({{198, 18, 0, 1}, 40001}, {{198, 18, 0, 2}, 53}, "query b");
    burst_at(a, 1000 * kSec);
    burst_at(b, 1100 * kSec);
    CHECK(fx.stat("flow.timed_out") == 0);  // a idle 100 s: UDP times out after 120 s
    burst_at(b, 1121 * kSec);                 // a idle 121 s; on_idle never ran
    CHECK(fx.stat("flow.timed_out") == 1);
    CHECK(fx.stat("flow.active") == 1);
}

TEST_CASE("DetectStage on capture time does not feed the wall clock to its flow table while idle before the first packet",
          "[eal][runtime][flow]") {
    test::StageFixture fx("expiry_idle_first", {detect::test::rule(1, {detect::test::C("EVIL")})}, 0,
                          /*capture_time=*/true);
    fx.idle();  // no packet yet: the capture's clock has not started
    const test::Pkt a = test::udp({{198, 18, 0, 1}, 40000}, {{198, 18, 0, 2}, 53}, "query a");
    rte_mbuf* m = fx.mbuf(a, {}, 1'000'000'000'000ull);  // 1970 + 1,000 s: years behind the wall clock
    fx.stage->on_burst(&m, 1, fx.wctr);
    rte_pktmbuf_free(m);
    fx.idle();
    CHECK(fx.stat("flow.clock_steps_back") == 0);
    CHECK(fx.stat("flow.active") == 1);
}
