// Loading files: logical lines (continuations, comments, commented-out rules),
// one outcome per rule line with its line number, duplicate sids, directories,
// classification.config, unreadable files, and the printed report.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "rule_test_util.hpp"

using namespace vtap;
using namespace vtap::rules;
using namespace vtap::rules::test;

namespace {

RuleSet load_text(const std::string& text, const std::string& name = "a.rules") {
    RuleLoader loader({}, default_classifications());
    loader.add_text(text, name);
    return loader.take();
}

// A fresh directory under /tmp, removed with the object.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char tmpl[] = "/tmp/vtap-rules-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return (path / name).string();
    }
};

}  // namespace

TEST_CASE("a rule continued with trailing backslashes parses as one, at its first line", "[rules]") {
    RuleSet set = load_text(
        "# header comment\n"
        "\n"
        "alert tcp any any -> any 80 (msg:\"multi\"; \\\n"
        "    content:\"abc\"; \\\n"
        "    sid:5;)\n"
        "alert udp any any -> any 53 (msg:\"next\"; sid:6;)\n");
    REQUIRE(set.rules.size() == 2);
    CHECK(set.rules[0].sid == 5);
    CHECK(set.rules[0].loc.line == 3);
    CHECK(payload_at<Content>(set.rules[0], 0).bytes == "abc");
    CHECK(set.rules[1].loc.line == 6);
    CHECK(set.reports[0].loaded == 2);
}

TEST_CASE("commented-out rules count as disabled and prose comments do not", "[rules]") {
    RuleSet set = load_text(
        "# This file blocks things. alert on anything suspicious\n"
        "#alert tcp any any -> any any (msg:\"off\"; sid:1;)\n"
        "# drop udp any any -> any any (msg:\"off too\"; sid:2;)\n"
        "## alert tcp any any -> any any (msg:\"multi\"; \\\n"
        "#    sid:3;)\n"
        "alert tcp any any -> any any (msg:\"on\"; sid:4;)\n");
    const FileReport& r = set.reports.at(0);
    CHECK(r.disabled == 3);
    CHECK(r.loaded == 1);
    CHECK(r.skipped == 0);
    CHECK(r.errors.empty());
}

TEST_CASE("every rule line ends as exactly one outcome and errors keep their line", "[rules]") {
    RuleSet set = load_text(
        "alert tcp any any -> any any (msg:\"ok\"; sid:1;)\r\n"
        "alert http any any -> any any (msg:\"skip\"; sid:2;)\n"
        "alert tcp any any -> any any (msg:\"flowint\"; flowint:a,+,1; sid:3;)\n"
        "alert tcp any any -> any any (msg:\"bad\"; content:\"|4|\"; sid:4;)\n"
        "\n"
        "alert tcp any any -> any any (msg:\"no sid\";)\n"
        "alert tcp any any -> any any (msg:\"dup\"; sid:1;)\n"
        "alert tcp any any -> any any (msg:\"same sid, other gid\"; gid:3; sid:1;)\n");
    const FileReport& r = set.reports.at(0);
    CHECK(r.loaded == 2);
    CHECK(r.skipped == 2);
    CHECK(r.skip_reasons.at("app-layer protocol 'http'") == 1);
    CHECK(r.skip_reasons.at("unsupported keyword 'flowint'") == 1);
    REQUIRE(r.errors.size() == 3);
    CHECK(r.errors[0].where == "a.rules:4 (sid 4)");
    CHECK(r.errors[1].where == "a.rules:6");
    CHECK(r.errors[1].what == "rule has no sid");
    CHECK(r.errors[2].where == "a.rules:7 (sid 1)");
    CHECK(r.errors[2].what == "duplicate sid 1 (gid 1), first at a.rules:1");
    CHECK(set.errors() == 3);
}

