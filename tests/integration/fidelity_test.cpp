// Fidelity against Suricata: every test of the shared suricata-verify corpus
// (corpus/suricata-verify/index.json) run through the vtapd binary twice with
// the test's own rules: on its VTAP-style VXLAN copy (VNI 4242, UDP 4789) and
// on the original capture with decap.mode ethernet. The alerts per sid in
// vtapd's EVE output are compared with the counts Suricata produced
// (expected_alerts.json). Tests whose rules vtapd skips or rejects count as
// unsupported, not as mismatches; so do original captures that are not
// Ethernet. The suite fails when a run named in
// tests/integration/fidelity_baseline.txt no longer matches; new matches are
// printed so the baseline can grow. Exits 77 (skipped) without a corpus.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
namespace fs = std::filesystem;

namespace {

std::string g_verify;    // <corpus>/suricata-verify
std::string g_baseline;  // <source root>/tests/integration/fidelity_baseline.txt

using SidCounts = std::map<uint64_t, uint64_t>;

enum class Verdict { kMatch, kMismatch, kUnsupported, kError };

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::kMatch: return "match";
        case Verdict::kMismatch: return "MISMATCH";
        case Verdict::kUnsupported: return "unsupported";
        case Verdict::kError: return "ERROR";
    }
    return "?";
}

// Which copy of a test's capture runs: the VXLAN-wrapped one (baseline
// lines "<test>") or the original (decap.mode ethernet; "original:<test>").
enum class Copy { kVxlan, kOriginal };

struct Outcome {
    std::string test;    // as in the baseline: "<test>" or "original:<test>"
    SidCounts expected;
    SidCounts got;       // every sid vtapd alerted on
    Verdict verdict = Verdict::kError;
    std::string note;    // why unsupported / error, suricata_args not honoured
};

std::string format_counts(const SidCounts& c) {
    std::string s;
    for (const auto& [sid, n] : c) s += (s.empty() ? "" : " ") + std::to_string(sid) + ":" + std::to_string(n);
    return s.empty() ? "-" : s;
}

// The one pcap inside <test>/vxlan/ (the VTAP-wrapped copy of the capture).
std::string vxlan_capture(const std::string& dir) {
    std::string found;
    if (!fs::is_directory(dir)) return found;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) {
            if (!found.empty()) return "";  // ambiguous: refuse rather than guess
            found = e.path().string();
        }
    }
    return found;
}

// suricata_args vtapd cannot honour; the rest it does by construction:
// checksums are never validated (-k none) and mid-stream pick-up and
// one-sided streams are its defaults.
std::string unhonoured_args(const YAML::Node& args) {
    static const std::vector<std::string> kHonoured = {"-k none", "stream.midstream=true",
                                                       "stream.async-oneside=true"};
    std::string out;
    for (const auto& a : args) {
        std::string rest = a.as<std::string>();
        for (const auto& h : kHonoured)
            for (size_t p; (p = rest.find(h)) != std::string::npos;) rest.erase(p, h.size());
        rest = std::regex_replace(rest, std::regex("--set|\\s+"), "");
        if (!rest.empty()) out += (out.empty() ? "" : ", ") + a.as<std::string>();
    }
    return out;
}

// Alerts per sid in an EVE JSON lines file.
SidCounts count_alerts(const std::string& eve) {
    SidCounts c;
    std::ifstream f(eve);
    static const std::regex sid("\"signature_id\": ?([0-9]+)");
    std::smatch m;
    for (std::string line; std::getline(f, line);)
        if (line.find("\"event_type\":\"alert\"") != std::string::npos ||
            line.find("\"event_type\": \"alert\"") != std::string::npos)
            if (std::regex_search(line, m, sid)) c[std::stoull(m[1])]++;
    return c;
}

// Suricata's packet-alert-max from the test's suricata.yaml (0: not set).
unsigned packet_alert_max(const std::string& dir) {
    try {
        const YAML::Node y = YAML::LoadFile(dir + "/suricata.yaml");
        if (y["packet-alert-max"]) return y["packet-alert-max"].as<unsigned>();
    } catch (const YAML::Exception&) {
    }
    return 0;
}

