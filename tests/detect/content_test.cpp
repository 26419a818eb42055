// Content keyword semantics on packets: offset/depth/distance/within at their
// exact boundaries and one byte past, nocase, negation, startswith/endswith,
// retry on a later occurrence, fast_pattern anchors.
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

TEST_CASE("detect fires a content rule on a payload holding the content and not on one without", "[detect]") {
    Engine e({rule(1, {C("evil")})});
    CHECK(e.packet("this is evil stuff") == Sids{1});
    CHECK(e.packet("this is fine stuff").empty());
    CHECK(e.packet("").empty());
}

TEST_CASE("detect nocase matches any letter case and plain content does not", "[detect]") {
    Engine e({rule(1, {C("EvIl").nocase()}), rule(2, {C("EvIl")})});
    CHECK(e.packet("xx eVIL xx") == Sids{1});
    CHECK(e.packet("xx EvIl xx") == Sids{1, 2});
}

TEST_CASE("detect offset starts the search at the offset, inclusive", "[detect]") {
    Engine e({rule(1, {C("abc").offset(2)})});
    CHECK(e.packet("xxabc") == Sids{1});   // starts exactly at 2
    CHECK(e.packet("xabcx").empty());      // starts at 1
    CHECK(e.packet("xxxxabc") == Sids{1});
}

TEST_CASE("detect depth bounds the end of the match, inclusive", "[detect]") {
    Engine e({rule(1, {C("abc").depth(5)})});
    CHECK(e.packet("xxabcyyy") == Sids{1});  // ends exactly at 5
    CHECK(e.packet("xxxabcyy").empty());     // ends at 6
}

TEST_CASE("detect depth counts from the offset", "[detect]") {
    Engine e({rule(1, {C("abc").offset(2).depth(3)})});
    CHECK(e.packet("xxabc") == Sids{1});
    CHECK(e.packet("xxxabc").empty());
    CHECK(e.packet("xabcxx").empty());
}

TEST_CASE("detect distance is measured from the end of the previous match", "[detect]") {
    Engine e({rule(1, {C("ab"), C("cd").distance(2)})});
    CHECK(e.packet("abxxcd") == Sids{1});  // exactly 2 bytes between
    CHECK(e.packet("abxcd").empty());      // only 1
    CHECK(e.packet("abxxxxxcd") == Sids{1});
}

TEST_CASE("detect within bounds the end of the relative match", "[detect]") {
    Engine e({rule(1, {C("ab"), C("cd").within(4)})});
    CHECK(e.packet("abxxcd") == Sids{1});  // cd ends 4 after ab
    CHECK(e.packet("abxxxcd").empty());    // ends 5 after
    CHECK(e.packet("cdab").empty());       // relative means after
}

TEST_CASE("detect within counts from where distance puts the search", "[detect]") {
    Engine e({rule(1, {C("ab"), C("cd").distance(1).within(3)})});
    CHECK(e.packet("abxxcd") == Sids{1});  // window [3,6)
    CHECK(e.packet("abxxxcd").empty());
    CHECK(e.packet("abcd").empty());       // distance 1 skips it
}

TEST_CASE("detect a negative distance may look back before the previous match", "[detect]") {
    Engine e({rule(1, {C("world"), C("hello").distance(-11).within(5)})});
    CHECK(e.packet("hello world") == Sids{1});
    CHECK(e.packet("hellx world").empty());
}

TEST_CASE("detect tries later occurrences when a within chain fails on the first", "[detect]") {
    Engine e({rule(1, {C("ab"), C("cd").within(2)})});
    CHECK(e.packet("ab....abcd") == Sids{1});
    CHECK(e.packet("ab....ab..cd").empty());
}

TEST_CASE("detect negated content fires only when the content is absent", "[detect]") {
    Engine e({rule(1, {C("GET "), C("admin").negated()})});
    CHECK(e.packet("GET /index.html") == Sids{1});
    CHECK(e.packet("GET /admin.html").empty());
}

TEST_CASE("detect negated relative content is checked only in its window", "[detect]") {
    Engine e({rule(1, {C("GET "), C("admin").negated().within(10)})});
    CHECK(e.packet("GET /x/y/z/w/admin") == Sids{1});  // admin beyond the window
    CHECK(e.packet("GET /admin").empty());
}

TEST_CASE("detect a rule of only a negated content fires on every payload without it", "[detect]") {
    Engine e({rule(1, {C("zzz").negated()})});
    CHECK(e.packet("abc") == Sids{1});
    CHECK(e.packet("azzzb").empty());
    CHECK(e.db->stats().no_anchor == 1);
}

TEST_CASE("detect startswith requires the content at the start", "[detect]") {
    Engine e({rule(1, {C("GET").startswith()})});
    CHECK(e.packet("GET /") == Sids{1});
    CHECK(e.packet(" GET /").empty());
}

TEST_CASE("detect endswith requires the content at the end", "[detect]") {
    Engine e({rule(1, {C(".exe").endswith()})});
    CHECK(e.packet("GET /a.exe") == Sids{1});
    CHECK(e.packet("GET /a.exe.txt").empty());
    CHECK(e.packet("a.exe b.exe") == Sids{1});  // a later occurrence at the end counts
}

TEST_CASE("detect confirms every content, not only the Hyperscan anchor", "[detect]") {
    // "longer-anchor" is the anchor; "x1" must also be there.
    Engine e({rule(1, {C("x1"), C("longer-anchor")})});
    CHECK(e.packet("longer-anchor only").empty());
    CHECK(e.packet("x1 longer-anchor") == Sids{1});
}

TEST_CASE("detect fast_pattern picks the anchor and the other contents still count", "[detect]") {
    Engine e({rule(1, {C("a-much-longer-content"), C("fp").fast_pattern()})});
    CHECK(e.packet("fp only").empty());
    CHECK(e.packet("a-much-longer-content fp") == Sids{1});
    CHECK(e.db->stats().patterns > 0);
}

TEST_CASE("detect fires a rule at most once per packet however often it matches", "[detect]") {
    Engine e({rule(1, {C("a")}), rule(2, {C("a")})});
    CHECK(e.packet("aaaaaaaa") == Sids{1, 2});
}

TEST_CASE("detect shares one pattern between rules with the same anchor", "[detect]") {
    Engine e({rule(1, {C("same")}), rule(2, {C("same"), C("oth")}), rule(3, {C("diff")})});
    const auto& g = e.db->stats().groups[static_cast<size_t>(GroupId::kTcpNoStream)];
    CHECK(g.patterns == 2);
    CHECK(g.rules == 3);
    CHECK(e.packet("same oth") == Sids{1, 2});
}

TEST_CASE("detect escapes every byte of a binary content", "[detect]") {
    const std::string bin("\x00\xff.*(\\", 6);
    Engine e({rule(1, {C(bin)})});
    CHECK(e.packet(std::string("xx") + bin + "yy") == Sids{1});
    CHECK(e.packet("xx.*(\\yy").empty());
}
