// The `ports` and `decap` sections: drivers and their required fields,
// address syntax, duplicate devices, tap source prefixes and VNI lists.
#include "config_test_util.hpp"

using namespace vtap;
using namespace vtap::config;
using namespace vtap::config::test;

namespace {

// One port given as a flow mapping on line 2.
std::string with_port(const std::string& flow) {
    return "ports:\n  - " + flow + "\n" + kMinimalDecap;
}

// The decap section with the given tap_sources / vnis lines (from line 4).
std::string with_decap(const std::string& lines) {
    return kMinimalPorts + "decap:\n" + lines;
}

}  // namespace

TEST_CASE("config accepts each driver with its required fields", "[config]") {
    const std::string ok[] = {
        "{driver: pcap, pcap_file: a.pcap, infinite_rx: true}",
        "{driver: pcap, pcap_file: a.pcap, preload: true}",
        "{driver: af_packet, iface: veth1}",
        "{driver: 'null'}",
        "{driver: ring}",
        "{driver: netvsc, pci: 7870:00:00.0}",
        "{driver: netvsc, pci: f8615163-df3e-46c5-913f-f2d2f965ed0e}",
        "{driver: mlx5, pci: '0000:3b:00.1', rx_queues: 4}",
        "{driver: mlx5, pci: '3b:00.1'}",
        "{driver: mana, mac: '00:0d:3a:12:34:56'}",
        "{driver: mana, pci: 7870:00:00.0}",
        "{driver: 'null', mac: 00-0D-3A-12-34-56, promiscuous: true, allmulti: true, mtu: 9000,"
        " devargs: 'size=64'}",
    };
    for (const auto& flow : ok) {
        Config c = parse_ok(with_port(flow));
        CHECK(c.ports.size() == 1);
    }
    Config c = parse_ok(with_port("{driver: af_packet, iface: veth1, rx_queues: 2}"));
    CHECK(c.ports[0].driver == "af_packet");
    CHECK(c.ports[0].name == "af_packet0");
    CHECK(c.ports[0].iface == "veth1");
    CHECK(c.ports[0].rx_queues == 2);
}

TEST_CASE("config rejects port mistakes with the port's path and position", "[config]") {
    struct Case {
        std::string flow;    // on line 2
        std::string needle;
    };
    const Case cases[] = {
        {"{driver: dpdk}", "'ports[0].driver' is 'dpdk', not a known driver (one of: pcap, "
                           "af_packet, null, ring, netvsc, mlx5, mana)"},
        {"{name: p}", "'ports[0].driver' is missing"},
        {"{driver: null}", "'ports[0].driver' is empty (YAML null); for the null PMD write it "
                           "quoted: driver: \"null\""},
        {"{driver: pcap}", "'ports[0].pcap_file' is required for driver 'pcap'"},
        {"{driver: pcap, pcap_file: ''}", "'ports[0].pcap_file' is required for driver 'pcap'"},
        {"{driver: af_packet}", "'ports[0].iface' is required for driver 'af_packet'"},
        {"{driver: netvsc}", "'ports[0].pci' is required for driver 'netvsc'"},
        {"{driver: mlx5}", "'ports[0].pci' is required for driver 'mlx5'"},
        {"{driver: mana}", "driver 'mana' needs 'ports[0].mac'"},
        {"{driver: pcap, pcap_file: a, iface: eth1}",
         "'ports[0].iface' does not apply to driver 'pcap'; remove it"},
        {"{driver: af_packet, iface: eth1, infinite_rx: true}",
         "'ports[0].infinite_rx' does not apply to driver 'af_packet'"},
        {"{driver: 'null', preload: true}", "'ports[0].preload' does not apply to driver 'null'"},
        {"{driver: pcap, pcap_file: a, preload: true, infinite_rx: true}",
         "'ports[0].preload' and 'ports[0].infinite_rx' exclude each other"},
        {"{driver: 'null', pci: '3b:00.0'}", "'ports[0].pci' does not apply to driver 'null'"},
        {"{driver: mana, mac: '00:0d:3a:12:34'}", "'ports[0].mac' is '00:0d:3a:12:34', not a MAC"},
        {"{driver: mlx5, pci: 3b:00}", "'ports[0].pci' is '3b:00', not a PCI address"},
        {"{driver: mlx5, pci: f8615163-df3e-46c5-913f-f2d2f965ed0e}", "not a PCI address"},
        {"{driver: 'null', name: 'my port'}", "'ports[0].name' is 'my port'; use 1..32 characters"},
        {"{driver: 'null', rx_queues: 0}", "'ports[0].rx_queues' is 0, out of range (allowed 1..1024)"},
        {"{driver: 'null', rx_descriptors: 16}", "'ports[0].rx_descriptors' is 16, out of range"},
        {"{driver: 'null', mtu: 60}", "'ports[0].mtu' is 60; use 0 (the PMD's default) or 68..65535"},
        {"{driver: 'null', promiscuous: 1}", "'ports[0].promiscuous' must be true or false, got '1'"},
    };
    for (const auto& c : cases) {
        Error e = parse_error(with_port(c.flow));
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(2)));
        CHECK(e.what.find(c.needle) != std::string::npos);
    }
}