Outcome run_test(const std::string& name, const YAML::Node& entry, Copy copy) {
    Outcome o;
    o.test = copy == Copy::kVxlan ? name : "original:" + name;
    const std::string dir = g_verify + "/" + name;
    try {
        for (const auto& e : YAML::LoadFile(dir + "/expected_alerts.json")["expected_alerts"])
            o.expected[e["sid"].as<uint64_t>()] = e["count"].as<uint64_t>();
    } catch (const YAML::Exception& e) {
        o.note = "expected_alerts.json: " + std::string(e.what());
        return o;
    }
    std::string pcap, encap;
    if (copy == Copy::kVxlan) {
        pcap = vxlan_capture(dir + "/vxlan");
        if (pcap.empty()) {
            o.note = "no single capture in " + dir + "/vxlan";
            return o;
        }
    } else {
        // decap.mode ethernet reads Ethernet frames, decap.mode ip raw-IP ones.
        encap = entry["pcap_encap"].as<std::string>("ether");
        if (encap != "ether" && encap != "rawip" && encap != "rawip4" && encap != "rawip6") {
            o.verdict = Verdict::kUnsupported;
            o.note = "original capture is " + encap + ", neither Ethernet nor raw IP";
            return o;
        }
        pcap = dir + "/" + entry["pcap"].as<std::string>();
    }
    const std::string rules = dir + "/" + entry["rules"].as<std::string>("test.rules");

    TempDir tmp;
    const std::string eve = tmp / "alerts.eve";
    VtapdConfig vc;
    vc.prefix = eal_prefix("fid");
    vc.ports = pcap_port_yaml(pcap);
    vc.tap_sources = "[0.0.0.0/0]";
    vc.mempool = "  mbufs: 4095\n";
    // Workers (default 1): a connection's packets and its reassembled
    // fragments must meet on one worker whatever the count.
    vc.workers = static_cast<unsigned>(std::stoul(env_or("VTAP_FIDELITY_WORKERS", "1")));
    if (copy == Copy::kOriginal) vc.decap = encap == "ether" ? "  mode: ethernet\n" : "  mode: ip\n";
    const unsigned max_alerts = entry["has_suricata_yaml"].as<bool>(false) ? packet_alert_max(dir) : 0;
    vc.extra = "detect:\n  rule_files: ['" + rules + "']\n" +
               (max_alerts ? "  packet_alert_max: " + std::to_string(max_alerts) + "\n" : "") +
               "alerts:\n  eve: " + eve + "\n";
    const std::string cfg = write_vtapd_config(tmp / "vtapd.yaml", vc);

    // What loads: a rule skipped for an unsupported keyword, a parse error or
    // a Hyperscan rejection means vtapd does not run the test's rules as
    // written, so counts would not say anything about fidelity.
    auto report = run_cmd(vtapd_path() + " -c " + cfg + " --test-rules");
    std::smatch m;
    static const std::regex summary(
        "rules: ([0-9]+) loaded, ([0-9]+) skipped \\(unsupported keywords\\), ([0-9]+) errors, ([0-9]+) compiled");
    if (!std::regex_search(report.text, m, summary)) {
        o.note = "no load summary from --test-rules: " + report.text.substr(0, 300);
        return o;
    }
    const unsigned long loaded = std::stoul(m[1]), skipped = std::stoul(m[2]), errors = std::stoul(m[3]),
                        compiled = std::stoul(m[4]);
    if (skipped || errors || compiled < loaded) {
        o.verdict = Verdict::kUnsupported;
        o.note = std::to_string(skipped) + " skipped, " + std::to_string(errors) + " errors";
        // The report's reason lines: "  skipped N  unsupported keyword 'x'",
        // "  error file:line (sid N): why", "  rejected: ...".
        static const std::regex reason("\\n  (skipped|error|rejected)[^\\n]*");
        for (auto it = std::sregex_iterator(report.text.begin(), report.text.end(), reason);
             it != std::sregex_iterator(); ++it) {
            std::string line = (*it)[0].str().substr(3);
            if (const auto p = line.find(".rules:"); p != std::string::npos) line = "line " + line.substr(p + 7);
            o.note += "; " + line;
        }
        return o;
    }

    auto run = run_cmd(vtapd_path() + " -c " + cfg + " --stats-file " + (tmp / "stats.json"));
    if (run.status != 0) {
        o.note = "vtapd exit " + std::to_string(run.status) + ": " + run.text.substr(0, 300);
        return o;
    }
    o.got = count_alerts(eve);
    o.verdict = Verdict::kMatch;
    for (const auto& [sid, n] : o.expected) {
        auto it = o.got.find(sid);
        if ((it == o.got.end() ? 0 : it->second) != n) o.verdict = Verdict::kMismatch;
    }
    o.note = unhonoured_args(entry["suricata_args"]);
    if (!o.note.empty()) o.note = "not honoured: " + o.note;
    if (entry["has_suricata_yaml"].as<bool>(false))
        o.note += std::string(o.note.empty() ? "" : "; ") +
                  (max_alerts ? "suricata.yaml: packet-alert-max applied, the rest not"
                              : "test's suricata.yaml not applied");
    return o;
}

