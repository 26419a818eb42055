// vtapd end to end with two outputs at once: the demo capture and the demo
// rules, alerts to an EVE file and to a real rsyslogd over TCP. Both must
// hold the same alert lines, byte for byte, and the counters must say so.
// Exits 77 (skipped) without /usr/sbin/rsyslogd.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include "support/vtapd.hpp"
#include "tests/output/syslog_harness.hpp"

using namespace vtap::test;

namespace {

const std::string kSource = env_or("VTAP_SOURCE_ROOT", "..");
const std::string kDemo = env_or("VTAP_DEMO_PCAP", "apps/vtap-pcap/vtap-demo.pcap");

std::vector<std::string> sorted_lines(const std::string& path) {
    std::istringstream in(read_file_or_empty(path));
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) {
        l.erase(0, l.find_first_not_of(' '));
        out.push_back(l);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("vtapd sends the same alerts to an EVE file and over TCP to rsyslog, and counts them",
          "[integration][output][rsyslog]") {
    TempDir dir;
    const uint16_t port = free_port();
    RsyslogServer rs(dir, RsyslogInputs{.tcp_port = port});
    REQUIRE(rs.wait_ready());

    VtapdConfig c;
    c.prefix = eal_prefix("outputs");
    c.ports = pcap_port_yaml(kDemo);
    c.extra = "detect:\n"
              "  rule_files: ['" + kSource + "/conf/rules/demo.rules']\n"
              "  classification_file: '" + kSource + "/conf/rules/classification.config'\n"
              "  vars:\n    address:\n      HOME_NET: \"[198.18.0.0/16]\"\n      EXTERNAL_NET: \"!$HOME_NET\"\n"
              "alerts:\n  eve: " + dir / "eve.json" + "\n  flush_timeout_ms: 5000\n"
              "outputs:\n"
              "  - type: syslog\n    name: siem\n    transport: tcp\n    host: 127.0.0.1\n"
              "    port: " + std::to_string(port) + "\n    hostname: sensor-1\n    facility: local5\n";
    write_vtapd_config(dir / "vtapd.yaml", c);
    auto out = run_cmd(vtapd_path() + " -c " + dir / "vtapd.yaml" + " --stats-file " + dir / "s.json");
    INFO(out.text);
    REQUIRE(out.status == 0);
    auto s = read_stats(dir / "s.json");

    const size_t lines = count_lines(dir / "eve.json");
    REQUIRE(lines > 0);
    for (int i = 0; i < 1000 && count_lines(rs.msgs()) < lines; i++) sleep_ms(10);
    sleep_ms(100);
    rs.stop();
    CHECK(sorted_lines(rs.msgs()) == sorted_lines(dir / "eve.json"));
    CHECK(count_lines(rs.hdrs()) == lines);
    const auto sids = json_sids(VTAP_PYTHON3, rs.msgs());
    INFO(sids.text);
    CHECK(sids.status == 0);

    CHECK(s["alert.dropped"] == 0);
    CHECK(s["alert.suppressed"] == 0);
    CHECK(s["alert.written"] == lines);
    CHECK(s["output.eve.offered"] == lines);
    CHECK(s["output.eve.sent"] == lines);
    CHECK(s["output.siem.offered"] == lines);
    CHECK(s["output.siem.sent"] == lines);
    CHECK(s["output.siem.dropped_full"] == 0);
    CHECK(s["output.siem.unsent"] == 0);
    CHECK(s["output.siem.connects"] == 1);
}

TEST_CASE("SIGHUP makes vtapd reopen its EVE file after logrotate renamed it, losing no alert",
          "[integration][output]") {
    TempDir dir;
    VtapdConfig c;
    c.prefix = eal_prefix("hup");
    c.ports = pcap_port_yaml(kDemo, true);  // replays forever: alerts keep coming
    c.extra = "detect:\n"
              "  rule_files: ['" + kSource + "/conf/rules/demo.rules']\n"
              "  classification_file: '" + kSource + "/conf/rules/classification.config'\n"
              "alerts:\n  eve: " + dir / "eve.json" + "\n";
    write_vtapd_config(dir / "vtapd.yaml", c);
    Background v({vtapd_path(), "-c", dir / "vtapd.yaml", "--stats-file", dir / "s.json"}, dir / "out.log");
    REQUIRE(v.wait_for_output("vtapd: running", std::chrono::seconds(60)));
    for (int i = 0; i < 1000 && count_lines(dir / "eve.json") == 0; i++) sleep_ms(10);
    REQUIRE(count_lines(dir / "eve.json") > 0);
    REQUIRE(std::rename((dir / "eve.json").c_str(), (dir / "eve.json.1").c_str()) == 0);
    REQUIRE(v.pid() > 0);
    REQUIRE(::kill(v.pid(), SIGHUP) == 0);  // what logrotate's postrotate does
    for (int i = 0; i < 1000 && count_lines(dir / "eve.json") == 0; i++) sleep_ms(10);
    CHECK(count_lines(dir / "eve.json") > 0);
    INFO(v.output());
    REQUIRE(v.stop(SIGTERM) == 0);
    auto s = read_stats(dir / "s.json");
    CHECK(s["output.eve.reopens"] == 1);
    CHECK(s["output.eve.sent"] == count_lines(dir / "eve.json") + count_lines(dir / "eve.json.1"));
    CHECK(s["output.eve.sent"] == s["alert.written"]);
    CHECK(json_sids(VTAP_PYTHON3, dir / "eve.json.1").status == 0);
    CHECK(json_sids(VTAP_PYTHON3, dir / "eve.json").status == 0);
}

int main(int argc, char** argv) {
    if (::access(Rsyslog::kBinary, X_OK) != 0) {
        std::printf("SKIP: %s is absent (scripts/setup.sh installs rsyslog)\n", Rsyslog::kBinary);
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
