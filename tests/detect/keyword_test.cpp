// pcre (absolute, relative R, negated), byte_test, byte_jump, byte_extract
// variables and isdataat on packets, with Suricata's semantics.
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

namespace {

rules::ByteSpec spec(uint8_t nbytes, int32_t offset, bool relative = false) {
    rules::ByteSpec s;
    s.nbytes = nbytes;
    s.offset = rules::IntOrVar{offset, {}};
    s.relative = relative;
    return s;
}

rules::ByteTest byte_test(rules::ByteSpec s, rules::ByteOp op, uint32_t value, bool negated = false) {
    rules::ByteTest t;
    t.spec = s;
    t.op = op;
    t.value = rules::IntOrVar{static_cast<int32_t>(value), {}};
    t.negated = negated;
    return t;
}

rules::IsDataAt isdataat(int32_t at, bool relative = false, bool negated = false) {
    rules::IsDataAt d;
    d.offset = rules::IntOrVar{at, {}};
    d.relative = relative;
    d.negated = negated;
    return d;
}

std::string be16(uint16_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }

}  // namespace

TEST_CASE("detect pcre alone is a Hyperscan anchor and confirmed by pcre2", "[detect]") {
    Engine e({rule(1, {pcre("user=[a-z]{3,}\\d", "i")})});
    CHECK(e.db->stats().pcre_anchors == 1);
    CHECK(e.packet("x USER=abcd7 y") == Sids{1});
    CHECK(e.packet("x user=ab7 y").empty());
}

TEST_CASE("detect pcre that Hyperscan only prefilters still matches exactly", "[detect]") {
    // A back-reference: Hyperscan needs HS_FLAG_PREFILTER, pcre2 decides.
    Engine e({rule(1, {pcre("(ab+)-\\1")})});
    CHECK(e.db->stats().prefilter_anchors == 1);
    CHECK(e.packet("xx abb-abb yy") == Sids{1});
    CHECK(e.packet("xx abb-ab yy").empty());
}

TEST_CASE("detect relative pcre starts where the previous content ended", "[detect]") {
    Engine e({rule(1, {C("user="), pcre("^[a-z]+;", "", true)})});
    CHECK(e.packet("GET user=bob; x") == Sids{1});
    CHECK(e.packet("GET user= bob; x").empty());  // ^ anchors at the relative start
}

TEST_CASE("detect relative pcre retries the content's later occurrences", "[detect]") {
    Engine e({rule(1, {C("k="), pcre("^\\d+&", "", true)})});
    CHECK(e.packet("k=ab& k=12&") == Sids{1});
}

TEST_CASE("detect negated pcre fires when the expression is absent", "[detect]") {
    Engine e({rule(1, {C("Host: "), pcre("^Host: [a-z]+\\.example", "m", false, true)})});
    CHECK(e.packet("Host: evil.test\r\n") == Sids{1});
    CHECK(e.packet("Host: www.example\r\n").empty());
}

TEST_CASE("detect byte_test compares big and little endian values", "[detect]") {
    Engine e({rule(1, {byte_test(spec(2, 0), rules::ByteOp::kGreater, 1000)}),
              [] {
                  auto s = spec(2, 0);
                  s.little_endian = true;
                  return rule(2, {byte_test(s, rules::ByteOp::kEqual, 0x0201)});
              }()});
    CHECK(e.packet(be16(1001) + "xx") == Sids{1});
    CHECK(e.packet(be16(1000) + "xx").empty());
    CHECK(e.packet(std::string("\x01\x02", 2)) == Sids{2});
    CHECK(e.packet("\x01").empty());  // not enough bytes for either
}

TEST_CASE("detect byte_test reads decimal strings, relative, with negation and bitmask", "[detect]") {
    auto str = spec(3, 1, true);
    str.string = true;
    str.base = 10;
    auto masked = spec(1, 0);
    masked.bitmask = 0xf0;
    Engine e({rule(1, {C("len="), byte_test(str, rules::ByteOp::kLess, 100)}),
              rule(2, {C("len="), byte_test(str, rules::ByteOp::kLess, 100, true)}),
              rule(3, {byte_test(masked, rules::ByteOp::kEqual, 0x3)})});
    CHECK(e.packet("len= 42 ") == Sids{1});  // reads "42 " one byte after "len="
    CHECK(e.packet("len=x420") == Sids{2});  // 420 is not < 100: only the negated rule
    CHECK(e.packet("len=xab1").empty());     // no digits: neither (a failed read is no match)
    CHECK(e.packet("\x3a") == Sids{3});        // 0x3a & 0xf0 = 0x30 >> 4 = 3
    CHECK(e.packet("\x4a").empty());
}

