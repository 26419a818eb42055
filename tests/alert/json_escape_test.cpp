// JSON escaping of traffic and rule bytes, and the bounded text copies of the
// alert record: exact outputs for each class of byte.
#include <catch2/catch.hpp>

#include <string>

#include "alert/alert_record.hpp"
#include "alert/json_escape.hpp"

using namespace vtap::alert;
using namespace std::string_literals;

namespace {
std::string esc(const std::string& s) {
    std::string o;
    append_json_escaped(o, s);
    return o;
}
std::string printable(const std::string& s) {
    std::string o;
    append_json_printable(o, reinterpret_cast<const uint8_t*>(s.data()), s.size());
    return o;
}
}  // namespace

TEST_CASE("escaping keeps plain ASCII and well-formed UTF-8 as they are", "[alert][escape]") {
    CHECK(esc("ET POLICY curl User-Agent") == "ET POLICY curl User-Agent");
    CHECK(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(esc("") == "");
}

TEST_CASE("escaping uses short forms for quote, backslash and the usual controls", "[alert][escape]") {
    CHECK(esc("a\"b\\c") == "a\\\"b\\\\c");
    CHECK(esc("\b\f\n\r\t") == "\\b\\f\\n\\r\\t");
}

TEST_CASE("escaping writes every other control byte, NUL and DEL as \\u00XX", "[alert][escape]") {
    CHECK(esc("\x00"s) == "\\u0000");
    CHECK(esc("a\x01\x1f\x7f" "b") == "a\\u0001\\u001f\\u007fb");
    std::string all;
    for (int c = 0; c < 0x20; c++) all.push_back(static_cast<char>(c));
    const std::string e = esc(all);
    for (char c : e) CHECK(static_cast<unsigned char>(c) >= 0x20);
}

TEST_CASE("escaping writes each byte of ill-formed UTF-8 as \\\\xHH", "[alert][escape]") {
    CHECK(esc("\xff") == "\\\\xff");
    CHECK(esc("a\x80z") == "a\\\\x80z");                        // lone continuation byte
    CHECK(esc("\xc3") == "\\\\xc3");                            // truncated sequence at the end
    CHECK(esc("\xc3(") == "\\\\xc3(");                          // lead byte without continuation
    CHECK(esc("\xc0\xaf") == "\\\\xc0\\\\xaf");                 // overlong '/'
    CHECK(esc("\xe0\x80\xaf") == "\\\\xe0\\\\x80\\\\xaf");      // overlong 3-byte
    CHECK(esc("\xed\xa0\x80") == "\\\\xed\\\\xa0\\\\x80");      // UTF-16 surrogate D800
    CHECK(esc("\xf4\x90\x80\x80") == "\\\\xf4\\\\x90\\\\x80\\\\x80");  // above U+10FFFF
    CHECK(esc("\xf5\x80\x80\x80") == "\\\\xf5\\\\x80\\\\x80\\\\x80");
    // A valid sequence right after an invalid byte survives.
    CHECK(esc("\xff\xc3\xa9") == "\\\\xff\xc3\xa9");
}

TEST_CASE("the longest legal code points are accepted at each boundary", "[alert][escape]") {
    CHECK(esc("\xc2\x80") == "\xc2\x80");          // U+0080
    CHECK(esc("\xdf\xbf") == "\xdf\xbf");          // U+07FF
    CHECK(esc("\xe0\xa0\x80") == "\xe0\xa0\x80");  // U+0800
    CHECK(esc("\xed\x9f\xbf") == "\xed\x9f\xbf");  // U+D7FF
    CHECK(esc("\xee\x80\x80") == "\xee\x80\x80");  // U+E000
    CHECK(esc("\xef\xbf\xbf") == "\xef\xbf\xbf");  // U+FFFF
    CHECK(esc("\xf0\x90\x80\x80") == "\xf0\x90\x80\x80");  // U+10000
    CHECK(esc("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");  // U+10FFFF
}

TEST_CASE("payload_printable follows Suricata: printable ASCII, CR and LF kept, others '.'",
          "[alert][escape]") {
    CHECK(printable("GET / HTTP/1.1\r\n") == "GET / HTTP/1.1\\r\\n");
    CHECK(printable("\x00\x01\x7f\xff\xc3\xa9"s) == "......");
    CHECK(printable("say \"hi\" \\ bye\t") == "say \\\"hi\\\" \\\\ bye.");
}

TEST_CASE("bounded text cuts at a UTF-8 character boundary and says it cut", "[alert][record]") {
    BoundedText<4> t;
    t.set("abc");
    CHECK(t.view() == "abc");
    CHECK_FALSE(t.cut);
    t.set("abcd");
    CHECK(t.view() == "abcd");
    CHECK_FALSE(t.cut);
    t.set("abc\xc3\xa9");  // 'é' would straddle the limit: dropped whole
    CHECK(t.view() == "abc");
    CHECK(t.cut);
    t.set("a\xe2\x82\xac" "b");  // '€' ends exactly at the limit: kept
    CHECK(t.view() == "a\xe2\x82\xac");
    CHECK(t.cut);
    t.set("ab\xe2\x82\xac");  // '€' straddles after 2 bytes of it
    CHECK(t.view() == "ab");
    t.set("\xff\xff\xff\xff\xff");  // ill-formed input: a plain byte cut
    CHECK(t.len == 4);
}

TEST_CASE("the payload excerpt keeps the first bytes and the original length", "[alert][record]") {
    PayloadExcerpt<8> p;
    const uint8_t data[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    p.set(data, 20);
    CHECK(p.len == 8);
    CHECK(p.total == 20);
    CHECK(p.cut());
    CHECK(p.bytes[7] == 8);
    p.set(data, 3);
    CHECK(p.kept() == 3);
    CHECK_FALSE(p.cut());
    p.set(nullptr, 0);
    CHECK(p.kept() == 0);
}

TEST_CASE("a record whose lengths were corrupted is read only within its arrays", "[alert][record]") {
    AlertRecord r;
    r.msg.len = 60000;
    r.payload.len = 60000;
    CHECK(r.msg.view().size() == AlertRecord::kMsgMax);
    CHECK(r.payload.kept() == AlertRecord::kPayloadMax);
}
