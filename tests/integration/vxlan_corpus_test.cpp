// Real VXLAN captures from the shared corpus (tcpdump, Zeek, nDPI and
// suricata-verify test suites) through the vtapd binary: each file decodes
// or drops for its documented reason, counted exactly. Where every frame is
// delivered, the decapsulated capture sink must hold exactly the input frames
// minus their outer headers. The corpus is not part of the repository: the
// binary exits 77 (meson: skipped) when $VTAP_CORPUS (default
// <source root>/../shared/corpus) has no vxlan/ folder.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
namespace fs = std::filesystem;

namespace {

std::string g_vxlan;  // <corpus>/vxlan

using Counts = std::vector<std::pair<std::string, uint64_t>>;

// One run of one capture. Each counter not listed in `counts` must be zero
// (checked through drops.total, and reserved_bits_set explicitly).
struct Case {
    std::string file;       // under <corpus>/vxlan
    std::string decap;      // extra lines under decap:
    uint64_t delivered;
    Counts counts;          // other counters that must be non-zero, exactly
    bool compare_inner = false;  // all delivered: the capture sink holds input minus outer headers
    std::string mempool = "  mbufs: 4095\n";
};

// Counters in `counts` that are not drops.
bool is_drop(const std::string& name) {
    return name != "decap.reserved_bits_set" && name != "decap.inner_payload_cut" && name != "decap.diverted";
}

// The outer Ethernet (+ one 802.1Q tag), IPv4 without options, UDP and VXLAN
// headers: 50 bytes, 54 with the tag. Every corpus frame compared is so.
std::vector<uint8_t> strip_outer(const std::vector<uint8_t>& f) {
    const size_t off = f[12] == 0x81 && f[13] == 0x00 ? 54 : 50;
    return {f.begin() + static_cast<long>(off), f.end()};
}

std::map<std::string, double> run_case(const Case& c) {
    TempDir dir;
    const std::string input = g_vxlan + "/" + c.file;
    VtapdConfig vc;
    vc.prefix = eal_prefix("corp");
    vc.ports = pcap_port_yaml(input);
    vc.tap_sources = "[0.0.0.0/0]";
    vc.decap = c.decap;
    vc.mempool = c.mempool;
    const std::string capture = dir / "inner.pcapng";
    if (c.compare_inner) vc.extra = "capture:\n  pcapng: " + capture + "\n";
    const std::string cfg = write_vtapd_config(dir / "vtapd.yaml", vc);
    const std::string stats = dir / "stats.json";
    auto out = run_cmd(vtapd_path() + " -c " + cfg + " --stats-file " + stats);
    INFO(c.file << " with decap settings:\n" << c.decap << out.text);
    REQUIRE(out.status == 0);
    auto s = read_stats(stats);

    const auto frames = read_pcap(input);
    CHECK(s["rx.packets"] == frames.size());
    CHECK(s["port.pcap0.ipackets"] == frames.size());
    // net_pcap chains frames longer than one mbuf (the 80 kB BIG TCP frame
    // takes 40); a refused frame would show here and be missing above.
    CHECK(s["port.pcap0.ierrors"] == 0);
    CHECK(s["port.pcap0.rx_nombuf"] == 0);
    CHECK(s["decap.delivered"] == c.delivered);
    CHECK(s["worker.packets"] == c.delivered);
    uint64_t drops = 0, reserved = 0;
    for (const auto& [name, n] : c.counts) {
        INFO(name);
        CHECK(s[name] == n);
        if (is_drop(name)) drops += n;
        if (name == "decap.reserved_bits_set") reserved = n;
    }
    CHECK(s["drops.total"] == drops);
    CHECK(s["decap.reserved_bits_set"] == reserved);
    CHECK(s["rx.packets"] == s["decap.delivered"] + s["drops.total"]);

    if (c.compare_inner) {
        REQUIRE(c.delivered == frames.size());
        std::vector<std::vector<uint8_t>> want, got = read_pcap(capture);
        for (const auto& f : frames) want.push_back(strip_outer(f));
        sort_frames(want);
        sort_frames(got);
        CHECK(s["capture.packets"] == frames.size());
        CHECK(got.size() == want.size());
        CHECK(got == want);
    }
    return s;
}

// Every capture of the corpus and what vtapd must make of it, with the
// decap settings that matter. Defaults: UDP port 4789, reserved bits
// permissive, max_inner_frame 9216, mbufs of 2176 bytes.
const std::vector<Case>& cases() {
    static const std::vector<Case> k = {
        // Linux's own VXLAN port: not VTAP, never decoded by a 4789 receiver.
        {"tcpdump/vxlan_port_8472.pcap", "", 0, {{"decap.wrong_port", 10}}},
        // VXLAN-GPE carrying NSH goes to UDP 4790 (its IANA port): wrong port.
        {"tcpdump/nsh-over-vxlan-gpe.pcap", "", 0, {{"decap.wrong_port", 1}}},
        // Even on 4790, GPE's P bit (0x04) is a reserved bit to RFC 7348, and
        // what follows is an NSH header, not Ethernet: its "EtherType" 0x1234
        // is no IP. Strict mode stops it at the flags.
        {"tcpdump/nsh-over-vxlan-gpe.pcap", "  udp_port: 4790\n", 0,
         {{"decap.reserved_bits_set", 1}, {"decap.inner_not_ip", 1}}},
        {"tcpdump/nsh-over-vxlan-gpe.pcap", "  udp_port: 4790\n  reserved_bits: strict\n", 0,
         {{"decap.vxlan_reserved", 1}}},
        // nDPI: 127 frames behind an outer 802.1Q tag (VLAN 5), VNI 1111.
        {"ndpi/vxlan.pcap", "", 127, {}, true},
        // A real AWS traffic mirror (VNI 5569041 = 0x54fa11, all 24 bits used).
        {"suricata-verify/vxlan-decoder-03_aws-traffic-mirror.pcap", "", 100, {}, true},
        {"suricata-verify/vxlan-decoder-03_aws-traffic-mirror.pcap", "  vnis: [5569041]\n", 100, {}},
        {"suricata-verify/vxlan-decoder-03_aws-traffic-mirror.pcap", "  vnis: [27, 5569040, 5569042]\n", 0,
         {{"decap.vni_denied", 100}}},
        // Two plain UDP datagrams (to 12345 and 32021) around one VXLAN frame.
        {"suricata-verify/vxlan-decoder-01_input.pcap", "", 1, {{"decap.wrong_port", 2}}, false},
        // Flags 0xff and non-zero reserved bytes on all 10 frames, I flag set.
        {"suricata-verify/vxlan-non-zero-reserved-fields_input.pcap", "", 10, {{"decap.reserved_bits_set", 10}},
         true},
        {"suricata-verify/vxlan-non-zero-reserved-fields_input.pcap", "  reserved_bits: strict\n", 0,
         {{"decap.vxlan_reserved", 10}}},
        // A TCP SYN with checksum 0xdead: vtapd does not validate inner checksums.
        {"zeek/vxlan-inner-tcp-bad-checksum.pcap", "", 1, {}, true},
        // VXLAN in VXLAN in VXLAN (VNIs 1, 2, 3), flags 0x0c (I + the GPE P
        // bit). One layer is stripped; the delivered frame is the tapped VM's
        // own VXLAN traffic. Strict mode drops it for the P bit.
        {"zeek/vxlan-triple-v2.pcap", "", 1, {{"decap.reserved_bits_set", 1}}, true},
        {"zeek/vxlan-triple-v2.pcap", "  reserved_bits: strict\n", 0, {{"decap.vxlan_reserved", 1}}},
        // GSO super-frames as the sending host captured them: a 7056-byte and
        // a 4220-byte inner frame, within max_inner_frame (9216), delivered
        // over chained mbufs; a lower bound drops them as inner_oversize.
        {"tcpdump/gso-ipv4-vxlan-ipv4.pcap", "", 1, {}, true},
        {"tcpdump/gso-ipv4-vxlan-ipv6.pcap", "", 1, {}, true},
        {"tcpdump/gso-ipv4-vxlan-ipv4.pcap", "", 1, {}, true, "  mbufs: 1023\n  data_room: 9344\n"},
        {"tcpdump/gso-ipv4-vxlan-ipv4.pcap", "  max_inner_frame: 4096\n", 0, {{"decap.inner_oversize", 1}}},
        {"tcpdump/gso-ipv4-vxlan-ipv6.pcap", "  max_inner_frame: 4096\n", 0, {{"decap.inner_oversize", 1}}},
        // Outer IPv6: Azure vTAP sends IPv4 only.
        {"tcpdump/gso-ipv6-vxlan-ipv4.pcap", "", 0, {{"decap.not_ipv4", 1}}},
        {"tcpdump/gso-ipv6-vxlan-ipv6.pcap", "", 0, {{"decap.not_ipv4", 1}}},
        // BIG TCP over IPv4: an 80 kB frame whose IPv4 total length is 0 (no
        // 16-bit length can hold it; Linux leaves 0) and whose UDP length is
        // 0: the outer IPv4 header is inconsistent, so outer_bad_ip.
        {"tcpdump/bigtcp-ipv4-vxlan-ipv4.pcap", "", 0, {{"decap.outer_bad_ip", 1}}},
        {"tcpdump/bigtcp-ipv4-vxlan-ipv6.pcap", "", 0, {{"decap.outer_bad_ip", 1}}},
        {"tcpdump/bigtcp-ipv6-vxlan-ipv4.pcap", "", 0, {{"decap.not_ipv4", 1}}},
        {"tcpdump/bigtcp-ipv6-vxlan-ipv6.pcap", "", 0, {{"decap.not_ipv4", 1}}},
        // ICMP echo plus two ARP frames inside VXLAN: the ARP is not IP.
        {"tcpdump/vxlan.pcap", "", 8, {{"decap.inner_not_ip", 2}}},
        {"zeek/vxlan.pcap", "", 8, {{"decap.inner_not_ip", 2}}},
        // HTTP with one 9050-byte inner frame (jumbo): delivered at the
        // default bound, inner_oversize below it.
        {"zeek/vxlan-encapsulated-http.pcap", "", 12, {}, true},
        {"zeek/vxlan-encapsulated-http.pcap", "  max_inner_frame: 9000\n", 11, {{"decap.inner_oversize", 1}}},
        // IGMP (protocol 2): IP without a parsed L4 header, still delivered.
        {"zeek/vxlan-encapsulated-igmp-v2.pcap", "", 3, {}, true},
        // Geneve (UDP 6081) carrying VXLAN, captured with snaplen 176 while
        // the IPv4 total lengths claim 182 and 202 bytes: the length is
        // checked against the frame before the port, so outer_truncated.
        {"zeek/geneve-vxlan-dns-truncated.pcap", "", 0, {{"decap.outer_truncated", 2}}},
    };
    return k;
}

void run_file(const std::string& file) {
    unsigned n = 0;
    for (const auto& c : cases())
        if (c.file == file) {
            DYNAMIC_SECTION(file << " [" << c.decap << "]") { run_case(c); }
            n++;
        }
    REQUIRE(n > 0);
}

}  // namespace

