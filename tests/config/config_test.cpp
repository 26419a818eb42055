// Loading the whole document: the embedded default, defaults for left-out
// keys, unknown keys, types and ranges per section, cross-section rules,
// YAML syntax errors, and load() from files.
#include <fstream>
#include <sstream>

#include "config_test_util.hpp"

using namespace vtap;
using namespace vtap::config;
using namespace vtap::config::test;

TEST_CASE("the embedded default is conf/vtapd.yaml byte for byte", "[config]") {
    std::ifstream in(std::string(VTAPD_SOURCE_ROOT) + "/conf/vtapd.yaml", std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    REQUIRE(text.str().size() > 1000);
    REQUIRE(default_yaml() == text.str());
}

TEST_CASE("the embedded default parses to the demo configuration", "[config]") {
    Config c = parse_ok(default_yaml());
    REQUIRE(c.source == kFile);
    REQUIRE(c.eal_args == std::vector<std::string>{"--no-huge", "-m", "1024", "--no-shconf"});
    REQUIRE(c.ports.size() == 1);
    REQUIRE(c.ports[0].driver == "pcap");
    REQUIRE(c.ports[0].name == "pcap0");
    REQUIRE(c.ports[0].pcap_file == "vtap-demo.pcap");
    REQUIRE(c.decap.n_sources == 1);
    REQUIRE(c.decap.sources[0].addr == 0xC6120000u);  // 198.18.0.0
    REQUIRE(c.decap.sources[0].len == 15);
    REQUIRE(c.decap.n_vnis == 0);
}

TEST_CASE("the reference file documents the same defaults as the code", "[config]") {
    // conf/vtapd.yaml spells out every default; if it and the structs drift,
    // the documentation lies. Compare field by field.
    Config c = parse_ok(default_yaml());
    const PortConfig d;
    const PortConfig& p = c.ports[0];
    CHECK(p.infinite_rx == d.infinite_rx);
    CHECK(p.preload == d.preload);
    CHECK(p.rx_queues == d.rx_queues);
    CHECK(p.rx_descriptors == d.rx_descriptors);
    CHECK(p.mtu == d.mtu);
    CHECK(p.promiscuous == d.promiscuous);
    CHECK(p.allmulti == d.allmulti);
    CHECK(p.devargs == d.devargs);
    const decap::DecapConfig dd;
    CHECK(c.decap.udp_port == dd.udp_port);
    CHECK(c.decap.reserved_bits == dd.reserved_bits);
    CHECK(c.decap.max_inner_frame == dd.max_inner_frame);
    const PipelineConfig pl;
    CHECK(c.pipeline.rx_lcores == pl.rx_lcores);
    CHECK(c.pipeline.workers == pl.workers);
    CHECK(c.pipeline.burst_size == pl.burst_size);
    CHECK(c.pipeline.ring_size == pl.ring_size);
    CHECK(c.pipeline.flow_table_size == pl.flow_table_size);
    const MempoolConfig mp;
    CHECK(c.mempool.mbufs == mp.mbufs);
    CHECK(c.mempool.cache_size == mp.cache_size);
    CHECK(c.mempool.data_room == mp.data_room);
    const StatsConfig st;
    CHECK(c.stats.interval_s == st.interval_s);
    CHECK(c.stats.file == st.file);
    CHECK(c.stats.telemetry == st.telemetry);
    CHECK(c.instance.id == InstanceConfig{}.id);
    const CaptureConfig cp;
    CHECK(c.capture.pcapng == cp.pcapng);
    CHECK(c.capture.max_bytes == cp.max_bytes);
    CHECK(c.capture.max_files == cp.max_files);
    CHECK(c.capture.snaplen == cp.snaplen);
}

TEST_CASE("config fills left-out sections and keys with the defaults", "[config]") {
    Config c = parse_ok(kMinimal);
    REQUIRE(c.eal_args.empty());
    REQUIRE(c.ports[0].name == "pcap0");
    REQUIRE(c.ports[0].rx_descriptors == 1024);
    REQUIRE(c.decap.udp_port == 4789);
    REQUIRE(c.pipeline.ring_size == 4096);
    REQUIRE(c.mempool.data_room == 2176);
    REQUIRE(c.capture.max_bytes == 64ull << 20);
}

TEST_CASE("config reads every section's values", "[config]") {
    Config c = parse_ok(kMinimal +
                        "eal: {args: [-l, 0-3]}\n"
                        "pipeline: {rx_lcores: 1, workers: 0, burst_size: 64, ring_size: 0x400,"
                        " flow_table_size: 1024}\n"
                        "mempool: {mbufs: 8191, cache_size: 512, data_room: 9344}\n"
                        "stats: {interval_s: 10, file: /tmp/s.json, telemetry: false}\n"
                        "capture: {pcapng: out.pcapng, max_bytes: 65536, max_files: 2, snaplen: 128}\n");
    REQUIRE(c.eal_args == std::vector<std::string>{"-l", "0-3"});
    REQUIRE(c.pipeline.workers == 0);
    REQUIRE(c.pipeline.burst_size == 64);
    REQUIRE(c.pipeline.ring_size == 1024);
    REQUIRE(c.mempool.mbufs == 8191);
    REQUIRE(c.mempool.cache_size == 512);
    REQUIRE(c.mempool.data_room == 9344);
    REQUIRE(c.stats.interval_s == 10);
    REQUIRE(c.stats.file == "/tmp/s.json");
    REQUIRE_FALSE(c.stats.telemetry);
    REQUIRE(c.capture.pcapng == "out.pcapng");
    REQUIRE(c.capture.max_bytes == 65536);
    REQUIRE(c.capture.max_files == 2);
    REQUIRE(c.capture.snaplen == 128);
}

TEST_CASE("config rejects a misspelt key with its position, path and the known keys", "[config]") {
    Error e = parse_error(kMinimal + "  udp_prot: 4789\n");  // line 5, inside decap
    REQUIRE(e.where == "vtapd.yaml:5:3");
    REQUIRE(e.what.find("unknown key 'udp_prot' in 'decap'") != std::string::npos);
    REQUIRE(e.what.find("did you mean 'udp_port'?") != std::string::npos);
    REQUIRE(e.what.find("known: mode, udp_port, reserved_bits, max_inner_frame, tap_sources, vnis") !=
            std::string::npos);
    REQUIRE(e.to_string().starts_with("vtapd.yaml:5:3: unknown key 'udp_prot'"));
}

TEST_CASE("config rejects unknown keys in every section", "[config]") {
    struct Case {
        std::string text;
        int line;
        std::string key;
        std::string section;
    };
    const Case cases[] = {
        {kMinimal + "statistics: {}\n", 5, "'statistics'", "at top level"},
        {kMinimal + "eal:\n  argv: []\n", 6, "'argv'", "in 'eal'"},
        {kMinimal + "pipeline:\n  worker: 2\n", 6, "'worker'", "in 'pipeline'"},
        {kMinimal + "mempool:\n  mbuf: 2\n", 6, "'mbuf'", "in 'mempool'"},
        {kMinimal + "stats:\n  interval: 2\n", 6, "'interval'", "in 'stats'"},
        {kMinimal + "capture:\n  pcap: x\n", 6, "'pcap'", "in 'capture'"},
        {kMinimal + "instance:\n  name: x\n", 6, "'name'", "in 'instance'"},
        {"ports:\n  - driver: pcap\n    pcap_file: a\n    queues: 2\n" + kMinimalDecap, 4,
         "'queues'", "in 'ports[0]'"},
    };
    for (const auto& c : cases) {
        Error e = parse_error(c.text);
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(c.line)));
        CHECK(e.what.find("unknown key " + c.key + " " + c.section) != std::string::npos);
    }
}

