// Content chains compiled whole into Hyperscan (lib/detect/chain.hpp): each
// mapping at its boundaries, the shapes left to inspection, stream chains
// across segments and beyond the window, and a seeded differential test
// against the inspection engine (the reference) on random rules and payloads.
#include <algorithm>
#include <random>

#include "detect/chain.hpp"
#include "detect/inspect.hpp"
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

namespace {

// The rule compiled as a conclusive chain: Hyperscan alone decides.
void require_chain(const Engine& e, uint32_t n = 1) {
    REQUIRE(e.db->stats().chain_anchors == n);
    for (const auto& r : e.db->rules()) REQUIRE(r.anchor_conclusive);
}

}  // namespace

TEST_CASE("detect chain regex escapes every byte, bounds the first content and each gap", "[detect][chain]") {
    CHECK(chain_regex(rule(1, {C("a"), C("B").nocase().distance(1).within(3)})).expression ==
          "\\x61[\\s\\S]{1,3}(?i:\\x42)");
    CHECK(chain_regex(rule(1, {C("ab").offset(2).depth(5), C("c").distance(0)})).expression ==
          "^[\\s\\S]{2,5}\\x61\\x62[\\s\\S]*\\x63");
    CHECK(chain_regex(rule(1, {C("ab").startswith(), C("c").distance(4)})).expression == "^\\x61\\x62[\\s\\S]{4,}\\x63");
    CHECK(chain_regex(rule(1, {C("ab").offset(3), C("c").within(1)})).expression == "^[\\s\\S]{3,}\\x61\\x62\\x63");
}

TEST_CASE("detect chain distance is measured from the end of the previous match", "[detect][chain]") {
    Engine e({rule(1, {C("ab"), C("cd").distance(2)})});
    require_chain(e);
    CHECK(e.packet("abxxcd") == Sids{1});
    CHECK(e.packet("abxcd").empty());
    CHECK(e.packet("abxxxxxcd") == Sids{1});
    CHECK(e.packet("cdxxab").empty());
}

TEST_CASE("detect chain within bounds the end of the relative match, content included", "[detect][chain]") {
    Engine e({rule(1, {C("ab"), C("cd").within(4)})});
    require_chain(e);
    CHECK(e.packet("abcd") == Sids{1});
    CHECK(e.packet("abxxcd") == Sids{1});  // cd ends 4 after ab
    CHECK(e.packet("abxxxcd").empty());    // 5 after
    CHECK(e.packet("cdab").empty());
}

TEST_CASE("detect chain within counts from where distance puts the search", "[detect][chain]") {
    Engine e({rule(1, {C("ab"), C("cd").distance(1).within(3)})});
    require_chain(e);
    CHECK(e.packet("abxcd") == Sids{1});
    CHECK(e.packet("abxxcd") == Sids{1});
    CHECK(e.packet("abxxxcd").empty());
    CHECK(e.packet("abcd").empty());
}

TEST_CASE("detect chain finds a later occurrence when the first one's window fails", "[detect][chain]") {
    Engine e({rule(1, {C("ab"), C("cd").within(2)})});
    require_chain(e);
    CHECK(e.packet("ab....abcd") == Sids{1});
    CHECK(e.packet("ab....ab..cd").empty());
}

TEST_CASE("detect chain offset on the first content is inclusive", "[detect][chain]") {
    Engine e({rule(1, {C("ab").offset(2), C("cd").distance(0)})});
    require_chain(e);
    CHECK(e.packet("xxabcd") == Sids{1});
    CHECK(e.packet("xabcd").empty());
    CHECK(e.packet("xab..xxabcd") == Sids{1});
}