TEST_CASE("detect byte_jump moves the cursor for the next relative content", "[detect]") {
    rules::ByteJump j;
    j.spec = spec(1, 0, true);
    Engine e({rule(1, {C("L"), j, C("X").within(1)})});
    // L, length 3, skip 3 bytes, then X.
    CHECK(e.packet(std::string("L\x03") + "abcX") == Sids{1});
    CHECK(e.packet(std::string("L\x02") + "abcX").empty());
    CHECK(e.packet(std::string("L\x09") + "abcX").empty());  // jumps past the end
}

TEST_CASE("detect byte_jump from_beginning, multiplier and post_offset", "[detect]") {
    rules::ByteJump j;
    j.spec = spec(1, 0);
    j.multiplier = 2;
    j.post_offset = 1;
    j.from_beginning = true;
    Engine e({rule(1, {j, C("Z").within(1)})});
    CHECK(e.packet(std::string("\x02") + "xxxxZ") == Sids{1});  // 2*2+1 = 5
    CHECK(e.packet(std::string("\x02") + "xxxZ").empty());
}

TEST_CASE("detect byte_jump of 0 bytes jumps by post_offset alone; a 0-digit string never matches", "[detect]") {
    // suricata-verify detect-bytejump-01: "Question?13When will the pandemic end?"
    const std::string payload = "Question?13When will the pandemic end?";
    rules::ByteJump two;  // byte_jump:2,0,relative,string,from_end,post_offset -26
    two.spec = spec(2, 0, true);
    two.spec.string = true;
    two.from_end = true;
    two.post_offset = -26;
    rules::ByteJump zero_string = two;  // byte_jump:0,0,relative,string,from_end,post_offset -3
    zero_string.spec.nbytes = 0;
    zero_string.post_offset = -3;
    rules::ByteJump zero_binary;  // byte_jump:0,0,relative,post_offset 3
    zero_binary.spec = spec(0, 0, true);
    zero_binary.post_offset = 3;
    Engine e({rule(1, {C("Question?"), two, C("pandemic").distance(0)}),
              rule(2, {C("Question?"), zero_string, C("pandemic").distance(0)}),
              rule(3, {C("Question?"), zero_binary, C("When").within(4)})});
    CHECK(e.packet(payload) == Sids{1});
    // Binary, 0 bytes: the cursor moves post_offset (3) past "Question?".
    CHECK(e.packet("Question?123When") == Sids{3});
    CHECK(e.packet("Question?1When").empty());
}

TEST_CASE("detect byte_extract feeds distance, within and byte_test values", "[detect]") {
    rules::ByteExtract x;
    x.spec = spec(1, 0);
    x.name = "skip";
    rules::ByteTest t;
    t.spec = spec(1, 0, true);
    t.op = rules::ByteOp::kEqual;
    t.value = rules::IntOrVar{0, "skip"};
    Engine e({rule(1, {x, C("END").distance("skip").within(3)}), rule(2, {x, C("=").distance(0), t})});
    CHECK(e.packet(std::string("\x02") + "..END") == Sids{1});
    CHECK(e.packet(std::string("\x02") + "...END").empty());
    CHECK(e.packet(std::string("\x07") + "=\x07") == Sids{2});
    CHECK(e.packet(std::string("\x07") + "=\x08").empty());
}

TEST_CASE("detect rejects a rule using a byte_extract variable it never defined", "[detect]") {
    Engine e({rule(1, {C("a").distance("nope")}), rule(2, {C("b")})});
    REQUIRE(e.db->stats().rules_rejected == 1);
    CHECK(e.db->stats().rejected[0].where == "test.rules:1 (sid 1)");
    CHECK(e.db->stats().rejected[0].what.find("nope") != std::string::npos);
    CHECK(e.packet("a b") == Sids{2});
}

TEST_CASE("detect rejects a pcre that does not compile, naming the rule", "[detect]") {
    Engine e({rule(7, {pcre("(unclosed")})});
    REQUIRE(e.db->stats().rejected.size() == 1);
    CHECK(e.db->stats().rejected[0].where == "test.rules:7 (sid 7)");
    CHECK(e.db->rules().empty());
}

TEST_CASE("detect isdataat absolute tests that the byte at the offset exists", "[detect]") {
    Engine e({rule(1, {C("A"), isdataat(4)}), rule(2, {C("A"), isdataat(4, false, true)})});
    CHECK(e.packet("A1234") == Sids{1});  // index 4 exists
    CHECK(e.packet("A123") == Sids{2});   // it does not
}

TEST_CASE("detect isdataat relative counts from the end of the previous match", "[detect]") {
    Engine e({rule(1, {C("AB"), isdataat(2, true)}), rule(2, {C("AB"), isdataat(1, true, true)})});
    CHECK(e.packet("xAB12") == Sids{1});  // 2 bytes after AB
    CHECK(e.packet("xAB1").empty());
    CHECK(e.packet("xAB") == Sids{2});    // nothing after AB
}
