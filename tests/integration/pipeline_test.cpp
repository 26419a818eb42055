// The vtapd binary end to end: EAL (--no-huge), net_pcap ports over captures
// the test writes, RX lcore -> rings -> worker lcores, final counters read
// from --stats-file. Asserts exact accounting: every frame of the capture is
// delivered to a worker or dropped under one named reason.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "support/frames.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"

using namespace vtap::test;

namespace {

const std::string kVtapd = env_or("VTAPD", "apps/vtapd/vtapd");

std::string write_config(const TempDir& dir, const std::string& ports, unsigned workers,
                         const std::string& extra = "") {
    std::string path = dir / "vtapd.yaml";
    std::ofstream f(path);
    f << "eal:\n  args: [--no-huge, -m, '512', --no-shconf, --no-pci, --file-prefix=vtapit" << getpid()
      << ", '--log-level=lib.eal:error']\n"
      << "ports:\n" << ports
      << "decap:\n  tap_sources: [198.18.0.0/15]\n"
      << "pipeline:\n  workers: " << workers << "\n  ring_size: 1024\n"
      << "mempool:\n  mbufs: 8191\n"
      << extra;
    return path;
}

std::string pcap_port(const std::string& file, bool infinite = false) {
    return "  - driver: pcap\n    pcap_file: " + file + "\n    infinite_rx: " + (infinite ? "true" : "false") + "\n";
}

std::map<std::string, double> run_vtapd(const TempDir& dir, const std::string& config, const std::string& args = "") {
    std::string stats = dir / "stats.json";
    auto out = run_cmd(kVtapd + " -c " + config + " --stats-file " + stats + " " + args);
    INFO(out.text);
    REQUIRE(out.status == 0);
    return read_stats(stats);
}

void require_accounting(std::map<std::string, double>& s) {
    INFO("rx.packets " << s["rx.packets"] << " delivered " << s["decap.delivered"] << " drops " << s["drops.total"]);
    REQUIRE(s["rx.packets"] == s["decap.delivered"] + s["drops.total"]);
    REQUIRE(s["worker.packets"] == s["decap.delivered"]);
}

// `n` conversations, each a request from a client to a server and a reply,
// the two directions tapped at different VMs with different VNIs (Azure: a
// conversation between two tapped VMs arrives once per tap source).
std::vector<std::vector<uint8_t>> conversations(unsigned n) {
    std::vector<std::vector<uint8_t>> frames;
    for (unsigned i = 0; i < n; i++) {
        Inner req{.src = ip4(198, 18, 2, static_cast<uint8_t>(i % 250)), .dst = ip4(198, 18, 3, 7),
                  .sport = static_cast<uint16_t>(30000 + i), .dport = 80, .payload = 100};
        Inner rsp = req;
        std::swap(rsp.src, rsp.dst);
        std::swap(rsp.sport, rsp.dport);
        rsp.payload = 400;
        if (i % 5 == 0) req.ipv6 = rsp.ipv6 = true;
        if (i % 7 == 0) req.vlans = rsp.vlans = {42};
        frames.push_back(vtap_frame(inner_frame(req), {.src = ip4(198, 18, 1, 4), .vni = 27}));
        frames.push_back(vtap_frame(inner_frame(rsp), {.src = ip4(198, 18, 1, 5), .vni = 28}));
    }
    return frames;
}

}  // namespace