TEST_CASE("detect chain depth on the first content bounds its end, from the offset", "[detect][chain]") {
    Engine e({rule(1, {C("ab").depth(4), C("cd").distance(0)}), rule(2, {C("ab").offset(1).depth(2), C("cd").distance(0)})});
    require_chain(e, 2);
    CHECK(e.packet("xxabcd") == Sids{1});     // ab ends at 4
    CHECK(e.packet("xxxabcd").empty());       // at 5
    CHECK(e.packet("xabcd") == Sids{1, 2});   // [1,3): ab exactly at 1
    CHECK(e.packet("abcd") == Sids{1});       // before offset 1
    CHECK(e.packet("xxxxxab..abcd").empty());
}

TEST_CASE("detect chain startswith pins the first content to offset 0", "[detect][chain]") {
    Engine e({rule(1, {C("GET").startswith(), C("/x").distance(1).within(2)})});
    require_chain(e);
    CHECK(e.packet("GET /x") == Sids{1});
    CHECK(e.packet(" GET /x").empty());
    CHECK(e.packet("GET  /x").empty());
}

TEST_CASE("detect chain nocase applies to its own content only", "[detect][chain]") {
    Engine e({rule(1, {C("Ab").nocase(), C("cD").distance(0)})});
    require_chain(e);
    CHECK(e.packet("abcD") == Sids{1});
    CHECK(e.packet("ABcD") == Sids{1});
    CHECK(e.packet("aBcd").empty());
    CHECK(e.packet("aBCD").empty());
}

TEST_CASE("detect chains left to inspection: negative distance, too wide, other keywords", "[detect][chain]") {
    Engine e({rule(1, {C("world"), C("hello").distance(-11).within(5)}),
              rule(2, {C("ab"), C("cd").distance(static_cast<int32_t>(kMaxChainRepeatWidth) + 1)}),
              rule(3, {C("ab"), C("zz").negated()}),
              rule(4, {C("ab"), C("cd").distance(0).offset(3)})});
    CHECK(e.db->stats().chain_anchors == 0);
    CHECK(e.db->stats().chains_too_wide == 1);
    for (const auto& r : e.db->rules()) CHECK_FALSE(r.anchor_conclusive);
    CHECK(e.packet("hello world") == Sids{1});
    CHECK(e.packet("ab" + std::string(kMaxChainRepeatWidth + 1, '.') + "cd") == Sids{2, 3, 4});
    CHECK(e.packet("ab" + std::string(kMaxChainRepeatWidth, '.') + "cd") == Sids{3, 4});
    CHECK(e.packet("abxcd") == Sids{3, 4});  // 4: cd after ab and at offset >= 3
    CHECK(e.packet("abcd") == Sids{3});
}

TEST_CASE("detect chain rules with the same chain share one Hyperscan pattern", "[detect][chain]") {
    Engine e({rule(1, {C("ab"), C("cd").within(4)}), rule(2, {C("ab"), C("cd").within(4)}),
              rule(3, {C("ab"), C("cd").within(5)})});
    require_chain(e, 3);
    const auto& g = e.db->stats().groups[static_cast<size_t>(GroupId::kTcpNoStream)];
    CHECK(g.patterns == 2);
    CHECK(e.packet("abxcd") == Sids{1, 2, 3});
}

TEST_CASE("detect chain split across two stream segments fires on the second", "[detect][chain][stream]") {
    Engine e({rule(1, {C("USER "), C("root").distance(0).within(10)})});
    require_chain(e);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "220 hi\r\nUSER ").empty());
    CHECK(e.stream(h, "ro") .empty());
    CHECK(e.stream(h, "ot\r\n") == Sids{1});
    CHECK(e.stream(h, "USER bob\r\n").empty());
    e.scanner->close_stream(h);
}

TEST_CASE("detect chain matches in a stream beyond the confirmation window", "[detect][chain][stream]") {
    ScannerOptions small;
    small.window_bytes = 16;
    Engine e({rule(1, {C("BEGIN"), C("END").distance(0)})}, {}, small);
    require_chain(e);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "BEGIN").empty());
    CHECK(e.stream(h, std::string(32, '.')).empty());
    CHECK(e.stream(h, "END END") == Sids{1});  // once per scan call
    CHECK(e.stream(h, "..").empty());
    CHECK(e.stream(h, "END") == Sids{1});
    CHECK(e.scanner->counters().candidates == 2);
    e.scanner->close_stream(h);
}