TEST_CASE("vtapd ignores VXLAN sent to the Linux port 8472", "[integration][corpus]") {
    run_file("tcpdump/vxlan_port_8472.pcap");
}

TEST_CASE("vtapd never delivers VXLAN-GPE with NSH, on its own port or on the configured one", "[integration][corpus]") {
    run_file("tcpdump/nsh-over-vxlan-gpe.pcap");
}

TEST_CASE("vtapd accepts one outer 802.1Q tag and delivers the inner frames unchanged", "[integration][corpus]") {
    run_file("ndpi/vxlan.pcap");
}

TEST_CASE("vtapd decodes a real AWS traffic mirror capture and its 24-bit VNI", "[integration][corpus]") {
    run_file("suricata-verify/vxlan-decoder-03_aws-traffic-mirror.pcap");
}

TEST_CASE("vtapd delivers VXLAN among plain UDP and counts the rest as wrong_port", "[integration][corpus]") {
    run_file("suricata-verify/vxlan-decoder-01_input.pcap");
}

TEST_CASE("vtapd counts non-zero VXLAN reserved bits when permissive and drops them when strict", "[integration][corpus]") {
    run_file("suricata-verify/vxlan-non-zero-reserved-fields_input.pcap");
}

TEST_CASE("vtapd delivers an inner TCP segment with a bad checksum byte for byte", "[integration][corpus]") {
    run_file("zeek/vxlan-inner-tcp-bad-checksum.pcap");
    // The checksum survives decap: offset 14 (Eth) + 20 (IPv4) + 16 in the inner frame.
    auto in = strip_outer(read_pcap(g_vxlan + "/zeek/vxlan-inner-tcp-bad-checksum.pcap").at(0));
    CHECK(in.at(50) == 0xde);
    CHECK(in.at(51) == 0xad);
}