TEST_CASE("config rejects a key given twice in one mapping", "[config]") {
    Error e = parse_error(kMinimal + "  udp_port: 1\n  udp_port: 2\n");
    INFO(e.to_string());
    REQUIRE(e.where == "vtapd.yaml:6:3");
    REQUIRE(e.what == "key 'decap.udp_port' is given twice");
}

TEST_CASE("config rejects values of the wrong type or out of range, naming key and range",
          "[config]") {
    struct Case {
        std::string yaml;   // appended after kMinimal: the bad value is on line 6
        std::string needle; // must appear in the message
    };
    const Case cases[] = {
        {"  udp_port: 70000\n", "'decap.udp_port' is 70000, out of range (allowed 1..65535)"},
        {"  udp_port: 0\n", "'decap.udp_port' is 0, out of range (allowed 1..65535)"},
        {"  udp_port: -1\n", "'decap.udp_port' must be an integer in 1..65535, got '-1'"},
        {"  udp_port: 4789.0\n", "got '4789.0'"},
        {"  udp_port: [1]\n", "'decap.udp_port' must be an integer in 1..65535, got a list"},
        {"  udp_port: 99999999999999999999999\n", "out of range (allowed 1..65535)"},
        {"  reserved_bits: lenient\n", "'decap.reserved_bits' is 'lenient'; use permissive or strict"},
        {"  max_inner_frame: 20\n", "'decap.max_inner_frame' is 20, out of range (allowed 64..16384)"},
    };
    for (const auto& c : cases) {
        Error e = parse_error(kMinimal + c.yaml);
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(5)));
        CHECK(e.what.find(c.needle) != std::string::npos);
    }

    const Case pipeline[] = {
        {"  burst_size: 0\n", "'pipeline.burst_size' is 0, out of range (allowed 1..64)"},
        {"  burst_size: 65\n", "'pipeline.burst_size' is 65, out of range (allowed 1..64)"},
        {"  ring_size: 1000\n", "'pipeline.ring_size' is 1000; it must be a power of two"},
        {"  ring_size: 32\n", "'pipeline.ring_size' is 32, out of range (allowed 64..16777216)"},
        {"  workers: 65\n", "'pipeline.workers' is 65, out of range (allowed 0..64)"},
        {"  rx_lcores: 0\n", "'pipeline.rx_lcores' is 0, out of range (allowed 1..128)"},
        {"  flow_table_size: 10\n", "'pipeline.flow_table_size' is 10, out of range"},
    };
    for (const auto& c : pipeline) {
        Error e = parse_error(kMinimal + "pipeline:\n" + c.yaml);
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(6)));
        CHECK(e.what.find(c.needle) != std::string::npos);
    }

    const Case others[] = {
        {"mempool:\n  data_room: 1000\n", "'mempool.data_room' is 1000, out of range (allowed 1024..65535)"},
        {"mempool:\n  mbufs: 100\n", "'mempool.mbufs' is 100, out of range"},
        {"mempool:\n  cache_size: 513\n", "'mempool.cache_size' is 513, out of range (allowed 0..512)"},
        {"stats:\n  telemetry: yes\n", "'stats.telemetry' must be true or false, got 'yes'"},
        {"stats:\n  file: [a]\n", "'stats.file' must be a string, got a list"},
        {"stats:\n  interval_s: 86401\n", "'stats.interval_s' is 86401, out of range (allowed 0..86400)"},
        {"capture:\n  snaplen: 10\n", "'capture.snaplen' is 10; use 0 (whole frame) or 64..65535"},
        {"capture:\n  max_files: 0\n", "'capture.max_files' is 0, out of range (allowed 1..1024)"},
        {"capture:\n  max_bytes: 100\n", "'capture.max_bytes' is 100, out of range"},
        {"eal:\n  args: --no-huge\n", "'eal.args' must be a list of strings, got a scalar"},
        {"eal:\n  args: [[a]]\n", "'eal.args[0]' must be a string, got a list"},
    };
    for (const auto& c : others) {
        Error e = parse_error(kMinimal + c.yaml);
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(6)));
        CHECK(e.what.find(c.needle) != std::string::npos);
    }
}

