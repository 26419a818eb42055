// Loads every rule file of the shared corpus (ET Open for Suricata 5, Snort 3
// community, and the two "simple subset" files) and checks the totals against
// an independent count of rule lines and against the corpus' *-stats.json.
// Exits 77 (skipped) when the corpus is absent. The corpus is found through
// VTAP_CORPUS, else ../shared/corpus (or ../../shared/corpus, the worktree
// layout) from VTAPD_SOURCE_ROOT.
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "rule_test_util.hpp"

using namespace vtap;
using namespace vtap::rules;
using namespace vtap::rules::test;
namespace fs = std::filesystem;

namespace {

fs::path g_rules;  // <corpus>/rules
const char* const kEtDir = "et-open-suricata-5.0_2024-04-21";

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Counts lines that are rules or commented-out rules, with a plain scan.
struct LineCount {
    uint32_t enabled = 0, disabled = 0;
};
LineCount count_rule_lines(const std::vector<fs::path>& files) {
    static const char* const kActions[] = {"alert ", "drop ", "reject ", "pass ", "log "};
    LineCount n;
    for (const auto& f : files) {
        std::istringstream in(read_all(f));
        for (std::string line; std::getline(in, line);) {
            size_t i = line.find_first_not_of(" \t");
            if (i == std::string::npos) continue;
            bool hashed = line[i] == '#';
            i = line.find_first_not_of("# \t", i);
            if (i == std::string::npos) continue;
            for (const char* a : kActions) {
                if (line.compare(i, std::strlen(a), a) == 0) {
                    ++(hashed ? n.disabled : n.enabled);
                    break;
                }
            }
        }
    }
    return n;
}

std::vector<fs::path> rule_files(const fs::path& p) {
    if (!fs::is_directory(p)) return {p};
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(p))
        if (e.path().extension() == ".rules") out.push_back(e.path());
    return out;
}

// The integer after "key": in a stats JSON file.
int64_t stat(const std::string& file, const std::string& key) {
    std::string text = read_all(g_rules / file);
    auto at = text.find("\"" + key + "\"");
    REQUIRE(at != std::string::npos);
    return std::strtoll(text.c_str() + text.find(':', at) + 1, nullptr, 10);
}

struct Totals {
    uint32_t loaded = 0, skipped = 0, disabled = 0, errors = 0;
};

Totals load(const fs::path& p, double* seconds = nullptr) {
    auto t0 = std::chrono::steady_clock::now();
    auto set = load_files({p.string()}, {}, (g_rules / kEtDir / "classification.config").string());
    auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (seconds) *seconds = dt;
    REQUIRE(set.has_value());
    Totals t;
    for (const auto& r : set->reports) {
        t.loaded += r.loaded;
        t.skipped += r.skipped;
        t.disabled += r.disabled;
        t.errors += static_cast<uint32_t>(r.errors.size());
        for (const auto& e : r.errors) UNSCOPED_INFO(e.to_string());
    }
    REQUIRE(t.loaded == set->rules.size());
    std::cout << p.filename().string() << ": " << t.loaded << " loaded, " << t.skipped << " skipped, " << t.disabled
              << " disabled, " << t.errors << " errors (" << static_cast<int>(dt * 1000) << " ms)\n";
    return t;
}

void check_totals(const fs::path& p, const Totals& t) {
    LineCount lines = count_rule_lines(rule_files(p));
    CHECK(t.errors == 0);
    CHECK(t.loaded + t.skipped + t.errors == lines.enabled);
    CHECK(t.disabled == lines.disabled);
}

}  // namespace

TEST_CASE("all of ET Open loads without errors and every rule line is accounted for", "[rules][corpus]") {
    double seconds = 0;
    Totals t = load(g_rules / kEtDir, &seconds);
    check_totals(g_rules / kEtDir, t);
    CHECK(t.loaded + t.skipped == stat("et-open-stats.json", "enabled"));
    CHECK(t.disabled == stat("et-open-stats.json", "disabled"));
    CHECK(t.loaded >= stat("et-open-stats.json", "enabled_simple"));
#ifdef NDEBUG
    CHECK(seconds < 5.0);  // the target is for release builds; sanitizer builds are far slower
#endif
}

TEST_CASE("all of the Snort 3 community rules load without errors", "[rules][corpus]") {
    Totals t = load(g_rules / "snort3-community");
    check_totals(g_rules / "snort3-community", t);
    CHECK(t.loaded + t.skipped == stat("snort3-community-stats.json", "enabled"));
}

TEST_CASE("nearly all of each simple subset loads", "[rules][corpus]") {
    for (auto [file, stats] : {std::pair{"et-open-simple-subset.rules", "et-open-stats.json"},
                               std::pair{"snort3-community-simple-subset.rules", "snort3-community-stats.json"}}) {
        Totals t = load(g_rules / file);
        check_totals(g_rules / file, t);
        const auto expected = stat(stats, "enabled_simple");
        CHECK(t.loaded + t.skipped == expected);
        CHECK(t.loaded >= expected * 95 / 100);
    }
}

TEST_CASE("corpus rules parse into the fields they spell out", "[rules][corpus]") {
    auto set = load_files({(g_rules / "snort3-community-simple-subset.rules").string(),
                           (g_rules / kEtDir / "3coresec.rules").string()},
                          {}, "");
    REQUIRE(set.has_value());
    auto find = [&](uint32_t sid) -> const Rule& {
        auto it = std::find_if(set->rules.begin(), set->rules.end(), [&](const Rule& r) { return r.sid == sid; });
        INFO("sid " << sid);
        REQUIRE(it != set->rules.end());
        return *it;
    };
    const Rule& dagger = find(105);  // Snort 3: content:"2|00 00 00 06 00 00 00|Drives|24 00|",depth 16
    CHECK(dagger.flow.to_client);
    CHECK(dagger.flow.established);
    CHECK(dagger.src_ports.include.at(0).lo == 2589);
    const auto& c = payload_at<Content>(dagger, 0);
    CHECK(c.bytes == std::string("2\0\0\0\x06\0\0\0Drives$\0", 16));
    CHECK(c.depth->value == 16);
    const Rule& rep = find(2525016);  // three addresses, threshold limit by_src 1 per 3600 s
    CHECK(rep.src.include.size() == 3);
    CHECK(matches(rep.src, "96.29.242.44"));
    REQUIRE(rep.threshold);
    CHECK(rep.threshold->type == Threshold::Type::kLimit);
    CHECK(rep.threshold->seconds == 3600);
    CHECK(rep.priority == 2);  // misc-attack
}

int main(int argc, char** argv) {
    fs::path corpus;
    if (const char* env = std::getenv("VTAP_CORPUS"); env && *env) {
        corpus = env;
    } else if (const char* root = std::getenv("VTAPD_SOURCE_ROOT"); root && *root) {
        for (auto rel : {"../shared/corpus", "../../shared/corpus"})
            if (fs::is_directory(fs::path(root) / rel)) {
                corpus = fs::path(root) / rel;
                break;
            }
    }
    g_rules = corpus / "rules";
    if (corpus.empty() || !fs::is_directory(g_rules / kEtDir) || !fs::is_directory(g_rules / "snort3-community")) {
        std::cout << "SKIP: rule corpus not found (set VTAP_CORPUS; looked for "
                  << (corpus.empty() ? std::string("../shared/corpus from VTAPD_SOURCE_ROOT") : g_rules.string())
                  << ")\n";
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
