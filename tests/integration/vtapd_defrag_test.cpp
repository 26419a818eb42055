// vtapd end to end with two workers on fragmented inner traffic: a TCP
// signature split between a fragmented segment and the next whole one fires
// once per connection. shard sends fragments by address pair and whole
// packets by 5-tuple, so for some of the connections the datagram is put
// together on the other worker and must be handed to its flow's worker.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <string>

#include "flow/tcp.hpp"
#include "support/frames.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"
#include "tests/flow/frag_frames.hpp"

using namespace vtap;
using namespace vtap::test;

namespace {

constexpr uint8_t kSyn = flow::kTcpSyn, kAck = flow::kTcpAck, kPsh = flow::kTcpPsh;
constexpr unsigned kConnections = 16;

}  // namespace

TEST_CASE("vtapd with two workers: a signature split by a fragmented TCP segment fires once per connection",
          "[integration][detect][defrag]") {
    // Two RX lcores (a port each, a connection's packets on one of them)
    // number their packets apart: a datagram waits for its own RX lcore's
    // earlier packets only.
    const unsigned rx_lcores = GENERATE(1u, 2u);
    CAPTURE(rx_lcores);
    TempDir dir;
    const Ep srv{{198, 18, 0, 2}, 80};
    std::vector<std::vector<uint8_t>> frames;
    std::vector<std::vector<uint8_t>> files[2];
    uint16_t i = 0;
    auto add = [&](const Pkt& p) {
        frames.push_back(vtap_frame(p.frame));
        files[rx_lcores == 2 ? i % 2 : 0].push_back(frames.back());
    };
    for (i = 0; i < kConnections; i++) {
        const Ep cli{{198, 18, 0, 1}, static_cast<uint16_t>(41000 + i)};
        add(tcp(cli, srv, 100, 0, kSyn));
        add(tcp(srv, cli, 500, 101, kSyn | kAck));
        add(tcp(cli, srv, 101, 501, kAck));
        // Sixteen bytes ending in "STREAM", in two fragments (the first
        // carries the TCP header and 4 bytes), then "SIG..." whole.
        const Pkt seg1 = tcp(cli, srv, 101, 501, kPsh | kAck, "0123456789STREAM");
        add(frag(seg1, 0, 24, true, static_cast<uint16_t>(100 + i)));
        add(frag(seg1, 24, 12, false, static_cast<uint16_t>(100 + i)));
        add(tcp(cli, srv, 117, 501, kPsh | kAck, "SIG and the rest"));
    }
    std::vector<std::string> pcaps;
    for (unsigned f = 0; f < rx_lcores; f++) {
        pcaps.push_back(dir / ("frag" + std::to_string(f) + ".pcap"));
        write_pcap(pcaps.back(), files[f]);
    }
    std::ofstream(dir / "split.rules")
        << "alert tcp any any -> any 80 (msg:\"split by a fragment\"; flow:established,to_server; "
           "content:\"STREAMSIG\"; sid:9100001; rev:1;)\n";

    auto run = run_vtapd_detect(dir, "split", pcaps, 2, rx_lcores);
    INFO(run.output);
    REQUIRE(run.status == 0);
    auto& s = run.stats;

    CHECK(s["decap.delivered"] == frames.size());
    CHECK(s["rx" + std::to_string(rx_lcores - 1) + ".packets"] == frames.size() / rx_lcores);
    CHECK(s["defrag.reassembled"] == kConnections);
    // The address pair is the same for every connection, so its fragments
    // all meet on one worker; the 5-tuples spread over both.
    CHECK(s["defrag.handed_off"] > 0);
    CHECK(s["defrag.handed_off"] < kConnections);
    CHECK(s["defrag.handoff_received"] == s["defrag.handed_off"]);
    CHECK(s["defrag.handoff_dropped"] == 0);
    CHECK(s["worker.flows"] == kConnections);
    CHECK(s["worker0.flows"] > 0);
    CHECK(s["worker1.flows"] > 0);
    CHECK(s["flow.gaps"] == 0);
    CHECK(eve_count_sid(run.eve, 9100001) == kConnections);
    CHECK(s["alert.generated"] == kConnections);
}