TEST_CASE("vtapd strips one layer of VXLAN-in-VXLAN and delivers the tapped VM's own VXLAN frame", "[integration][corpus]") {
    run_file("zeek/vxlan-triple-v2.pcap");
    // What was delivered (equal to the capture sink's frame, checked above)
    // is itself IPv4/UDP to 4789 carrying VNI 2: the second layer, intact.
    auto in = strip_outer(read_pcap(g_vxlan + "/zeek/vxlan-triple-v2.pcap").at(0));
    REQUIRE(in.size() > 50);
    CHECK((in[12] << 8 | in[13]) == 0x0800);
    CHECK(in[23] == 17);
    CHECK((in[36] << 8 | in[37]) == 4789);
    CHECK((in[46] << 16 | in[47] << 8 | in[48]) == 2);
}

TEST_CASE("vtapd bounds GSO and BIG TCP super-frames", "[integration][corpus]") {
    for (const char* f : {"tcpdump/gso-ipv4-vxlan-ipv4.pcap", "tcpdump/gso-ipv4-vxlan-ipv6.pcap",
                          "tcpdump/gso-ipv6-vxlan-ipv4.pcap", "tcpdump/gso-ipv6-vxlan-ipv6.pcap",
                          "tcpdump/bigtcp-ipv4-vxlan-ipv4.pcap", "tcpdump/bigtcp-ipv4-vxlan-ipv6.pcap",
                          "tcpdump/bigtcp-ipv6-vxlan-ipv4.pcap", "tcpdump/bigtcp-ipv6-vxlan-ipv6.pcap"})
        run_file(f);
}

