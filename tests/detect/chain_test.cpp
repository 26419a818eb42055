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

// The rules compiled as conclusive chains: Hyperscan alone decides.
void require_chain(const Engine& e, uint32_t n = 1) {
    REQUIRE(e.db->stats().chain_anchors == n);
    for (const auto& r : e.db->rules()) REQUIRE(r.anchor_conclusive);
}

std::string dots(size_t n) { return std::string(n, '.'); }

}  // namespace

TEST_CASE("detect chain regex escapes every byte, bounds the first content and each gap", "[detect][chain]") {
    CHECK(chain_regex(rule(1, {C("abcd"), C("WXYZ").nocase().distance(1).within(6)})).expression ==
          "\\x61\\x62\\x63\\x64[\\s\\S]{1,3}(?i:\\x57\\x58\\x59\\x5a)");
    CHECK(chain_regex(rule(1, {C("abcd").offset(2).depth(7), C("wxyz").distance(0)})).expression ==
          "^[\\s\\S]{2,5}\\x61\\x62\\x63\\x64[\\s\\S]*\\x77\\x78\\x79\\x7a");
    CHECK(chain_regex(rule(1, {C("abcd").startswith(), C("wxyz").distance(4)})).expression ==
          "^\\x61\\x62\\x63\\x64[\\s\\S]{4,}\\x77\\x78\\x79\\x7a");
    CHECK(chain_regex(rule(1, {C("abcd").offset(3), C("wxyz").within(4)})).expression ==
          "^[\\s\\S]{3,}\\x61\\x62\\x63\\x64\\x77\\x78\\x79\\x7a");
}

TEST_CASE("detect chain distance is measured from the end of the previous match", "[detect][chain]") {
    Engine e({rule(1, {C("head"), C("tail").distance(2)})});
    require_chain(e);
    CHECK(e.packet("head..tail") == Sids{1});
    CHECK(e.packet("head.tail").empty());
    CHECK(e.packet("head.....tail") == Sids{1});
    CHECK(e.packet("tail..head").empty());
}

TEST_CASE("detect chain within bounds the end of the relative match, content included", "[detect][chain]") {
    Engine e({rule(1, {C("head"), C("tail").within(6)})});
    require_chain(e);
    CHECK(e.packet("headtail") == Sids{1});
    CHECK(e.packet("head..tail") == Sids{1});  // tail ends 6 after head
    CHECK(e.packet("head...tail").empty());    // 7 after
    CHECK(e.packet("tailhead").empty());
}

TEST_CASE("detect chain within counts from where distance puts the search", "[detect][chain]") {
    Engine e({rule(1, {C("head"), C("tail").distance(1).within(5)})});
    require_chain(e);
    CHECK(e.packet("head.tail") == Sids{1});
    CHECK(e.packet("head..tail") == Sids{1});
    CHECK(e.packet("head...tail").empty());
    CHECK(e.packet("headtail").empty());
}

TEST_CASE("detect chain finds a later occurrence when the first one's window fails", "[detect][chain]") {
    Engine e({rule(1, {C("head"), C("tail").within(4)})});
    require_chain(e);
    CHECK(e.packet("head....headtail") == Sids{1});
    CHECK(e.packet("head....head..tail").empty());
}

TEST_CASE("detect chain offset on the first content is inclusive", "[detect][chain]") {
    Engine e({rule(1, {C("head").offset(2), C("tail").distance(0)})});
    require_chain(e);
    CHECK(e.packet("..headtail") == Sids{1});
    CHECK(e.packet(".headtail").empty());
    CHECK(e.packet(".head...headtail") == Sids{1});
}

TEST_CASE("detect chain depth on the first content bounds its end, from the offset", "[detect][chain]") {
    Engine e({rule(1, {C("head").depth(6), C("tail").distance(0)}),
              rule(2, {C("head").offset(1).depth(4), C("tail").distance(0)})});
    require_chain(e, 2);
    CHECK(e.packet("..headtail") == Sids{1});     // head ends at 6
    CHECK(e.packet("...headtail").empty());       // at 7
    CHECK(e.packet(".headtail") == Sids{1, 2});   // [1,5): head exactly at 1
    CHECK(e.packet("headtail") == Sids{1});       // before offset 1
    CHECK(e.packet(".......head..headtail").empty());
}

TEST_CASE("detect chain startswith pins the first content to offset 0", "[detect][chain]") {
    Engine e({rule(1, {C("GET ").startswith(), C("/x.php").distance(0).within(6)})});
    require_chain(e);
    CHECK(e.packet("GET /x.php") == Sids{1});
    CHECK(e.packet(" GET /x.php").empty());
    CHECK(e.packet("GET  /x.php").empty());
}

TEST_CASE("detect chain nocase applies to its own content only", "[detect][chain]") {
    Engine e({rule(1, {C("HeAd").nocase(), C("tAiL").distance(0)})});
    require_chain(e);
    CHECK(e.packet("headtAiL") == Sids{1});
    CHECK(e.packet("HEADtAiL") == Sids{1});
    CHECK(e.packet("hEaDtail").empty());
    CHECK(e.packet("hEaDTAIL").empty());
}

