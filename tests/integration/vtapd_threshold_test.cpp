// vtapd end to end: threshold and detection_filter count a source across
// every worker, as Suricata counts it. One scanner opens 40 connections to
// port 22 from 40 source ports; the flow hash spreads them over the two
// workers, so a per-worker count would let `limit` through twice, fire
// `threshold` and `both` late and keep `detection_filter` silent too long.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "flow/tcp.hpp"
#include "support/frames.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"
#include "tests/flow/flow_frames.hpp"

using namespace vtap;
using namespace vtap::test;

static constexpr unsigned kScans = 40;

TEST_CASE("vtapd counts threshold and detection_filter per source across all workers",
          "[integration][detect][threshold]") {
    const unsigned workers = GENERATE(1u, 2u);
    INFO("workers " << workers);
    TempDir dir;
    const Ep srv{{198, 18, 0, 2}, 22};
    std::vector<std::vector<uint8_t>> frames;
    for (uint16_t i = 0; i < kScans; i++)
        frames.push_back(vtap_frame(tcp(Ep{{198, 18, 0, 1}, static_cast<uint16_t>(50000 + i)}, srv, 1000, 0,
                                        flow::kTcpSyn).frame));
    write_pcap(dir / "scan.pcap", frames);  // 1 ms apart: one 60 s window
    std::ofstream(dir / "scan.rules")
        << "alert tcp any any -> any 22 (msg:\"limit 2\"; flags:S; threshold:type limit,track by_src,count 2,seconds 60; sid:9300001; rev:1;)\n"
           "alert tcp any any -> any 22 (msg:\"every 10th\"; flags:S; threshold:type threshold,track by_src,count 10,seconds 60; sid:9300002; rev:1;)\n"
           "alert tcp any any -> any 22 (msg:\"once at 7\"; flags:S; threshold:type both,track by_src,count 7,seconds 60; sid:9300003; rev:1;)\n"
           "alert tcp any any -> any 22 (msg:\"after 5\"; flags:S; detection_filter:track by_src,count 5,seconds 60; sid:9300004; rev:1;)\n"
           "alert tcp any any -> any 22 (msg:\"every syn\"; flags:S; sid:9300005; rev:1;)\n";

    auto run = run_vtapd_detect(dir, "scan", dir / "scan.pcap", workers);
    INFO(run.output);
    REQUIRE(run.status == 0);
    auto& s = run.stats;
    REQUIRE(s["decap.delivered"] == kScans);
    if (workers == 2) {  // the scan really is split between the workers
        CHECK(s["worker0.packets"] > 0);
        CHECK(s["worker1.packets"] > 0);
    }
    const std::string& eve = run.eve;
    CHECK(eve_count_sid(eve, 9300005) == kScans);
    CHECK(eve_count_sid(eve, 9300001) == 2);
    CHECK(eve_count_sid(eve, 9300002) == kScans / 10);
    CHECK(eve_count_sid(eve, 9300003) == 1);
    CHECK(eve_count_sid(eve, 9300004) == kScans - 5);
    CHECK(s["detect.threshold_suppressed"] == 4 * kScans - (2 + kScans / 10 + 1 + kScans - 5));
}