TEST_CASE("config rejects a section that is not a mapping", "[config]") {
    Error e = parse_error(kMinimal + "pipeline: [1, 2]\n");
    INFO(e.to_string());
    REQUIRE(e.where == "vtapd.yaml:5:11");
    REQUIRE(e.what == "'pipeline' must be a mapping of keys, got a list");
    Error top = parse_error("- a\n- b\n");
    INFO(top.to_string());
    REQUIRE(top.what == "the document must be a mapping of keys, got a list");
}

TEST_CASE("config checks rules that span sections", "[config]") {
    Error lcores = parse_error(kMinimal + "pipeline:\n  rx_lcores: 2\n");
    INFO(lcores.to_string());
    CHECK(lcores.where == "vtapd.yaml:6:14");
    CHECK(lcores.what.find("'pipeline.rx_lcores' is 2 but the ports have only 1 RX queues") !=
          std::string::npos);

    // Run to completion on two RX lcores: RSS on outer headers would split connections.
    Error rtc = parse_error("ports:\n  - {driver: pcap, pcap_file: a, rx_queues: 2}\n" + kMinimalDecap +
                            "pipeline:\n  rx_lcores: 2\n  workers: 0\n");
    INFO(rtc.to_string());
    CHECK(rtc.where == "vtapd.yaml:7:12");
    CHECK(rtc.what.find("'pipeline.workers' is 0 (run to completion) with 2 RX lcores") != std::string::npos);
    CHECK(parse_error("ports:\n  - {driver: pcap, pcap_file: a, rx_queues: 2}\n" + kMinimalDecap +
                      "pipeline:\n  rx_lcores: 2\n  workers: 0\n  flow_table_size: 1\n")
              .what.find("flow_table_size") != std::string::npos);  // ranges are checked first

    Error mbufs = parse_error(
        "ports:\n  - {driver: pcap, pcap_file: a, rx_queues: 4, rx_descriptors: 4096}\n" +
        kMinimalDecap + "mempool:\n  mbufs: 16383\n");

    INFO(mbufs.to_string());
    CHECK(mbufs.where == "vtapd.yaml:6:10");
    CHECK(mbufs.what.find("RX rings hold 16384") != std::string::npos);
    // One more mbuf than descriptors is enough.
    parse_ok("ports:\n  - {driver: pcap, pcap_file: a, rx_queues: 4, rx_descriptors: 4096}\n" +
             kMinimalDecap + "mempool:\n  mbufs: 16385\n");

}