TEST_CASE("vtapd counts every frame of a capture as delivered or dropped for one reason", "[integration]") {
    TempDir dir;
    auto in = inner_frame({});
    auto arp = in;
    arp[12] = 0x08; arp[13] = 0x06;
    auto frames = conversations(20);
    frames.push_back(vtap_frame(in, {.ether_type = 0x0806}));            // ARP to the collector
    frames.push_back(vtap_frame(in, {.proto = 6}));                      // load balancer TCP probe
    frames.push_back(vtap_frame(in, {.dport = 8472}));                   // Linux VXLAN port
    frames.push_back(vtap_frame(in, {.vxlan_flags = 0}));
    frames.push_back(vtap_frame(in, {.src = ip4(203, 0, 113, 1)}));      // not a tap source
    frames.push_back(vtap_frame(in, {.ip_frag = 0x2000}));
    frames.push_back(vtap_frame(arp));
    frames.push_back(vtap_frame({in.begin(), in.begin() + 20}));
    write_pcap(dir / "mix.pcap", frames);

    auto cfg = write_config(dir, pcap_port(dir / "mix.pcap"), 2);
    auto s = run_vtapd(dir, cfg);
    CHECK(s["rx.packets"] == frames.size());
    CHECK(s["port.pcap0.ipackets"] == frames.size());
    CHECK(s["decap.delivered"] == 40);
    for (const char* reason : {"decap.not_ipv4", "decap.not_udp", "decap.wrong_port", "decap.bad_vxlan_flags",
                               "decap.source_denied", "decap.outer_fragment", "decap.inner_not_ip",
                               "decap.inner_truncated"}) {
        INFO(reason);
        CHECK(s[reason] == 1);
    }
    CHECK(s["drops.total"] == 8);
    CHECK(s["shard.ring_full"] == 0);
    require_accounting(s);
}

TEST_CASE("vtapd lands both directions of every conversation on one worker", "[integration]") {
    TempDir dir;
    auto frames = conversations(200);
    write_pcap(dir / "conv.pcap", frames);
    auto s = run_vtapd(dir, write_config(dir, pcap_port(dir / "conv.pcap"), 2));
    require_accounting(s);
    CHECK(s["decap.delivered"] == 400);
    // A conversation split across workers would be counted as a flow on each.
    CHECK(s["worker.flows"] == 200);
    CHECK(s["worker0.flows"] + s["worker1.flows"] == 200);
    CHECK(s["worker0.packets"] == 2 * s["worker0.flows"]);
    CHECK(s["worker1.packets"] == 2 * s["worker1.flows"]);
    CHECK(s["worker0.flows"] > 50);  // both workers get a fair share
    CHECK(s["worker1.flows"] > 50);

    // Busy time: counted on both workers, never more than the run lasted.
    const double hz = s["tsc_hz"];
    REQUIRE(hz > 0);
    CHECK(s["worker0.busy_cycles"] > 0);
    CHECK(s["worker1.busy_cycles"] > 0);
    CHECK(s["worker.busy_cycles"] == s["worker0.busy_cycles"] + s["worker1.busy_cycles"]);
    CHECK(s["worker0.busy_cycles"] / hz <= s["elapsed_s"]);
    CHECK(s["worker1.busy_cycles"] / hz <= s["elapsed_s"]);
    CHECK(s["rx.busy_cycles"] > 0);
    CHECK(s["rx.busy_cycles"] / hz <= s["elapsed_s"]);
}

TEST_CASE("vtapd runs to completion on the RX lcore with zero workers", "[integration]") {
    TempDir dir;
    write_pcap(dir / "conv.pcap", conversations(50));
    auto s = run_vtapd(dir, write_config(dir, pcap_port(dir / "conv.pcap"), 0));
    require_accounting(s);
    CHECK(s["decap.delivered"] == 100);
    CHECK(s["worker.flows"] == 50);
    CHECK(s["worker0.packets"] == 100);
    // The RX lcore's busy time includes its own worker path.
    CHECK(s["worker0.busy_cycles"] > 0);
    CHECK(s["rx.busy_cycles"] >= s["worker0.busy_cycles"]);
}