TEST_CASE("config requires a non-empty list of port mappings", "[config]") {
    Error missing = parse_error(kMinimalDecap);
    INFO(missing.to_string());
    CHECK(missing.where == "vtapd.yaml:1:1");
    CHECK(missing.what.find("'ports' is missing") != std::string::npos);

    Error empty = parse_error("ports: []\n" + kMinimalDecap);

    INFO(empty.to_string());
    CHECK(empty.where == "vtapd.yaml:1:8");
    CHECK(empty.what.find("'ports' is empty") != std::string::npos);

    Error scalar = parse_error("ports: pcap\n" + kMinimalDecap);

    INFO(scalar.to_string());
    CHECK(scalar.what == "'ports' must be a list of port mappings, got a scalar");

    Error item = parse_error("ports:\n  - {driver: 'null'}\n  - pcap\n" + kMinimalDecap);

    INFO(item.to_string());
    CHECK(item.where == "vtapd.yaml:3:5");
    CHECK(item.what.find("'ports[1]' must be a mapping") != std::string::npos);
}

TEST_CASE("config rejects two ports on the same device", "[config]") {
    struct Case {
        std::string a, b, needle;
    };
    const Case cases[] = {
        {"{driver: 'null'}", "{driver: 'null', name: null0}",
         "duplicate port: 'ports[1].name' null0 is already used by ports[0] ('null0')"},
        {"{driver: af_packet, iface: eth1}", "{driver: af_packet, iface: eth1, name: b}",
         "'ports[1].iface' eth1 is already used by ports[0] ('af_packet0')"},
        {"{driver: mlx5, pci: '0000:3b:00.0'}", "{driver: mlx5, pci: '3B:00.0'}",
         "'ports[1].pci' 0000:3b:00.0 is already used by ports[0]"},
        {"{driver: mana, mac: '00:0d:3a:00:00:01'}", "{driver: mana, mac: 00-0D-3A-00-00-01}",
         "'ports[1].mac' 00:0d:3a:00:00:01 is already used"},
        {"{driver: mana, pci: 7870:00:00.0}", "{driver: mana, pci: 7870:00:00.0, mac: '00:0d:3a:00:00:01'}",
         "'ports[1].pci' 7870:00:00.0 is already used"},
    };
    for (const auto& c : cases) {
        Error e = parse_error("ports:\n  - " + c.a + "\n  - " + c.b + "\n" + kMinimalDecap);
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(3)));
        CHECK(e.what.find(c.needle) != std::string::npos);
    }
    // MANA vPorts on one PCI function are told apart by MAC.
    Config c = parse_ok("ports:\n"
                        "  - {driver: mana, pci: 7870:00:00.0, mac: '00:0d:3a:00:00:01'}\n"
                        "  - {driver: mana, pci: 7870:00:00.0, mac: '00:0d:3a:00:00:02'}\n" +
                        kMinimalDecap);
    CHECK(c.ports.size() == 2);
    CHECK(c.ports[1].name == "mana1");
}

TEST_CASE("config reads tap source prefixes into the decap view", "[config]") {
    Config c = parse_ok(with_decap("  tap_sources: [0.0.0.0/0, 10.1.2.3, 172.16.0.0/12]\n"));
    REQUIRE(c.decap.n_sources == 3);
    CHECK(c.decap.sources[0].len == 0);
    CHECK(c.decap.sources[1].addr == 0x0A010203u);
    CHECK(c.decap.sources[1].len == 32);
    CHECK(c.decap.sources[2].addr == 0xAC100000u);
    CHECK(c.decap.sources[2].len == 12);
    CHECK(c.decap.source_allowed(0xAC1F0001u));  // 172.31.0.1
}

