// vtap-gen's output checked by the receiver: vtapd reads the generated
// capture and must count every frame, byte and conversation vtap-gen
// reports, and alert exactly once per planted frame (a generated packet rule
// over DNS payloads, one tap, so each planted frame is scanned once).
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <string>

#include "support/process.hpp"

using namespace vtap::test;

namespace {

const std::string kVtapd = env_or("VTAPD", "apps/vtapd/vtapd");
const std::string kGen = env_or("VTAP_GEN", "apps/vtap-gen/vtap-gen");
const std::string kSource = env_or("VTAP_SOURCE_ROOT", "..");

unsigned count_sid(const std::string& text, unsigned sid) {
    std::regex re("\"signature_id\":" + std::to_string(sid) + "\\b");
    return static_cast<unsigned>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

}  // namespace

TEST_CASE("vtapd counts every frame, byte and flow vtap-gen wrote and alerts once per planted frame",
          "[integration][gen]") {
    TempDir dir;
    const std::string sig = "vtap-gen-planted-hit";
    auto g = run_cmd(kGen + " --out " + dir / "g.pcap" + " --summary-json " + dir / "g.json" +
                     " --flows 300 --seed 3 --size fixed:400 --mix 1,1,1,1 --ipv6-share 0.1 --tap-src 198.18.0.10" +
                     " --plant " + sig + " --plant-in dns --plant-rate 0.3");
    INFO(g.text);
    REQUIRE(g.status == 0);
    auto gen = read_stats(dir / "g.json");
    REQUIRE(gen["sent"] > 2000);
    REQUIRE(gen["planted"] > 10);
    REQUIRE(gen["flows"] == 300);

    std::ofstream(dir / "r.rules") << "alert udp any any -> any 53 (msg:\"vtap-gen planted\"; content:\"" << sig
                                   << "\"; sid:9100001; rev:1;)\n";
    auto v = run_cmd(kVtapd + " --pcap " + dir / "g.pcap" + " --rules " + dir / "r.rules" +
                     " --workers 2 --stats-file " + dir / "s.json" + " -- --file-prefix=vtapgen" + std::to_string(getpid()));
    INFO(v.text);
    REQUIRE(v.status == 0);
    auto s = read_stats(dir / "s.json");
    CHECK(s["rx.packets"] == gen["sent"]);
    CHECK(s["rx.bytes"] == gen["bytes"]);
    CHECK(s["decap.delivered"] == gen["sent"]);
    CHECK(s["drops.total"] == 0);
    CHECK(s["worker.flows"] == gen["flows"]);
    CHECK(s["flow.created"] == gen["flows"]);
    // Memory for sizing: the tables exist, and streams still open cannot
    // outnumber two per active flow (a wrapped counter would).
    CHECK(s["flow.memory_bytes"] > 0);
    CHECK(s["detect.streams_active"] <= 2 * s["flow.active"]);
    CHECK(s["detect.stream_memory_bytes"] >= s["detect.streams_active"]);
    CHECK(s["alert.generated"] == gen["planted"]);
    CHECK(count_sid(v.text, 9100001) == gen["planted"]);
}

TEST_CASE("vtapd alerts on vtap-gen's HTTP plants with the demo rules, never more often than planted",
          "[integration][gen]") {
    TempDir dir;
    auto g = run_cmd(kGen + " --out " + dir / "h.pcap" + " --summary-json " + dir / "h.json" +
                     " --flows 300 --seed 4 --size fixed:590 --tap-src 198.18.0.10 --plant vtapd-demo-signature" +
                     " --plant-in http --plant-rate 0.2");
    INFO(g.text);
    REQUIRE(g.status == 0);
    auto gen = read_stats(dir / "h.json");
    REQUIRE(gen["planted"] > 10);
    auto v = run_cmd(kVtapd + " --pcap " + dir / "h.pcap" + " --rules " + kSource + "/conf/rules/demo.rules" +
                     " --workers 1 --stats-file " + dir / "s.json" + " -- --file-prefix=vtapgenh" + std::to_string(getpid()));
    INFO(v.text);
    REQUIRE(v.status == 0);
    auto s = read_stats(dir / "s.json");
    CHECK(s["rx.packets"] == gen["sent"]);
    CHECK(s["worker.flows"] == gen["flows"]);
    // A stream rule fires once per reassembled chunk that holds the
    // signature; a request split over segments can hold two plants.
    const unsigned hits = count_sid(v.text, 9000001);
    CHECK(hits > 0);
    CHECK(hits <= gen["planted"]);
}