TEST_CASE("detect chains left to inspection: negative distance, costly, other shapes", "[detect][chain]") {
    Engine e({rule(1, {C("world"), C("hello").distance(-11).within(5)}),
              rule(2, {C("head"), C("tail").distance(static_cast<int32_t>(kMaxChainRepeatWidth) + 1)}),
              rule(3, {C("head"), C("zzzz").negated()}),
              rule(4, {C("head"), C("tail").distance(0).offset(5)}),
              rule(5, {C("head"), C("tai").distance(0)}),  // a content under kMinChainContentBytes
              rule(6, {C("head"), C("tail")})});           // independent contents
    CHECK(e.db->stats().chain_anchors == 0);
    CHECK(e.db->stats().chains_too_costly == 2);
    for (const auto& r : e.db->rules()) CHECK_FALSE(r.anchor_conclusive);
    CHECK(e.packet("hello world") == Sids{1});
    CHECK(e.packet("head" + dots(kMaxChainRepeatWidth + 1) + "tail") == Sids{2, 3, 4, 5, 6});
    CHECK(e.packet("head" + dots(kMaxChainRepeatWidth) + "tail") == Sids{3, 4, 5, 6});
    CHECK(e.packet("head.tail") == Sids{3, 4, 5, 6});  // 4: tail after head and at offset >= 5
    CHECK(e.packet("headtail") == Sids{3, 5, 6});
}

TEST_CASE("detect chain rules with the same chain share one Hyperscan pattern", "[detect][chain]") {
    Engine e({rule(1, {C("head"), C("tail").within(6)}), rule(2, {C("head"), C("tail").within(6)}),
              rule(3, {C("head"), C("tail").within(7)})});
    require_chain(e, 3);
    const auto& g = e.db->stats().groups[static_cast<size_t>(GroupId::kTcpNoStream)];
    CHECK(g.patterns == 2);
    auto got = e.packet("head.tail");
    std::sort(got.begin(), got.end());
    CHECK(got == Sids{1, 2, 3});
}

TEST_CASE("detect chain split across two stream segments fires on the second", "[detect][chain][stream]") {
    Engine e({rule(1, {C("USER "), C("root").distance(0).within(10)})});
    require_chain(e);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "220 hi\r\nUSER ").empty());
    CHECK(e.stream(h, "ro").empty());
    CHECK(e.stream(h, "ot\r\n") == Sids{1});
    CHECK(e.stream(h, "USER bob\r\n").empty());
    e.scanner->close_stream(h);
}

TEST_CASE("detect chain matches in a stream beyond the confirmation window", "[detect][chain][stream]") {
    ScannerOptions small;
    small.window_bytes = 16;
    Engine e({rule(1, {C("BEGIN"), C("DONE").distance(0)})}, {}, small);
    require_chain(e);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "BEGIN").empty());
    CHECK(e.stream(h, dots(32)).empty());
    CHECK(e.stream(h, "DONE DONE") == Sids{1});  // once per scan call
    CHECK(e.stream(h, "..").empty());
    CHECK(e.stream(h, "DONE") == Sids{1});
    CHECK(e.scanner->counters().candidates == 2);
    e.scanner->close_stream(h);
}

TEST_CASE("detect chain offset and depth are absolute stream positions in stream mode", "[detect][chain][stream]") {
    Engine e({rule(1, {C("head").depth(6), C("tail").within(4)})});
    require_chain(e);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "..").empty());
    CHECK(e.stream(h, "headtail") == Sids{1});  // head at stream 2..6
    CHECK(e.stream(h, "headtail").empty());     // at 10..14: past the depth
    e.scanner->close_stream(h);
}

namespace {

// Random chain rules (every accepted shape, and some that fall back) and
// random payloads: contents of 4-5 bytes over {a, b} (some upper case, some
// nocase), payloads mostly lower case, so contents occur often and overlap.
struct RandomChains {
    std::mt19937 rng{20261204};

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

    std::string text(int len) {
        std::string s;
        for (int i = 0; i < len; ++i) {
            char ch = pick(0, 1) ? 'a' : 'b';
            if (pick(0, 7) == 0) ch = static_cast<char>(ch - 32);
            s.push_back(ch);
        }
        return s;
    }

