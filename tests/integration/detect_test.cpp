// Detection end to end: the vtapd binary on the bundled demo capture with the
// demo rules (the embedded default configuration), alerts to an EVE file.
// Expected counts come from reading the capture independently here.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <string>

#include <pcap/pcap.h>

#include "support/process.hpp"

using namespace vtap::test;

namespace {

const std::string kVtapd = env_or("VTAPD", "apps/vtapd/vtapd");
const std::string kDemo = env_or("VTAP_DEMO_PCAP", "apps/vtap-pcap/vtap-demo.pcap");
const std::string kSource = env_or("VTAP_SOURCE_ROOT", "..");

// Inner ICMPv4 echo requests in a VTAP capture (outer stack of 50 bytes).
unsigned count_icmp_echo_requests(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    REQUIRE(p != nullptr);
    unsigned n = 0;
    pcap_pkthdr* h;
    const u_char* d;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (h->caplen < 50 + 14 + 20 + 8) continue;
        const u_char* in = d + 50;
        if (in[12] != 0x08 || in[13] != 0x00) continue;      // inner IPv4
        const unsigned ihl = (in[14] & 0x0F) * 4;
        if (in[14 + 9] == 1 && in[14 + ihl] == 8) n++;        // ICMP type 8
    }
    pcap_close(p);
    return n;
}

std::map<unsigned, unsigned> sids_in(const std::string& eve) {
    std::ifstream f(eve);
    std::map<unsigned, unsigned> out;
    std::string line;
    static const std::regex sid("\"signature_id\":([0-9]+)");
    std::smatch m;
    while (std::getline(f, line))
        if (std::regex_search(line, m, sid)) out[std::stoul(m[1])]++;
    return out;
}

}  // namespace

TEST_CASE("vtapd alerts on the demo capture with the demo rules, once per matching packet or stream chunk",
          "[integration][detect]") {
    TempDir dir;
    const std::string conf = kSource + "/conf/vtapd.yaml";
    std::string text;
    {
        std::ifstream in(conf);
        REQUIRE(in);
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    // The reference config, with the capture and EVE file of this test.
    text = std::regex_replace(text, std::regex("pcap_file: \"?vtap-demo.pcap\"?"), "pcap_file: \"" + kDemo + "\"");
    text = std::regex_replace(text, std::regex("eve: \"-\""), "eve: \"" + dir / "eve.json" + "\"");
    text = std::regex_replace(text, std::regex("\"rules/"), "\"" + kSource + "/conf/rules/");
    text = std::regex_replace(text, std::regex("\"--no-shconf\""), "\"--no-shconf\", \"--file-prefix=vtapdet\"");
    // A named instance (scale-out): every alert says which collector saw it.
    text = std::regex_replace(text, std::regex("\n  id: \"\"\n"), "\n  id: \"collector-7\"\n");
    REQUIRE(text.find(dir / "eve.json") != std::string::npos);
    REQUIRE(text.find("id: \"collector-7\"") != std::string::npos);
    std::ofstream(dir / "vtapd.yaml") << text;

    auto out = run_cmd(kVtapd + " -c " + dir / "vtapd.yaml" + " --workers 2 --stats-file " + dir / "s.json");
    INFO(out.text);
    REQUIRE(out.status == 0);
    auto s = read_stats(dir / "s.json");
    auto sids = sids_in(dir / "eve.json");

    // Every alert made it from the workers to the file, and only those.
    unsigned lines = 0;
    for (auto& [sid, n] : sids) lines += n;
    CHECK(s["alert.generated"] == lines);
    CHECK(s["alert.written"] == lines);
    CHECK(s["alert.dropped"] == 0);
    CHECK(s["rx.packets"] == s["decap.delivered"] + s["drops.total"]);

    // Packet-level rule: one alert per ICMP echo request frame in the capture.
    const unsigned echo = count_icmp_echo_requests(kDemo);
    REQUIRE(echo > 0);
    CHECK(sids[9000004] == echo);
    // Stream rules fire; the planted signature (54 frames, some in
    // conversations between the two tapped VMs, which $EXTERNAL_NET excludes,
    // and some the second tap copy of an already-delivered segment) fires
    // at least once and never more often than it was planted.
    CHECK(sids[9000001] > 0);
    CHECK(sids[9000001] <= 54);
    CHECK(sids[9000002] > 0);
    CHECK(sids[9000003] > 0);
    CHECK(sids.size() == 4);

    // Every line is one valid JSON object (checked by Python's strict parser).
    auto check = run_cmd("/usr/bin/python3 -c 'import json,sys\n"
                         "n=0\n"
                         "for l in open(sys.argv[1], encoding=\"utf-8\"):\n"
                         "  o=json.loads(l); assert o[\"event_type\"]==\"alert\"; assert o[\"tunnel\"][\"vxlan_vni\"]==27\n"
                         "  assert o[\"host\"]==\"collector-7\", o.get(\"host\"); n+=1\n"
                         "print(n)' " + dir / "eve.json");
    INFO(check.text);
    CHECK(check.status == 0);
    CHECK(std::stoul(check.text) == lines);
}

TEST_CASE("vtapd --test-rules reports skipped keywords and exits 1 on a broken rule", "[integration][detect]") {
    TempDir dir;
    std::ofstream(dir / "r.rules")
        << "alert tcp any any -> any 80 (msg:\"ok\"; content:\"GET\"; sid:1; rev:1;)\n"
        << "alert tcp any any -> any 80 (msg:\"needs flowint\"; flowint:x,+,1; content:\"a\"; sid:2;)\n";
    auto ok = run_cmd(kVtapd + " --test-rules --rules " + dir / "r.rules");
    INFO(ok.text);
    CHECK(ok.status == 0);
    CHECK_THAT(ok.text, Catch::Contains("1 loaded") && Catch::Contains("flowint"));

    std::ofstream(dir / "bad.rules") << "alert tcp any any -> any 80 (msg:\"unterminated; sid:3;)\n";
    auto bad = run_cmd(kVtapd + " --test-rules --rules " + dir / "bad.rules");
    INFO(bad.text);
    CHECK(bad.status == 1);
    CHECK_THAT(bad.text, Catch::Contains("bad.rules:1"));
}