TEST_CASE("config requires at least one tap source and points at 0.0.0.0/0", "[config]") {
    Error missing = parse_error(with_decap("  udp_port: 4789\n"));
    INFO(missing.to_string());
    CHECK(missing.what.find("'decap.tap_sources' must list at least one prefix; use 0.0.0.0/0 "
                            "to analyse any source") != std::string::npos);
    CHECK(starts_with(missing.where, at_line(4)));
    Error no_decap = parse_error(kMinimalPorts);
    INFO(no_decap.to_string());
    CHECK(no_decap.what.find("use 0.0.0.0/0 to analyse any source") != std::string::npos);
    Error empty = parse_error(with_decap("  tap_sources: []\n"));
    INFO(empty.to_string());
    CHECK(empty.where == "vtapd.yaml:4:16");
    CHECK(empty.what.find("must list at least one prefix") != std::string::npos);
}

TEST_CASE("config names the bad tap source entry and its line", "[config]") {
    Error e = parse_error(with_decap("  tap_sources:\n    - 198.18.0.0/15\n    - 10.0.0.1/8\n"));
    INFO(e.to_string());
    CHECK(e.where == "vtapd.yaml:6:7");
    CHECK(e.what == "'decap.tap_sources[1]': bad IPv4 prefix '10.0.0.1/8': host bits are set; "
                    "the network is 10.0.0.0/8");

    Error dup = parse_error(with_decap("  tap_sources: [10.0.0.0/8, 10.0.0.0/8]\n"));

    INFO(dup.to_string());
    CHECK(dup.what.find("'decap.tap_sources[1]' repeats tap_sources[0]") != std::string::npos);

    Error kind = parse_error(with_decap("  tap_sources: [{a: b}]\n"));

    INFO(kind.to_string());
    CHECK(kind.what == "'decap.tap_sources[0]' must be an IPv4 prefix, got a mapping");
}

TEST_CASE("config allows at most DecapConfig::kMaxSources tap sources", "[config]") {
    auto list = [](size_t n) {
        std::string s = "  tap_sources: [";
        for (size_t i = 0; i < n; i++)
            s += (i ? ", 10.0." : "10.0.") + std::to_string(i) + ".0/24";
        return s + "]\n";
    };
    Config c = parse_ok(with_decap(list(decap::DecapConfig::kMaxSources)));
    CHECK(c.decap.n_sources == decap::DecapConfig::kMaxSources);
    CHECK(c.decap.sources[63].addr == 0x0A003F00u);
    Error e = parse_error(with_decap(list(decap::DecapConfig::kMaxSources + 1)));
    INFO(e.to_string());
    CHECK(starts_with(e.where, at_line(4)));
    CHECK(e.what.find("lists 65 prefixes; at most 64") != std::string::npos);
}

TEST_CASE("config reads the VNI allow-list", "[config]") {
    Config c = parse_ok(with_decap("  tap_sources: [0.0.0.0/0]\n  vnis: [0, 100, 0xFFFFFF]\n"));
    REQUIRE(c.decap.n_vnis == 3);
    CHECK(c.decap.vnis[0] == 0);
    CHECK(c.decap.vnis[1] == 100);
    CHECK(c.decap.vnis[2] == 0xFFFFFF);
    CHECK(c.decap.vni_allowed(100));
    CHECK_FALSE(c.decap.vni_allowed(101));

    Config any = parse_ok(with_decap("  tap_sources: [0.0.0.0/0]\n  vnis: []\n"));
    CHECK(any.decap.n_vnis == 0);
    CHECK(any.decap.vni_allowed(12345));
}

TEST_CASE("config rejects VNIs beyond 24 bits, repeats and too many", "[config]") {
    Error big = parse_error(with_decap("  tap_sources: [0.0.0.0/0]\n  vnis:\n    - 1\n    - 16777216\n"));
    INFO(big.to_string());
    CHECK(big.where == "vtapd.yaml:7:7");
    CHECK(big.what == "'decap.vnis[1]' is 16777216, out of range (allowed 0..16777215)");

    Error dup = parse_error(with_decap("  tap_sources: [0.0.0.0/0]\n  vnis: [7, 7]\n"));

    INFO(dup.to_string());
    CHECK(dup.what == "'decap.vnis' lists VNI 7 twice");
    CHECK(starts_with(dup.where, at_line(5)));

    std::string many = "  tap_sources: [0.0.0.0/0]\n  vnis: [";
    for (int i = 0; i < 65; i++) many += (i ? ", " : "") + std::to_string(i);
    Error e = parse_error(with_decap(many + "]\n"));
    INFO(e.to_string());
    CHECK(e.what.find("lists 65 VNIs; at most 64") != std::string::npos);

    Error word = parse_error(with_decap("  tap_sources: [0.0.0.0/0]\n  vnis: [blue]\n"));

    INFO(word.to_string());
    CHECK(word.what == "'decap.vnis[0]' must be an integer in 0..16777215, got 'blue'");
}