TEST_CASE("vtapd decodes the tcpdump and Zeek VXLAN samples and drops inner ARP as inner_not_ip", "[integration][corpus]") {
    for (const char* f : {"tcpdump/vxlan.pcap", "zeek/vxlan.pcap", "zeek/vxlan-encapsulated-http.pcap",
                          "zeek/vxlan-encapsulated-igmp-v2.pcap"})
        run_file(f);
}

TEST_CASE("vtapd drops a snaplen-truncated Geneve capture as outer_truncated", "[integration][corpus]") {
    run_file("zeek/geneve-vxlan-dns-truncated.pcap");
}

TEST_CASE("every capture in the VXLAN corpus has an expected outcome", "[integration][corpus]") {
    std::set<std::string> known;
    for (const auto& c : cases()) known.insert(c.file);
    unsigned n = 0;
    for (const auto& e : fs::recursive_directory_iterator(g_vxlan)) {
        const auto ext = e.path().extension();
        if (!e.is_regular_file() || (ext != ".pcap" && ext != ".pcapng")) continue;
        const std::string rel = fs::relative(e.path(), g_vxlan).string();
        INFO(rel << " is in the corpus but has no case here: inspect it and add one");
        CHECK(known.count(rel) == 1);
        n++;
    }
    CHECK(n == known.size());
}

int main(int argc, char** argv) {
    const std::string root = env_or("VTAP_CORPUS", env_or("VTAP_SOURCE_ROOT", ".") + "/../shared/corpus");
    g_vxlan = root + "/vxlan";
    if (!fs::is_directory(g_vxlan)) {
        std::printf("SKIP: no VXLAN corpus at %s (set VTAP_CORPUS to the corpus root)\n", g_vxlan.c_str());
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
