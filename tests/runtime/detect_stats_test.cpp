// DetectStage's stats carry every scanner counter (ScanCounters::visit), so
// a counted loss such as an evicted pending anchor is visible to operators.
#include <catch2/catch.hpp>

#include "flow/tcp.hpp"
#include "tests/detect/detect_fixture.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;
using detect::test::C;

TEST_CASE("DetectStage exports every scanner counter, an evicted pending anchor included", "[eal][runtime]") {
    // Nine rules whose anchors all match one segment and whose '&' has not
    // come yet: nine pending, a stream keeps eight (kMaxPending).
    std::vector<rules::Rule> rs;
    std::string payload;
    for (uint32_t i = 1; i <= 9; ++i) {
        const std::string anchor = "anchor-" + std::to_string(i) + "=";
        rs.push_back(detect::test::rule(i, {C(anchor), C("&").distance(0), C("NEVER-IN-THIS-TEST").negated()}));
        payload += anchor + "x ";
    }
    test::StageFixture fx("stats_export", rs);
    const test::Ep cli{{198, 18, 0, 1}, 40000}, srv{{198, 18, 0, 2}, 80};
    fx.handshake(cli, srv);
    fx.run(test::tcp(cli, srv, 101, 501, flow::kTcpAck | flow::kTcpPsh, payload));
    CHECK(fx.drain().empty());
    CHECK(fx.stat("detect.pending_evicted") == 1);
    CHECK(fx.stat("detect.streams_opened") == 1);
    CHECK(fx.stat("detect.stream_open_failed") == 0);
    CHECK(fx.stat("detect.chunk_too_big") == 0);
    CHECK(fx.stat("detect.header_passed") >= 9);
    // Every counter the scanner keeps is in the list, under its own name.
    runtime::StatList list;
    fx.stage->append_stats("", list);
    unsigned found = 0, fields = 0;
    fx.stage->scan_counters().visit([&](const char* name, uint64_t v) {
        ++fields;
        for (const auto& [k, x] : list)
            if (k == name && x == v) ++found;
    });
    // visit() names every field: a counter added without it fails here.
    CHECK(fields * sizeof(uint64_t) == sizeof(detect::ScanCounters));
    CHECK(found == fields);
}