    std::vector<rules::Rule> rules(uint32_t n) {
        std::vector<rules::Rule> rs;
        for (uint32_t sid = 1; sid <= n; ++sid) {
            std::vector<rules::PayloadMatch> pm;
            const int chain = pick(2, 4);
            for (int i = 0; i < chain; ++i) {
                C c(text(pick(4, 5)));
                if (pick(0, 2) == 0) c.nocase();
                if (i == 0) {
                    switch (pick(0, 5)) {
                        case 0: c.offset(pick(0, 8)); break;
                        case 1: c.depth(pick(3, 14)); break;
                        case 2: c.offset(pick(0, 6)).depth(pick(3, 10)); break;
                        case 3: c.startswith(); break;
                        default: break;
                    }
                } else {
                    switch (pick(0, 4)) {
                        case 0: c.distance(pick(0, 6)); break;
                        case 1: c.within(pick(3, 10)); break;
                        case 2: c.distance(pick(0, 5)).within(pick(3, 10)); break;
                        case 3: c.distance(pick(-6, 2)).within(pick(3, 10)); break;  // negative: falls back
                        default: break;  // independent: falls back
                    }
                }
                pm.push_back(c);
            }
            rs.push_back(rule(sid, std::move(pm)));
        }
        return rs;
    }
};

// sids of the conclusive rules that fired, sorted.
Sids conclusive_only(const Engine& e, const Sids& fired) {
    Sids out;
    for (uint32_t sid : fired)
        if (e.db->rules()[sid - 1].anchor_conclusive) out.push_back(sid);
    std::sort(out.begin(), out.end());
    return out;
}

// sids of the conclusive rules the inspection engine matches on `in`.
Sids inspected(const Engine& e, const InspectInput& in) {
    InspectScratch scratch;  // contents only: no pcre2 data needed
    Sids out;
    for (const CompiledRule& r : e.db->rules())
        if (r.anchor_conclusive && inspect_payload(r, in, scratch)) out.push_back(r.sid);
    return out;
}

uint32_t conclusive_count(const Engine& e) {
    uint32_t n = 0;
    for (const auto& r : e.db->rules()) n += r.anchor_conclusive ? 1 : 0;
    return n;
}

}  // namespace

// Each conclusive rule's verdict comes from Hyperscan alone; the reference
// is inspect_payload on the same buffer.
TEST_CASE("detect chain verdicts equal the inspection engine's on random rules and payloads", "[detect][chain]") {
    RandomChains gen;
    uint64_t compared = 0, fired = 0, conclusive_rules = 0;
    for (int round = 0; round < 8; ++round) {
        Engine e(gen.rules(60));
        const uint32_t conclusive_here = conclusive_count(e);
        conclusive_rules += conclusive_here;
        for (int p = 0; p < 500; ++p) {
            const std::string payload = gen.text(gen.pick(0, 64));
            const Sids got = conclusive_only(e, payload.empty() ? Sids{} : e.packet(payload));
            const Sids want = inspected(e, InspectInput{bytes(payload), 0, 0});
            INFO("payload \"" << payload << "\" round " << round);
            REQUIRE(got == want);
            compared += conclusive_here;
            fired += want.size();
        }
    }
    // The generator must exercise the chain path, and both verdicts.
    INFO("conclusive rules " << conclusive_rules << ", verdicts " << compared << ", fired " << fired);
    CHECK(conclusive_rules > 8 * 60 / 3);
    CHECK(fired > 1000);
    CHECK(compared > fired * 3);
}

// Stream mode: the payload arrives in 2-4 chunks. A conclusive rule fires on
// a chunk exactly when the inspection engine, given the whole stream so far
// (no window) with the new chunk marked fresh, finds a match ending in it.
TEST_CASE("detect chain verdicts on stream chunks equal the inspection engine's over the whole stream", "[detect][chain][stream]") {
    RandomChains gen;
    uint64_t fired = 0, later_chunks_fired = 0;
    for (int round = 0; round < 4; ++round) {
        ScannerOptions small;
        small.window_bytes = 256;  // smaller than no stream here: the reference sees it all anyway
        Engine e(gen.rules(120), {}, small);
        REQUIRE(conclusive_count(e) > 20);
        for (int p = 0; p < 300; ++p) {
            const std::string payload = gen.text(gen.pick(8, 96));
            std::vector<size_t> cuts{0, payload.size()};
            for (int k = gen.pick(1, 3); k > 0; --k) cuts.push_back(static_cast<size_t>(gen.pick(1, static_cast<int>(payload.size()) - 1)));
            std::sort(cuts.begin(), cuts.end());
            cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
            StreamHandle h = e.scanner->open_stream();
            for (size_t k = 0; k + 1 < cuts.size(); ++k) {
                const Sids got = conclusive_only(e, e.stream(h, payload.substr(cuts[k], cuts[k + 1] - cuts[k])));
                const auto prefix = bytes(payload).first(cuts[k + 1]);
                const Sids want = inspected(e, InspectInput{prefix, 0, static_cast<uint32_t>(cuts[k])});
                INFO("payload \"" << payload << "\" chunk " << k << " [" << cuts[k] << ", " << cuts[k + 1] << ") round " << round);
                REQUIRE(got == want);
                fired += want.size();
                if (k > 0) later_chunks_fired += want.size();
            }
            e.scanner->close_stream(h);
        }
    }
    INFO("fired " << fired << ", on later chunks " << later_chunks_fired);
    CHECK(later_chunks_fired > 300);
}