TEST_CASE("load_files reads files and directories in order and reports each", "[rules]") {
    TempDir dir;
    std::string one = dir.write("one.rules", "alert tcp any any -> any any (msg:\"1\"; sid:1;)\n");
    std::filesystem::create_directory(dir.path / "set");
    auto sub = [&](const std::string& n, const std::string& t) { return dir.write("set/" + n, t); };
    sub("b.rules", "alert udp any any -> any any (msg:\"b\"; sid:3;)\n");
    sub("a.rules", "alert udp any any -> any any (msg:\"a\"; sid:2;)\n#alert ip any any -> any any (sid:9;)\n");
    sub("notes.txt", "alert ip any any -> any any (this is not a rule file)\n");
    auto set = load_files({one, (dir.path / "set").string()}, {}, "");
    REQUIRE(set.has_value());
    REQUIRE(set->reports.size() == 3);
    CHECK(set->reports[1].file.ends_with("set/a.rules"));
    CHECK(set->reports[1].disabled == 1);
    CHECK(set->reports[2].file.ends_with("set/b.rules"));
    REQUIRE(set->rules.size() == 3);
    CHECK(set->rules[1].sid == 2);
    CHECK(set->rules[1].loc.file.ends_with("set/a.rules"));
}

TEST_CASE("an unreadable rule file fails the load and names the file", "[rules]") {
    auto set = load_files({"/nonexistent/x.rules"}, {}, "");
    REQUIRE_FALSE(set.has_value());
    CHECK(set.error().where == "/nonexistent/x.rules");
    CHECK(set.error().what.starts_with("cannot open"));
}

TEST_CASE("classification.config sets classtype priorities; a bad line is an error with its line", "[rules]") {
    TempDir dir;
    std::string conf = dir.write("c.config",
                                 "# comment\n"
                                 "config classification: my-class,My Class,4\n"
                                 "config classification: trojan-activity,A Network Trojan was detected, 1\n");
    std::string rules = dir.write("r.rules", "alert tcp any any -> any any (classtype:my-class; sid:1;)\n"
                                             "alert tcp any any -> any any (classtype:misc-attack; sid:2;)\n");
    auto set = load_files({rules}, {}, conf);
    REQUIRE(set.has_value());
    REQUIRE(set->rules.size() == 1);
    CHECK(set->rules[0].priority == 4);
    CHECK(set->classifications.at("trojan-activity").second == 1);
    REQUIRE(set->reports[0].errors.size() == 1);
    CHECK(set->reports[0].errors[0].what == "unknown classtype 'misc-attack'");

    std::string bad = dir.write("bad.config", "config classification: a,A,1\nconfig classification: b,B\n");
    auto c = load_classification(bad);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.error().where == bad + ":2");
    auto missing = load_files({rules}, {}, (dir.path / "none.config").string());
    REQUIRE_FALSE(missing.has_value());
}

TEST_CASE("the report lists counts, top skip reasons and errors per file, then totals", "[rules]") {
    RuleLoader loader({}, default_classifications());
    loader.add_text("alert tcp any any -> any any (sid:1;)\n"
                    "alert http any any -> any any (sid:2;)\n"
                    "alert http any any -> any any (sid:3;)\n"
                    "alert tcp any any -> any any (flowint:x,+,1; sid:4;)\n"
                    "#alert tcp any any -> any any (sid:5;)\n",
                    "x.rules");
    loader.add_text("alert tcp any any -> any any (content:\"a\"; sid:6\n", "y.rules");
    std::string report = format_report(loader.take());
    CHECK(report ==
          "x.rules: 1 loaded, 3 skipped, 1 disabled, 0 errors\n"
          "  skipped 2  app-layer protocol 'http'\n"
          "  skipped 1  unsupported keyword 'flowint'\n"
          "y.rules: 0 loaded, 0 skipped, 0 disabled, 1 errors\n"
          "  error y.rules:1: rule does not end with ')'\n"
          "total: 2 files, 1 loaded, 3 skipped, 1 disabled, 1 errors\n"
          "top skip reasons:\n"
          "  skipped 2  app-layer protocol 'http'\n"
          "  skipped 1  unsupported keyword 'flowint'\n");
}