std::set<std::string> read_baseline() {
    std::set<std::string> out;
    std::ifstream f(g_baseline);
    for (std::string line; std::getline(f, line);) {
        line = std::regex_replace(line, std::regex("#.*|\\s+"), "");
        if (!line.empty()) out.insert(line);
    }
    return out;
}

}  // namespace

TEST_CASE("vtapd fires the alerts Suricata fires on the suricata-verify captures and their VXLAN copies",
          "[integration][fidelity]") {
    const YAML::Node index = YAML::LoadFile(g_verify + "/index.json");
    REQUIRE(index.IsMap());
    REQUIRE(fs::is_regular_file(g_baseline));
    const auto baseline = read_baseline();

    std::vector<Outcome> outcomes;
    for (const Copy copy : {Copy::kVxlan, Copy::kOriginal})
        for (const auto& kv : index) outcomes.push_back(run_test(kv.first.as<std::string>(), kv.second, copy));

    unsigned matched = 0, unsupported = 0;
    int wt = 4, we = 20, wg = 3;  // column widths: test, expected, got
    for (const auto& o : outcomes) {
        wt = std::max(wt, static_cast<int>(o.test.size()));
        we = std::max(we, static_cast<int>(format_counts(o.expected).size()));
        wg = std::max(wg, static_cast<int>(format_counts(o.got).size()));
    }
    std::printf("\n%-*s  %-*s  %-*s  %-11s  %s\n", wt, "test", we, "expected (sid:count)", wg, "got", "verdict",
                "note");
    for (const auto& o : outcomes) {
        std::printf("%-*s  %-*s  %-*s  %-11s  %s\n", wt, o.test.c_str(), we, format_counts(o.expected).c_str(), wg,
                    format_counts(o.got).c_str(), verdict_name(o.verdict), o.note.c_str());
        matched += o.verdict == Verdict::kMatch;
        unsupported += o.verdict == Verdict::kUnsupported;
    }
    std::printf("fidelity: matched %u of %zu runs (%zu tests x VXLAN copy and original capture; %u unsupported)\n",
                matched, outcomes.size(), outcomes.size() / 2, unsupported);

    std::set<std::string> names;
    for (const auto& o : outcomes) {
        names.insert(o.test);
        const bool in_baseline = baseline.count(o.test) == 1;
        if (o.verdict == Verdict::kMatch && !in_baseline)
            std::printf("newly matching — add to baseline: %s\n", o.test.c_str());
        if (in_baseline) {
            INFO(o.test << " is in the baseline but now: " << verdict_name(o.verdict) << " expected "
                        << format_counts(o.expected) << " got " << format_counts(o.got) << " " << o.note);
            CHECK(o.verdict == Verdict::kMatch);
        }
    }
    for (const auto& b : baseline) {
        INFO("baseline names " << b << ", which is not in " << g_verify << "/index.json");
        CHECK(names.count(b) == 1);
    }
    std::fflush(stdout);
}

int main(int argc, char** argv) {
    const std::string source = env_or("VTAP_SOURCE_ROOT", ".");
    const std::string root = env_or("VTAP_CORPUS", source + "/../shared/corpus");
    g_verify = root + "/suricata-verify";
    g_baseline = source + "/tests/integration/fidelity_baseline.txt";
    if (!fs::is_regular_file(g_verify + "/index.json")) {
        std::printf("SKIP: no suricata-verify corpus at %s (set VTAP_CORPUS to the corpus root)\n",
                    g_verify.c_str());
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
