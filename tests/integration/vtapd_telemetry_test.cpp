// vtapd's live statistics: DPDK telemetry (/vtap/stats on the EAL runtime
// socket, read by this test and by dpdk-telemetry.py when installed) and the
// periodic table on stdout, both while net_pcap replays a capture forever.
#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/flat_json.hpp"
#include "support/frames.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
using namespace std::chrono_literals;

namespace {

// Three VTAP frames and one to the Linux VXLAN port: a live mix in which
// decap.delivered and decap.wrong_port both keep growing.
std::string write_mix(const TempDir& dir) {
    std::vector<std::vector<uint8_t>> frames;
    for (uint16_t i = 0; i < 3; i++)
        frames.push_back(vtap_frame(inner_frame({.sport = static_cast<uint16_t>(40000 + i)}), {}));
    frames.push_back(vtap_frame(inner_frame({}), {.dport = 8472}));
    write_pcap(dir / "mix.pcap", frames);
    return dir / "mix.pcap";
}

std::string infinite_config(const TempDir& dir, const std::string& prefix) {
    VtapdConfig vc;
    vc.prefix = prefix;
    vc.ports = pcap_port_yaml(write_mix(dir), true);
    vc.extra = "stats:\n  telemetry: true\n";
    return write_vtapd_config(dir / "vtapd.yaml", vc);
}

// /vtap/stats as flat names: "/vtap/stats.decap.wrong_port" -> "decap.wrong_port".
std::map<std::string, double> vtap_stats(const FlatJson& j) {
    std::map<std::string, double> out;
    const std::string root = "/vtap/stats.";
    for (const auto& [k, v] : j.numbers)
        if (k.starts_with(root)) out[k.substr(root.size())] = v;
    return out;
}

bool on_path(const std::string& prog) { return run_cmd("command -v " + prog).status == 0; }

}  // namespace

TEST_CASE("vtapd serves its counters live at /vtap/stats under the same names as the stats file", "[integration][telemetry]") {
    TempDir dir;
    const std::string prefix = eal_prefix("tel");
    const std::string cfg = infinite_config(dir, prefix), stats = dir / "stats.json";
    Background vtapd({vtapd_path(), "-c", cfg, "--stats-file", stats}, dir / "vtapd.log");
    REQUIRE(vtapd.wait_for_output("vtapd: running", 15s));
    INFO(vtapd.output());
    std::this_thread::sleep_for(500ms);

    // --no-shconf keeps the runtime directory and its telemetry socket.
    const std::string reply = telemetry_query(prefix, "/vtap/stats");
    INFO(reply);
    auto first = vtap_stats(parse_flat_json(reply));
    CHECK(first["rx.packets"] > 0);
    CHECK(first["decap.delivered"] > 0);
    CHECK(first["decap.wrong_port"] > 0);
    for (const char* key : {"decap.wrong_port", "decap.not_udp", "decap.vxlan_reserved", "shard.ring_full",
                            "drops.total", "worker0.packets", "port.pcap0.ipackets", "port.pcap0.imissed"}) {
        INFO(key);
        CHECK(first.count(key) == 1);
    }
    std::this_thread::sleep_for(200ms);
    auto second = vtap_stats(parse_flat_json(telemetry_query(prefix, "/vtap/stats")));
    CHECK(second["rx.packets"] > first["rx.packets"]);  // live, not a snapshot taken once

    if (on_path("dpdk-telemetry.py")) {
        auto out = run_cmd("echo /vtap/stats | dpdk-telemetry.py -f " + prefix);
        INFO(out.text);
        REQUIRE(out.status == 0);
        auto py = vtap_stats(parse_flat_json(out.text));
        CHECK(py["rx.packets"] >= second["rx.packets"]);
        CHECK(py.count("decap.wrong_port") == 1);
    } else {
        WARN("dpdk-telemetry.py not installed: its part is skipped");
    }

    REQUIRE(vtapd.stop(SIGTERM) == 0);
    auto final_stats = read_stats(stats);
    CHECK(final_stats["rx.packets"] >= second["rx.packets"]);
    CHECK(final_stats["rx.packets"] == final_stats["decap.delivered"] + final_stats["drops.total"]);
    // Same names in both: every counter of the stats file is in the reply
    // and nothing else is (elapsed_s is file-only: a float, not a counter).
    std::set<std::string> file_keys, tel_keys;
    for (const auto& [k, v] : final_stats)
        if (k != "elapsed_s") file_keys.insert(k);
    for (const auto& [k, v] : second) tel_keys.insert(k);
    CHECK(tel_keys == file_keys);
    // vtapd removes its runtime directory at exit (EAL leaves it behind).
    CHECK(run_cmd("test -e " + dpdk_runtime_dir(prefix)).status != 0);
}

TEST_CASE("vtapd prints its counter table every --stats-interval seconds", "[integration][telemetry]") {
    TempDir dir;
    const std::string cfg = infinite_config(dir, eal_prefix("int"));
    auto out = run_cmd(vtapd_path() + " -c " + cfg + " --stats-interval 1 --duration 2.5");
    INFO(out.text);
    REQUIRE(out.status == 0);
    const auto final_at = out.text.find("vtapd: final statistics");
    REQUIRE(final_at != std::string::npos);
    // The periodic tables come before the final one; each has its own rx.packets.
    const std::string periodic = out.text.substr(0, final_at);
    static const std::regex rx_line(R"(\nrx\.packets +([0-9]+)\n)");
    std::vector<double> rx;
    for (auto it = std::sregex_iterator(periodic.begin(), periodic.end(), rx_line); it != std::sregex_iterator(); ++it)
        rx.push_back(std::stod((*it)[1]));
    CHECK(rx.size() >= 2);
    CHECK(rx.size() <= 3);
    for (size_t i = 0; i < rx.size(); i++) {
        CHECK(rx[i] > 0);
        if (i) CHECK(rx[i] > rx[i - 1]);
    }
}
