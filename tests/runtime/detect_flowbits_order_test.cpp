// DetectStage: a TCP packet's flowbit readers are confirmed after the stream
// chunks the packet released, so a packet-level reader sees the bit a stream
// rule set on the same packet (Suricata runs all of a packet's setters,
// packet or stream rules, before its readers).
#include <catch2/catch.hpp>

#include "flow/tcp.hpp"
#include "tests/detect/detect_fixture.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;
using Cmd = rules::Flowbit::Cmd;

namespace {

const test::Ep kCli{{198, 18, 0, 1}, 40000};
const test::Ep kSrv{{198, 18, 0, 2}, 80};
constexpr uint8_t kAck = flow::kTcpAck, kPsh = flow::kTcpPsh;

// sid 1: a stream rule that sets "auth" quietly on "LOGIN";
// sid 2: a packet-level reader (dsize, no content) of "auth".
std::vector<rules::Rule> setter_and_reader() {
    rules::Rule setter = detect::test::rule(1, {detect::test::C("LOGIN")});
    setter.flowbits.push_back({Cmd::kSet, {"auth"}, false});
    setter.noalert = true;
    rules::Rule reader = detect::test::rule(2);
    reader.flowbits.push_back({Cmd::kIsSet, {"auth"}, false});
    reader.dsize = rules::NumCheck{rules::CmpOp::kGreater, 0, 0};
    return {setter, reader};
}

}  // namespace

TEST_CASE("DetectStage: a packet-level flowbit reader sees what the same packet's stream match set",
          "[eal][runtime][flowbits]") {
    test::StageFixture fx("fb_order", setter_and_reader());
    fx.handshake(kCli, kSrv);
    CHECK(fx.drain().empty());

    fx.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "LOGIN bob"));
    CHECK(fx.stat("detect.stream_scans") == 1);  // the setter matched on the stream
    auto first = fx.drain();
    CHECK(first[2].first == 1);                  // and the reader on the same packet
    CHECK(first[2].second == "LOGIN bob");
    CHECK(first.count(1) == 0);                  // noalert

    fx.run(test::tcp(kCli, kSrv, 110, 501, kPsh | kAck, "more"));
    auto second = fx.drain();
    CHECK(second[2].first == 1);                 // the bit stays set
    CHECK(fx.stat("detect.readers_not_kept") == 0);
}

TEST_CASE("DetectStage: without the setter's content the reader stays silent", "[eal][runtime][flowbits]") {
    test::StageFixture fx("fb_order_none", setter_and_reader());
    fx.handshake(kCli, kSrv);
    fx.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "HELLO bob"));
    fx.run(test::tcp(kCli, kSrv, 110, 501, kPsh | kAck, "more"));
    CHECK(fx.drain().empty());
    CHECK(fx.stat("detect.stream_scans") == 2);
}