TEST_CASE("config reads decap.mode; ethernet needs no tap sources and other modes are refused", "[config]") {
    CHECK(parse_ok(kMinimal).decap.mode == decap::DecapMode::kVxlan);
    Config e = parse_ok(with_decap("  mode: ethernet\n"));
    CHECK(e.decap.mode == decap::DecapMode::kEthernet);
    CHECK(e.decap.n_sources == 0);
    CHECK(parse_ok(with_decap("  mode: ethernet\n  tap_sources: [10.0.0.0/8]\n")).decap.n_sources == 1);
    Error bad = parse_error(with_decap("  mode: geneve\n  tap_sources: [10.0.0.0/8]\n"));
    CHECK(bad.where == "vtapd.yaml:4:9");
    CHECK(bad.what ==
          "'decap.mode' is 'geneve'; use vxlan (VTAP copies), ethernet (plain frames) or ip (bare IP packets)");
    CHECK(parse_ok(with_decap("  mode: ip\n")).decap.mode == decap::DecapMode::kIp);
}

TEST_CASE("config reads detect.packet_alert_max and detect.threshold_entries within their ranges", "[config]") {
    Config d = parse_ok(kMinimal);
    CHECK(d.detect.packet_alert_max == 15);
    CHECK(d.detect.threshold_entries == 16384);
    Config c = parse_ok(kMinimal + "detect:\n  packet_alert_max: 6\n  threshold_entries: 1000\n");
    CHECK(c.detect.packet_alert_max == 6);
    CHECK(c.detect.threshold_entries == 1000);
    Error big = parse_error(kMinimal + "detect:\n  packet_alert_max: 65\n");
    CHECK(big.what.find("packet_alert_max") != std::string::npos);
    Error small = parse_error(kMinimal + "detect:\n  threshold_entries: 4\n");
    CHECK(small.what.find("threshold_entries") != std::string::npos);
}

TEST_CASE("config reads detect.defrag within its ranges", "[config]") {
    const Config def = parse_ok(kMinimal);
    CHECK(def.detect.defrag_max_datagrams == 256);
    CHECK(def.detect.defrag_timeout_s == 60);
    const Config set = parse_ok(kMinimal + "detect:\n  defrag:\n    max_datagrams: 16\n    timeout_s: 5\n");
    CHECK(set.detect.defrag_max_datagrams == 16);
    CHECK(set.detect.defrag_timeout_s == 5);
    Error zero = parse_error(kMinimal + "detect:\n  defrag:\n    max_datagrams: 0\n");
    CHECK(zero.what.find("max_datagrams") != std::string::npos);
    CHECK(zero.where.find("vtapd.yaml:7:") != std::string::npos);  // the max_datagrams line
    Error huge = parse_error(kMinimal + "detect:\n  defrag:\n    timeout_s: 100000\n");
    CHECK(huge.what.find("timeout_s") != std::string::npos);
    Error typo = parse_error(kMinimal + "detect:\n  defrag:\n    timeout: 5\n");
    CHECK(typo.what.find("timeout") != std::string::npos);
}

TEST_CASE("config reads detect.stream_window_bytes within 256..65536", "[config]") {
    CHECK(parse_ok(kMinimal).detect.stream_window_bytes == 4096);
    CHECK(parse_ok(kMinimal + "detect:\n  stream_window_bytes: 1024\n").detect.stream_window_bytes == 1024);
    Error tiny = parse_error(kMinimal + "detect:\n  stream_window_bytes: 100\n");
    CHECK(tiny.what.find("stream_window_bytes") != std::string::npos);
    Error huge = parse_error(kMinimal + "detect:\n  stream_window_bytes: 1000000\n");
    CHECK(huge.what.find("stream_window_bytes") != std::string::npos);
}

TEST_CASE("config reads detect.stream_prealloc within 0..1048576", "[config]") {
    CHECK(parse_ok(kMinimal).detect.stream_prealloc == 4096);
    CHECK(parse_ok(kMinimal + "detect:\n  stream_prealloc: 0\n").detect.stream_prealloc == 0);
    CHECK(parse_ok(kMinimal + "detect:\n  stream_prealloc: 65536\n").detect.stream_prealloc == 65536);
    Error huge = parse_error(kMinimal + "detect:\n  stream_prealloc: 2000000\n");
    CHECK(huge.what.find("stream_prealloc") != std::string::npos);
    CHECK(huge.where.starts_with("vtapd.yaml:"));
}
