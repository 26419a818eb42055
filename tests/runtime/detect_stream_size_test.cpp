// DetectStage: stream_size sees each direction's size as Suricata does after
// the packet (next_seq - isn: 1 for the SYN plus the bytes sent in order),
// so a packet's own in-order payload counts and an out-of-order one does not.
#include <catch2/catch.hpp>

#include "flow/tcp.hpp"
#include "tests/detect/detect_fixture.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;
using Side = rules::StreamSize::Side;
using rules::CmpOp;

namespace {

const test::Ep kCli{{198, 18, 0, 1}, 40000};
const test::Ep kSrv{{198, 18, 0, 2}, 80};
constexpr uint8_t kAck = flow::kTcpAck, kPsh = flow::kTcpPsh;

rules::StreamSize ss(Side side, CmpOp op, uint32_t n) { return {side, rules::NumCheck{op, n, 0}}; }

std::vector<rules::Rule> size_rules() {
    // sid 1: ET 2025008's shape, the server's first 9 bytes before the client said anything.
    rules::Rule hello = detect::test::rule(1, {detect::test::C("HELLO")});
    hello.stream_size = {ss(Side::kClient, CmpOp::kEq, 1), ss(Side::kServer, CmpOp::kEq, 10)};
    hello.dsize = rules::NumCheck{CmpOp::kEq, 9, 0};
    // sids 2, 3: the client's stream with this packet's 4 bytes is 5. Packet
    // rules (dsize), as ET 2035480, so an out-of-order segment is inspected.
    rules::Rule lt6 = detect::test::rule(2, {detect::test::C("MZ")});
    lt6.stream_size = {ss(Side::kClient, CmpOp::kLess, 6)};
    lt6.dsize = rules::NumCheck{CmpOp::kGreater, 0, 0};
    rules::Rule lt5 = lt6;
    lt5.sid = 3;
    lt5.stream_size = {ss(Side::kClient, CmpOp::kLess, 5)};
    return {hello, lt6, lt5};
}

}  // namespace

TEST_CASE("DetectStage: stream_size counts the SYN and the bytes sent in order, this packet's included",
          "[eal][runtime][stream_size]") {
    test::StageFixture fx("ssize", size_rules());
    fx.handshake(kCli, kSrv);
    CHECK(fx.drain().empty());
    fx.run(test::tcp(kSrv, kCli, 501, 101, kPsh | kAck, "HELLO1234"));  // server 1 + 9, client 1
    auto first = fx.drain();
    CHECK(first[1].first == 1);
    fx.run(test::tcp(kSrv, kCli, 510, 101, kPsh | kAck, "HELLO5678"));  // server 19
    CHECK(fx.drain().count(1) == 0);

    fx.run(test::tcp(kCli, kSrv, 101, 519, kPsh | kAck, "MZab"));  // client 1 + 4
    auto mz = fx.drain();
    CHECK(mz[2].first == 1);
    CHECK(mz.count(3) == 0);
}

TEST_CASE("DetectStage: stream_size does not count a segment that arrives ahead of a hole",
          "[eal][runtime][stream_size]") {
    test::StageFixture fx("ssize_ooo", size_rules());
    fx.handshake(kCli, kSrv);
    // Bytes 101..109 are missing: this segment is buffered, not in order, and
    // the client's size stays 1 (< 5: sid 3 fires on the packet).
    fx.run(test::tcp(kCli, kSrv, 110, 501, kPsh | kAck, "MZcdefgh"));
    auto ahead = fx.drain();
    CHECK(ahead[3].first == 1);
    CHECK(ahead[2].first == 1);
}

TEST_CASE("DetectStage: stream_size never matches a TCP flow picked up without a SYN when mid-stream is off",
          "[eal][runtime][stream_size]") {
    rules::Rule any_size = detect::test::rule(4, {detect::test::C("MZ")});
    any_size.stream_size = {ss(Side::kEither, CmpOp::kGreaterEq, 0)};
    test::StageFixture fx("ssize_untracked", {any_size}, 0, false, /*midstream=*/false);
    fx.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "MZab"));
    CHECK(fx.drain().empty());

    test::StageFixture tracked("ssize_tracked", {any_size});
    tracked.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "MZab"));
    CHECK(tracked.drain()[4].first == 1);
}