TEST_CASE("config reports YAML syntax errors at their 1-based line and column", "[config]") {
    Error bracket = parse_error(kMinimal + "pipeline: {workers: 2\nstats: {}\n");
    INFO(bracket.to_string());
    CHECK(starts_with(bracket.where, "vtapd.yaml:"));
    CHECK(bracket.what.starts_with("YAML syntax error: "));
    // yaml-cpp notices the unclosed flow map on the line after it.
    CHECK((starts_with(bracket.where, at_line(5)) || starts_with(bracket.where, at_line(6))));

    Error indent = parse_error("ports:\n  - driver: pcap\n   pcap_file: a\n");

    INFO(indent.to_string());
    CHECK(starts_with(indent.where, at_line(3)));
    CHECK(indent.what.starts_with("YAML syntax error: "));

    Error tab = parse_error(kMinimal + "pipeline:\n\tworkers: 2\n");

    INFO(tab.to_string());
    CHECK(starts_with(tab.where, at_line(6)));

    Error alias = parse_error(kMinimal + "stats: *nowhere\n");

    INFO(alias.to_string());
    CHECK(starts_with(alias.where, at_line(5)));
    CHECK(alias.what.starts_with("YAML syntax error: "));
}

TEST_CASE("config turns broken YAML into errors, never crashes", "[config]") {
    const std::string inputs[] = {
        "{", "[", "]", ":", "- - -", "a: b: c", "&a [*a]", "? [a]\n: b\n", "\"unterminated",
        std::string(5000, '['), std::string("\0\xff\xfe", 3), "ports: !!binary AAAA",
        "%YAML 9.9\n---\na: 1\n", "ports: [{driver: pcap, pcap_file: a}]\n---\nb: 2\n",
        "", "# only a comment\n", "~\n", "42\n",
    };
    for (const auto& text : inputs) {
        INFO("input: " << text.substr(0, 40));
        auto r = parse(text, kFile);
        CHECK_FALSE(r.has_value());
        if (!r) CHECK(starts_with(r.error().where, kFile));
    }
}

TEST_CASE("config reports absurdly deep nesting as a YAML error", "[config]") {
    Error e = parse_error(std::string(5000, '['));
    CHECK(e.where == "vtapd.yaml:1:1");
    CHECK(e.what.starts_with("YAML syntax error: nesting deeper than"));
}

