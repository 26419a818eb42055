// Compilation: statistics, the database cache (hit on identical rules, miss
// when a rule changes), background compilation.
#include <filesystem>
#include <fstream>

#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

namespace {

std::string temp_dir(const char* name) {
    auto dir = std::filesystem::temp_directory_path() / (std::string("vtapd-detect-") + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    return dir.string();
}

std::vector<rules::Rule> sample_rules() {
    return {rule(1, {C("alpha")}), rule(2, {C("beta").nocase(), C("gamma").distance(0)}), rule(3, {pcre("de+lta\\d")}),
            rule(4, {C("eps").offset(2).depth(10)}), rule(5, {C("zeta").negated()})};
}

}  // namespace

TEST_CASE("detect compile reports patterns, database sizes and rules without anchor", "[detect]") {
    Engine e(sample_rules());
    const CompileStats& st = e.db->stats();
    CHECK(st.rules_in == 5);
    CHECK(st.rules_compiled == 5);
    CHECK(st.no_anchor == 1);      // only a negated content
    CHECK(st.pcre_anchors == 1);
    const auto& ts = st.groups[static_cast<size_t>(GroupId::kStreamToServer)];
    CHECK(ts.rules == 5);
    CHECK(ts.patterns == 4);
    CHECK(ts.always == 1);
    CHECK(ts.db_bytes > 0);
    CHECK(ts.stream_state_bytes > 0);
    CHECK(st.db_bytes > ts.db_bytes);  // the block groups add theirs
    CHECK(st.groups[static_cast<size_t>(GroupId::kUdp)].rules == 0);
    CHECK(!st.cache_hit);
    CHECK(st.compile_ms > 0);
}

TEST_CASE("detect compile loads the cache for an identical rule set and misses when a rule changes", "[detect]") {
    const std::string dir = temp_dir("cache");
    CompileOptions opts{dir};
    auto first = compile(sample_rules(), opts);
    REQUIRE(first);
    CHECK(!(*first)->stats().cache_hit);
    CHECK((*first)->stats().cache_note.find("no cache file") != std::string::npos);
    CHECK(std::filesystem::exists(dir + "/detect-" + (*first)->stats().cache_key + ".hsdb"));

    auto second = compile(sample_rules(), opts);
    REQUIRE(second);
    CHECK((*second)->stats().cache_hit);
    CHECK((*second)->stats().cache_note.empty());
    CHECK((*second)->stats().cache_key == (*first)->stats().cache_key);
    CHECK((*second)->stats().patterns == (*first)->stats().patterns);

    // The cached database scans like the fresh one.
    auto scanner = Scanner::create(*second);
    REQUIRE(scanner);
    MatchSink sink;
    PacketInfo p = tcp_info(14);
    scanner->scan_packet(p, bytes("xx BETA gamma "), sink);
    REQUIRE(sink.size() == 2);  // sid 2, and sid 5 (no zeta)
    CHECK(sink[0].sid == 2);

    auto changed = sample_rules();
    changed[0].payload = {C("alphA")};
    auto third = compile(changed, opts);
    REQUIRE(third);
    CHECK(!(*third)->stats().cache_hit);
    CHECK((*third)->stats().cache_key != (*first)->stats().cache_key);
    std::filesystem::remove_all(dir);
}

TEST_CASE("detect compile ignores a corrupt cache file and rewrites it", "[detect]") {
    const std::string dir = temp_dir("corrupt");
    CompileOptions opts{dir};
    auto first = compile(sample_rules(), opts);
    REQUIRE(first);
    const std::string path = dir + "/detect-" + (*first)->stats().cache_key + ".hsdb";
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    auto second = compile(sample_rules(), opts);
    REQUIRE(second);
    CHECK(!(*second)->stats().cache_hit);
    CHECK(!(*second)->stats().cache_note.empty());
    auto third = compile(sample_rules(), opts);
    REQUIRE(third);
    CHECK((*third)->stats().cache_hit);
    std::filesystem::remove_all(dir);
}

TEST_CASE("detect compile_async delivers the same database from a background thread", "[detect]") {
    auto fut = compile_async(sample_rules(), {});
    auto db = fut.get();
    REQUIRE(db);
    CHECK((*db)->rules().size() == 5);
    CHECK((*db)->stats().patterns == compile(sample_rules(), {}).value()->stats().patterns);
}

TEST_CASE("detect a rule set with no rules compiles and scans to nothing", "[detect]") {
    Engine e({});
    CHECK(e.db->stats().patterns == 0);
    CHECK(e.packet("anything").empty());
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "anything").empty());
    e.scanner->close_stream(h);
}
