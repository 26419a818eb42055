// DetectStage gives a TCP direction's stream (window + Hyperscan state) back
// as soon as no more bytes can come in it — its FIN delivered, or the
// connection reset — instead of when the flow times out, and nothing it
// could still have matched is lost.
#include <catch2/catch.hpp>

#include "flow/tcp.hpp"
#include "tests/detect/detect_fixture.hpp"
#include "tests/runtime/stage_fixture.hpp"

using namespace vtap;
using detect::test::C;

namespace {

const test::Ep kCli{{198, 18, 0, 1}, 40000};
const test::Ep kSrv{{198, 18, 0, 2}, 80};
constexpr uint8_t kAck = flow::kTcpAck, kPsh = flow::kTcpPsh, kFin = flow::kTcpFin,
                  kRst = flow::kTcpRst;

uint64_t live(test::StageFixture& fx) { return fx.stat("detect.streams_opened") - fx.stat("detect.streams_closed"); }

}  // namespace

TEST_CASE("DetectStage releases a direction's stream once its FIN is delivered, after scanning the FIN's bytes",
          "[eal][runtime][stream]") {
    // A signature split across the last data segment and the FIN segment.
    test::StageFixture fx("release_fin", {detect::test::rule(1, {C("EVILPAYLOAD")})});
    fx.handshake(kCli, kSrv);
    fx.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "GET EVIL"));
    fx.run(test::tcp(kSrv, kCli, 501, 109, kPsh | kAck, "HTTP/1.0 200"));
    CHECK(live(fx) == 2);
    fx.run(test::tcp(kCli, kSrv, 109, 513, kPsh | kAck | kFin, "PAYLOAD"));
    CHECK(fx.drain()[1].first == 1);  // matched on the FIN's bytes
    CHECK(live(fx) == 1);             // the client's stream is gone, the server's is not
    // A retransmission of the client's bytes opens nothing again.
    fx.run(test::tcp(kCli, kSrv, 101, 513, kPsh | kAck, "GET EVIL"));
    CHECK(fx.stat("detect.streams_opened") == 2);
    fx.run(test::tcp(kSrv, kCli, 513, 117, kAck | kFin));
    CHECK(live(fx) == 0);
    CHECK(fx.stat("flow.active") == 1);  // the flow itself stays until it times out
}

TEST_CASE("DetectStage keeps a stream whose FIN came ahead of missing bytes, and releases it once they arrive",
          "[eal][runtime][stream]") {
    test::StageFixture fx("release_fin_hole", {detect::test::rule(1, {C("EVILPAYLOAD")})});
    fx.handshake(kCli, kSrv);
    fx.run(test::tcp(kCli, kSrv, 105, 501, kPsh | kAck | kFin, "PAYLOAD"));  // bytes 101..104 missing
    fx.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "EVIL"));
    CHECK(fx.drain()[1].first == 1);
    CHECK(live(fx) == 0);
    CHECK(fx.stat("detect.streams_closed") == 1);
}

TEST_CASE("DetectStage releases both streams when the connection is reset", "[eal][runtime][stream]") {
    test::StageFixture fx("release_rst", {detect::test::rule(1, {C("EVILPAYLOAD")})});
    fx.handshake(kCli, kSrv);
    fx.run(test::tcp(kCli, kSrv, 101, 501, kPsh | kAck, "hello"));
    fx.run(test::tcp(kSrv, kCli, 501, 106, kPsh | kAck, "world"));
    CHECK(live(fx) == 2);
    fx.run(test::tcp(kSrv, kCli, 506, 106, kRst | kAck));
    CHECK(live(fx) == 0);
    CHECK(fx.drain().empty());
}