TEST_CASE("config rejects an empty document and a second document", "[config]") {
    Error empty = parse_error("# nothing here\n");
    INFO(empty.to_string());
    CHECK(empty.where == "vtapd.yaml");
    CHECK(empty.what.find("the configuration is empty") != std::string::npos);

    Error two = parse_error(kMinimal + "---\nports: []\n");

    INFO(two.to_string());
    CHECK(starts_with(two.where, at_line(6)));
    CHECK(two.what.find("more than one YAML document") != std::string::npos);
}

TEST_CASE("load reports a missing file or a directory clearly", "[config]") {
    TempDir dir;
    std::string missing = (dir.path() / "nope.yaml").string();
    auto r = load(missing);
    REQUIRE_FALSE(r);
    CHECK(r.error().where == missing);
    CHECK(r.error().what == "cannot read configuration file: no such file");

    auto d = load(dir.path().string());
    REQUIRE_FALSE(d);
    CHECK(d.error().what == "cannot read configuration file: it is a directory");
}

TEST_CASE("load names the file in error positions", "[config]") {
    TempDir dir;
    std::string path = dir.write("etc/bad.yaml", kMinimal + "  vni: [1]\n");
    auto r = load(path);
    REQUIRE_FALSE(r);
    CHECK(r.error().where == path + ":5:3");
    CHECK(r.error().what.find("unknown key 'vni' in 'decap' (did you mean 'vnis'?") !=
          std::string::npos);
}

TEST_CASE("load resolves relative pcap files against the config file's directory", "[config]") {
    TempDir dir;
    std::string path = dir.write("etc/vtapd.yaml",
                                 "ports:\n"
                                 "  - {driver: pcap, pcap_file: ../data/in.pcap}\n"
                                 "  - {driver: pcap, pcap_file: /abs/in.pcap}\n"
                                 "  - {driver: 'null'}\n" +
                                     kMinimalDecap);
    auto r = load(path);
    if (!r) FAIL(r.error().to_string());
    CHECK(r->source == path);
    CHECK(r->ports[0].pcap_file == (dir.path() / "data/in.pcap").string());
    CHECK(r->ports[1].pcap_file == "/abs/in.pcap");
    CHECK(r->ports[2].pcap_file.empty());
}

TEST_CASE("resolve_pcap_files places the default's demo capture in a data directory", "[config]") {
    Config c = parse_ok(default_yaml());
    resolve_pcap_files(c, "/usr/share/vtapd/demo");
    CHECK(c.ports[0].pcap_file == "/usr/share/vtapd/demo/vtap-demo.pcap");
    Config same = parse_ok(default_yaml());
    resolve_pcap_files(same, "");
    CHECK(same.ports[0].pcap_file == "vtap-demo.pcap");
}

TEST_CASE("config reads instance.id, which names this collector in its alerts", "[config]") {
    CHECK(parse_ok(kMinimal).instance.id.empty());
    CHECK(parse_ok(kMinimal + "instance: {id: \"\"}\n").instance.id.empty());
    CHECK(parse_ok(kMinimal + "instance: {id: vtap-nva-1.eastus_2}\n").instance.id == "vtap-nva-1.eastus_2");
    CHECK(parse_ok(kMinimal + "instance: {id: " + std::string(64, 'a') + "}\n").instance.id.size() == 64);
}

TEST_CASE("config rejects an instance.id that is not a plain host-name-like token", "[config]") {
    // Spaces, quotes and over-long ids would need escaping in EVE and break
    // an RFC 5424 HOSTNAME; each is an error at the key's position.
    for (const std::string& bad : {std::string("\"nva 1\""), std::string("\"a\\\"b\""), std::string(65, 'a'),
                                  std::string("\"caf\u00e9\"")}) {
        Error e = parse_error(kMinimal + "instance:\n  id: " + bad + "\n");
        INFO(e.to_string());
        CHECK(starts_with(e.where, at_line(6)));
        CHECK(e.what.find("'instance.id' is") != std::string::npos);
        CHECK(e.what.find("1..64 of A-Z a-z 0-9 . _ -") != std::string::npos);
    }
    Error e = parse_error(kMinimal + "instance:\n  id: [a]\n");
    CHECK(starts_with(e.where, at_line(6)));
}
