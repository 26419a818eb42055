// The two ways a rule does not load: Skip (well-formed, uses something the
// engine does not run; one test per reason) and Error (malformed; one test
// per kind, with file:line and the sid when the rule has one).
#include "rule_test_util.hpp"

using namespace vtap;
using namespace vtap::rules;
using namespace vtap::rules::test;

namespace {
std::string tcp(const std::string& opts) { return "alert tcp any any -> any any (" + opts + " sid:1;)"; }
}  // namespace

TEST_CASE("each skip reason is reported as a sentence naming the cause", "[rules]") {
    struct Case {
        std::string rule;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {"alert http any any -> any any (content:\"x\"; sid:1;)", "app-layer protocol 'http'"},
        {"alert dns $HOME_NET any -> any any (dns.query; content:\"x\"; sid:1;)", "app-layer protocol 'dns'"},
        {"alert http (msg:\"Snort 3 service rule\"; sid:1;)", "app-layer protocol 'http'"},
        {"alert icmpv6 any any -> any any (sid:1;)", "unsupported protocol 'icmpv6'"},
        {tcp("flowint:count,+,1;"), "unsupported keyword 'flowint'"},
        {tcp("flowbits:set,foo,group1;"), "flowbits groups"},
        {tcp("flowbits:setx,foo,group1;"), "flowbits 'setx'"},
        {tcp("flowbits:set,a|b;"), "flowbits 'set' with '|'"},
        {tcp("content:\"x\"; http_uri;"), "unsupported keyword 'http_uri'"},
        {tcp("http.uri; content:\"x\";"), "unsupported keyword 'http.uri'"},
        {tcp("file_data; content:\"x\";"), "unsupported keyword 'file_data'"},
        {tcp("content:\"x\"; bsize:10;"), "unsupported keyword 'bsize'"},
        {tcp("icmp_id:5;"), "unsupported keyword 'icmp_id'"},
        {tcp("pcre:\"/x/U\";"), "pcre flag 'U' (HTTP buffer)"},
        {tcp("pcre:\"/x/iH\";"), "pcre flag 'H' (HTTP buffer)"},
        {tcp("flow:established,only_frag;"), "flow option 'only_frag'"},
        {tcp("byte_test:4,>,1,0,dce;"), "byte_test dce"},
        {tcp("byte_jump:4,0,relative,dce;"), "byte_jump dce"},
        {tcp("byte_extract:4,0,v,dce;"), "byte_extract dce"},
        {tcp("threshold:type limit,track by_flow,count 1,seconds 5;"), "threshold track by_flow"},
        {tcp("content:\"x\"; service:http;"), "service with any ports (needs app-layer identification)"},
    };
    for (const auto& c : cases) {
        INFO(c.rule);
        CHECK(skip_reason(c.rule) == c.reason);
    }
}

TEST_CASE("a skip carries the rule's sid even when the sid comes last", "[rules]") {
    ParseResult r = parse("alert tls any any -> any any (msg:\"x\"; tls.sni; content:\"a\"; sid:424242; rev:1;)");
    REQUIRE(r.skipped());
    CHECK(r.skip().sid == 424242);
}

TEST_CASE("a rule is skipped whole: an unsupported keyword after valid ones leaves nothing", "[rules]") {
    ParseResult r = parse(tcp("content:\"abc\"; nocase; flowint:count,isset; content:\"d\";"));
    CHECK(r.skipped());
    CHECK_FALSE(r.ok());
}

TEST_CASE("errors say file:line and the sid, even when sid is the last option", "[rules]") {
    Error e = error_of("alert tcp any any -> any any (depth:4; content:\"x\"; sid:77;)");
    CHECK(e.where == "t.rules:7 (sid 77)");
    CHECK(e.what == "'depth' needs a preceding content");
    Error nosid = error_of("alert tcp any any -> any any (msg:\"x\";)");
    CHECK(nosid.where == "t.rules:7");
    CHECK(nosid.what == "rule has no sid");
}