TEST_CASE("vtapd reads a raw-IP capture with decap.mode ip and refuses a mode that disagrees with it",
          "[integration]") {
    TempDir dir;
    std::vector<std::vector<uint8_t>> raw;
    for (unsigned i = 0; i < 10; i++) {
        auto f = inner_frame({.ipv6 = i % 2 == 1, .sport = static_cast<uint16_t>(30000 + i), .payload = 40});
        raw.emplace_back(f.begin() + 14, f.end());
    }
    write_pcap(dir / "raw.pcap", raw, DLT_RAW);
    const std::string vxlan_cfg = write_config(dir, pcap_port(dir / "raw.pcap"), 1);

    // The default mode (vxlan) would drop every frame as malformed: refused,
    // naming the file and the mode to use.
    auto refused = run_cmd(kVtapd + " -c " + vxlan_cfg);
    INFO(refused.text);
    CHECK(refused.status != 0);
    CHECK(refused.text.find(dir / "raw.pcap") != std::string::npos);
    CHECK(refused.text.find("raw IP packets (link type RAW): read it with decap.mode: ip") != std::string::npos);

    std::string text;
    {
        std::ifstream in(vxlan_cfg);
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = text.find("decap:\n");
    REQUIRE(at != std::string::npos);
    text.insert(at + 7, "  mode: ip\n");
    const std::string ip_cfg = dir / "ip.yaml";
    std::ofstream(ip_cfg) << text;
    auto s = run_vtapd(dir, ip_cfg);
    require_accounting(s);
    CHECK(s["decap.delivered"] == 10);
    CHECK(s["decap.untunneled"] == 10);
    CHECK(s["worker.flows"] == 10);
    CHECK(s["drops.total"] == 0);

    // And an Ethernet capture under mode ip is refused the other way round.
    write_pcap(dir / "eth.pcap", conversations(2));
    std::string eth_text = text;
    const auto f = eth_text.find(dir / "raw.pcap");
    REQUIRE(f != std::string::npos);
    eth_text.replace(f, (dir / "raw.pcap").size(), dir / "eth.pcap");
    std::ofstream(dir / "eth.yaml") << eth_text;
    auto wrong = run_cmd(kVtapd + " -c " + dir / "eth.yaml");
    INFO(wrong.text);
    CHECK(wrong.status != 0);
    CHECK(wrong.text.find("decap.mode is ip but the capture has link type EN10MB") != std::string::npos);
}

TEST_CASE("vtapd --pcap overrides the configured ports and exits at end of file", "[integration]") {
    TempDir dir;
    write_pcap(dir / "conv.pcap", conversations(10));
    auto cfg = write_config(dir, "  - driver: \"null\"\n", 1);
    auto s = run_vtapd(dir, cfg, "--pcap " + dir / "conv.pcap");
    CHECK(s["rx.packets"] == 20);
    CHECK(s["worker.packets"] == 20);
}

TEST_CASE("vtapd stops cleanly on SIGTERM and reports its final counters", "[integration]") {
    TempDir dir;
    write_pcap(dir / "conv.pcap", conversations(10));
    auto cfg = write_config(dir, pcap_port(dir / "conv.pcap", true), 1);
    std::string stats = dir / "stats.json";
    // Infinite replay never ends by itself: only the signal stops it.
    auto out = run_cmd("( " + kVtapd + " -c " + cfg + " --stats-file " + stats +
                       " & pid=$!; sleep 2; kill -TERM $pid; wait $pid )");
    INFO(out.text);
    REQUIRE(out.status == 0);
    auto s = read_stats(stats);
    CHECK(s["rx.packets"] > 20);
    require_accounting(s);
}

TEST_CASE("vtapd --check-config names the file and line of a bad key and exits 1", "[integration]") {
    TempDir dir;
    std::string path = dir / "bad.yaml";
    std::ofstream(path) << "ports:\n  - driver: pcap\n    pcap_file: x.pcap\n"
                           "decap:\n  tap_sources: [198.18.0.0/15]\n  udp_prot: 4789\n";
    auto out = run_cmd(kVtapd + " --check-config -c " + path);
    CHECK(out.status == 1);
    CHECK_THAT(out.text, Catch::Contains("bad.yaml:6") && Catch::Contains("udp_prot"));

    auto good = run_cmd(kVtapd + " --check-config -c " + write_config(dir, pcap_port("/dev/null"), 1));
    INFO(good.text);
    CHECK(good.status == 0);
}

TEST_CASE("vtapd rejects unknown options with a usage error", "[integration]") {
    auto out = run_cmd(kVtapd + " --frobnicate");
    CHECK(out.status == 2);
    CHECK_THAT(out.text, Catch::Contains("unknown option '--frobnicate'"));
}
