// vtapd's health endpoint from outside: 200 while it keeps up with its input
// (a net_null port: endless junk, all dropped by decap, none of it lost), and
// 503 naming the drop ratio when a net_pcap port replays VTAP traffic faster
// than a detecting worker behind a 64-slot ring can take it.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
using namespace std::chrono_literals;

namespace {

const std::string kVtapPcap = env_or("VTAP_PCAP", "apps/vtap-pcap/vtap-pcap");

// The port vtapd printed ("vtapd: health endpoint on 127.0.0.1:PORT").
std::string health_url(Background& vtapd) {
    const bool running = vtapd.wait_for_output("vtapd: running", 30s);
    INFO(vtapd.output());
    REQUIRE(running);
    static const std::regex re(R"(health endpoint on (127\.0\.0\.1:\d+))");
    std::smatch m;
    const std::string out = vtapd.output();
    REQUIRE(std::regex_search(out, m, re));
    return "http://" + m[1].str() + "/health";
}

}  // namespace

TEST_CASE("vtapd's health endpoint answers 200 while vtapd keeps up with its input", "[integration][health]") {
    TempDir dir;
    VtapdConfig vc;
    vc.prefix = eal_prefix("health_ok");
    vc.ports = "  - driver: \"null\"\n";
    vc.extra = "health:\n  listen: 127.0.0.1:0\n  stall_ms: 1000\n";
    const std::string cfg = write_vtapd_config(dir / "vtapd.yaml", vc), stats = dir / "stats.json";
    Background vtapd({vtapd_path(), "-c", cfg, "--stats-file", stats}, dir / "vtapd.log");
    const std::string url = health_url(vtapd);
    INFO(vtapd.output());
    std::this_thread::sleep_for(1500ms);  // longer than stall_ms: a stalled lane would show
    const Output r = run_cmd("curl -s -m 3 -w ' %{http_code}' " + url);
    INFO(r.text);
    CHECK(r.text.starts_with("{\"status\":\"ok\",\"drop_ratio\":0.000000}"));
    CHECK(r.text.ends_with(" 200"));
    REQUIRE(vtapd.stop(SIGTERM) == 0);
    const auto s = read_stats(stats);
    CHECK(s.at("rx.packets") > 0);
    CHECK(s.at("health.ok") == 1);
    CHECK(s.at("health.requests") == 1);
}

TEST_CASE("vtapd's health endpoint answers 503 with the drop ratio when workers cannot keep up", "[integration][health]") {
    TempDir dir;
    const std::string capture = dir / "vtap.pcap";
    const Output gen = run_cmd(kVtapPcap + " synth --out " + capture + " --flows 200 --seed 3 --size imix");
    INFO(gen.text);
    REQUIRE(gen.status == 0);
    VtapdConfig vc;
    vc.prefix = eal_prefix("health_drop");
    vc.ports = pcap_port_yaml(capture, true);  // replayed from memory, as fast as RX can take it
    vc.ring_size = 64;
    vc.extra = "detect:\n  rule_files: [\"" + env_or("VTAP_SOURCE_ROOT", ".") + "/conf/rules/demo.rules\"]\n" +
               "alerts:\n  eve: \"\"\nhealth:\n  listen: 127.0.0.1:0\n  max_drop_ratio: 0.01\n";
    const std::string cfg = write_vtapd_config(dir / "vtapd.yaml", vc), stats = dir / "stats.json";
    Background vtapd({vtapd_path(), "-c", cfg, "--stats-file", stats}, dir / "vtapd.log");
    const std::string url = health_url(vtapd);
    INFO(vtapd.output());
    std::this_thread::sleep_for(1s);
    const Output r = run_cmd("curl -s -m 3 -w ' %{http_code}' " + url);
    INFO(r.text);
    CHECK(r.text.starts_with("{\"status\":\"unhealthy\""));
    CHECK(r.text.find("\"reason\":\"drop ratio ") != std::string::npos);
    CHECK(r.text.ends_with(" 503"));
    REQUIRE(vtapd.stop(SIGTERM) == 0);
    const auto s = read_stats(stats);
    CHECK(s.at("shard.ring_full") > 0);
    CHECK(s.at("health.ok") == 0);
}