TEST_CASE("each malformed construct is an error with a precise message", "[rules]") {
    struct Case {
        std::string rule;
        std::string what;
    };
    const std::vector<Case> cases = {
        {"alert tcp any any -> any any (msg:\"x\"; sid:1;", "rule does not end with ')'"},
        {"alert tcp any any -> any any msg:\"x\"; sid:1;)", "missing '(' before the rule options"},
        {tcp("content:\"abc;"), "unterminated quoted string in content"},
        {tcp("msg:\"abc;"), "unterminated quoted string in msg"},
        {tcp("content:abc;"), "content needs a quoted string"},
        {"alert tcp any any -> any any (sid:12x;)", "bad sid '12x'"},
        {"alert tcp any any -> any any (sid:1; sid:2;)", "sid given twice"},
        {tcp("rev:-1;"), "bad rev '-1'"},
        {tcp("nocase;"), "'nocase' needs a preceding content"},
        {tcp("within:5;"), "'within' needs a preceding content"},
        {tcp("content:\"|4|\";"), "odd number of hex digits in |...|"},
        {tcp("content:\"|4G|\";"), "bad hex digit 'G' in |...|"},
        {tcp("content:\"|41\";"), "unterminated |hex| block in content"},
        {tcp("content:\"a\\nb\";"), "invalid escape '\\n' in content (only \\\" \\; \\: \\\\)"},
        {tcp("content:\"\";"), "empty content"},
        {tcp("content:\"abcd\"; depth:3;"), "depth 3 is shorter than the content (4 bytes)"},
        {tcp("content:\"abcd\"; within:2;"), "within 2 is shorter than the content (4 bytes)"},
        {tcp("content:\"a\"; depth:4; distance:1;"),
         "relative (distance/within) and absolute (offset/depth) modifiers on one content"},
        {tcp("content:\"a\"; offset:1; offset:2;"), "'offset' given twice for one content"},
        {tcp("content:\"a\"; startswith; offset:1;"), "offset cannot be combined with startswith"},
        {tcp("content:\"a\"; offset:-1;"), "offset value -1 out of range [0, 65535]"},
        {tcp("content:\"a\"; distance:n;"), "distance names 'n', which no earlier byte_extract defines"},
        {tcp("content:\"a\"; fast_pattern; content:\"b\"; fast_pattern;"), "fast_pattern is set on more than one content"},
        {tcp("content:\"abc\"; fast_pattern:2,5;"), "fast_pattern 2,5 reaches past the content"},
        {tcp("content:\"a\",lenght 3;"), "unknown content option 'lenght 3'"},
        {tcp("pcre:\"/x/q\";"), "unknown pcre flag 'q'"},
        {tcp("pcre:\"x\";"), "pcre must look like \"/pattern/flags\""},
        {tcp("byte_test:4,>,1;"), "byte_test needs <bytes>,<op>,<value>,<offset>[,options]"},
        {tcp("byte_test:4,~,1,0;"), "byte_test operator '~' is not one of < > = ! & ^ <= >="},
        {tcp("byte_test:9,=,1,0;"), "byte_test reads 9 bytes, more than 8 without 'string'"},
        {tcp("byte_test:11,=,1,0,string;"), "byte_test byte count '11' is not 1..10"},
        {tcp("byte_jump:4,0,multiplier x;"), "bad byte_jump option 'multiplier x'"},
        {tcp("byte_extract:4,0,1abc;"), "byte_extract name '1abc' is not a name"},
        {tcp("isdataat:5,sideways;"), "unknown isdataat option 'sideways'"},
        {tcp("flow:to_server,to_client;"), "flow: to_server and to_client together"},
        {tcp("flow:established,stateless;"), "flow: established with not_established or stateless"},
        {tcp("flow:establised;"), "unknown flow option 'establised'"},
        {tcp("dsize:abc;"), "bad dsize 'abc'"},
        {tcp("dsize:70000;"), "bad dsize '70000'"},
        {tcp("dsize:20<>10;"), "dsize range '20<>10' is empty or reversed"},
        {tcp("ttl:256;"), "bad ttl '256'"},
        {tcp("stream_size:server,<;"), "stream_size 'server,<' is not <side>,<op>,<bytes>"},
        {tcp("stream_size:sever,<,5;"), "stream_size side 'sever' is not server, client, both or either"},
        {tcp("stream_size:server,<>,5;"), "stream_size operator '<>' is not <, <=, =, !=, >= or >"},
        {tcp("stream_size:server,<,-5;"), "bad stream_size bytes '-5'"},
        {tcp("stream_size:server,<,4294967296;"), "bad stream_size bytes '4294967296'"},
        {tcp("flags:SX;"), "bad flag 'X' in flags 'SX'"},
        {tcp("flags:+S*;"), "flags has two modifiers: '+S*'"},
        {tcp("threshold:type limit,track by_src,count 1;"), "threshold needs type, track, count and seconds"},
        {tcp("threshold:type most,track by_src,count 1,seconds 1;"), "threshold type must be limit, threshold or both"},
        {tcp("detection_filter:track by_src,count 1,seconds 1; threshold:type limit,track by_src,count 1,seconds 1;"),
         "only one threshold or detection_filter per rule"},
        {tcp("classtype:no-such-class;"), "unknown classtype 'no-such-class'"},
        {tcp("priority:0;"), "priority must be 1..255"},
        {tcp("target:both;"), "target must be src_ip or dest_ip"},
        {tcp("msg:\"a\";; content:\"b\";"), "empty option (stray ';'?)"},
        {tcp("\"stray\"; content:\"b\";"), "malformed option '\"stray\"'"},
    };
    for (const auto& c : cases) {
        INFO(c.rule);
        CHECK(error_of(c.rule).what == c.what);
    }
}

TEST_CASE("errors win over skips found later in the same rule's syntax", "[rules]") {
    // An unterminated header list is an error even in an app-layer rule.
    CHECK(error_of("alert http [10.0.0.0/8 any -> any any (sid:1;)").what.find("unbalanced") != std::string::npos);
    CHECK(error_of("alert http any any -> any any (content:\"x\";)").what == "rule has no sid");
}