TEST_CASE("detect chain offset and depth are absolute stream positions in stream mode", "[detect][chain][stream]") {
    Engine e({rule(1, {C("ab").depth(4), C("cd").within(2)})});
    require_chain(e);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "xx").empty());
    CHECK(e.stream(h, "abcd") == Sids{1});   // ab at stream 2..4
    CHECK(e.stream(h, "abcd").empty());      // ab at 6..8: past the depth
    e.scanner->close_stream(h);
}

// Random chain rules (every accepted shape, plus some that fall back) over
// random payloads from a small alphabet so contents occur often and overlap.
// Each conclusive rule's verdict comes from Hyperscan alone; the reference is
// inspect_payload on the same buffer.
TEST_CASE("detect chain verdicts equal the inspection engine's on random rules and payloads", "[detect][chain]") {
    std::mt19937 rng(20261204);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    auto text = [&](int len, const char* alphabet, int k) {
        std::string s;
        for (int i = 0; i < len; ++i) s.push_back(alphabet[pick(0, k - 1)]);
        return s;
    };
    uint64_t compared = 0, fired = 0, conclusive_rules = 0;
    for (int round = 0; round < 8; ++round) {
        std::vector<rules::Rule> rs;
        for (uint32_t sid = 1; sid <= 60; ++sid) {
            std::vector<rules::PayloadMatch> pm;
            const int chain = pick(2, 4);
            for (int i = 0; i < chain; ++i) {
                C c(text(pick(1, 3), "abAB", 4));
                if (pick(0, 2) == 0) c.nocase();
                if (i == 0) {
                    switch (pick(0, 5)) {
                        case 0: c.offset(pick(0, 6)); break;
                        case 1: c.depth(pick(1, 10)); break;
                        case 2: c.offset(pick(0, 4)).depth(pick(1, 8)); break;
                        case 3: c.startswith(); break;
                        default: break;
                    }
                } else {
                    switch (pick(0, 3)) {
                        case 0: c.distance(pick(0, 5)); break;
                        case 1: c.within(pick(1, 7)); break;
                        case 2: c.distance(pick(0, 4)).within(pick(1, 7)); break;
                        default: c.distance(pick(-4, 3)).within(pick(1, 7)); break;  // negative: falls back
                    }
                }
                pm.push_back(c);
            }
            rs.push_back(rule(sid, std::move(pm)));
        }
        Engine e(rs);
        for (const auto& r : e.db->rules()) conclusive_rules += r.anchor_conclusive ? 1 : 0;
        InspectScratch scratch;  // contents only: no pcre2 data needed
        for (int p = 0; p < 400; ++p) {
            const std::string payload = text(pick(0, 40), "abABx", 5);
            const Sids got = payload.empty() ? Sids{} : e.packet(payload);
            Sids want;
            for (uint32_t i = 0; i < e.db->rules().size(); ++i) {
                const CompiledRule& r = e.db->rules()[i];
                if (!r.anchor_conclusive) continue;
                if (inspect_payload(r, InspectInput{bytes(payload), 0, 0}, scratch)) want.push_back(r.sid);
            }
            Sids got_conclusive;
            for (uint32_t sid : got)
                if (e.db->rules()[sid - 1].anchor_conclusive) got_conclusive.push_back(sid);
            std::sort(got_conclusive.begin(), got_conclusive.end());
            INFO("payload \"" << payload << "\" round " << round);
            REQUIRE(got_conclusive == want);
            compared += e.db->rules().size();
            fired += want.size();
        }
    }
    // The generator must exercise the chain path, and both verdicts.
    CHECK(conclusive_rules > 8 * 60 / 2);
    CHECK(fired > 1000);
    CHECK(compared > fired * 2);
}
