// Every supported keyword lands in the right Rule fields: metadata, content
// and its modifiers (Suricata and Snort 3 forms), hex and escapes, pcre,
// byte_*, isdataat, flow, dsize/ttl/itype/icode, flags, threshold.
#include "rule_test_util.hpp"

using namespace vtap;
using namespace vtap::rules;
using namespace vtap::rules::test;

TEST_CASE("metadata keywords fill msg, ids, classtype, priority, references and metadata", "[rules]") {
    Rule r = rule_ok(
        "alert tcp any any -> any any (msg:\"ET \\\"quoted\\\" \\; semi\"; sid:2001; rev:7; gid:3; "
        "classtype:trojan-activity; reference:url,example.com/a; reference:cve,2020-1; "
        "metadata:created_at 2020_01_01, deployment Perimeter; target:dest_ip; rem:\"note\";)");
    CHECK(r.msg == "ET \"quoted\" ; semi");
    CHECK(r.sid == 2001);
    CHECK(r.rev == 7);
    CHECK(r.gid == 3);
    CHECK(r.classtype == "trojan-activity");
    CHECK(r.priority == 1);
    CHECK(r.references == std::vector<std::string>{"url,example.com/a", "cve,2020-1"});
    CHECK(r.metadata == std::vector<std::string>{"created_at 2020_01_01", "deployment Perimeter"});
    CHECK(r.target == "dest_ip");
    CHECK(r.loc.file == "t.rules");
    CHECK(r.loc.line == 7);
}

TEST_CASE("priority wins over the classtype's whatever the order", "[rules]") {
    CHECK(opts_ok("priority:4; classtype:trojan-activity;").priority == 4);
    CHECK(opts_ok("classtype:trojan-activity; priority:4;").priority == 4);
    CHECK(opts_ok("classtype:misc-attack;").priority == 2);
    CHECK(opts_ok("msg:\"x\";").priority == 3);
}

TEST_CASE("content decodes |hex| blocks and the four escapes", "[rules]") {
    struct Case {
        std::string opt;
        std::string bytes;
    };
    const std::vector<Case> cases = {
        {R"(content:"abc";)", "abc"},
        {R"(content:"|41 42|C";)", "ABC"},
        {R"(content:"a|0d0A|b";)", "a\r\nb"},
        {R"(content:"|00|";)", std::string(1, '\0')},
        {R"(content:"x\;y\"z\\w\:v";)", "x;y\"z\\w:v"},
        {R"(content:"GET /|20 20 |x";)", "GET /  x"},
    };
    for (const auto& c : cases) {
        INFO(c.opt);
        CHECK(payload_at<Content>(opts_ok(c.opt), 0).bytes == c.bytes);
    }
}

TEST_CASE("content negation is read before or inside the option", "[rules]") {
    CHECK(payload_at<Content>(opts_ok(R"(content:!"abc";)"), 0).negated);
    CHECK(payload_at<Content>(opts_ok(R"(content: ! "abc";)"), 0).negated);
    CHECK_FALSE(payload_at<Content>(opts_ok(R"(content:"abc";)"), 0).negated);
}

TEST_CASE("Suricata content modifiers apply to the content before them", "[rules]") {
    Rule r = opts_ok(R"(content:"abcd"; nocase; offset:2; depth:10; rawbytes; )"
                     R"(content:"efgh"; distance:-3; within:8; fast_pattern; )"
                     R"(content:"ij"; startswith; endswith;)");
    const auto& a = payload_at<Content>(r, 0);
    CHECK(a.nocase);
    CHECK(a.rawbytes);
    CHECK(a.offset->value == 2);
    CHECK(a.depth->value == 10);
    CHECK_FALSE(a.distance);
    CHECK_FALSE(a.fast_pattern);
    const auto& b = payload_at<Content>(r, 1);
    CHECK(b.distance->value == -3);
    CHECK(b.within->value == 8);
    CHECK(b.fast_pattern);
    CHECK_FALSE(b.nocase);
    const auto& c = payload_at<Content>(r, 2);
    CHECK(c.startswith);
    CHECK(c.endswith);
}

TEST_CASE("Snort 3 content sub-options parse like the Suricata keywords", "[rules]") {
    Rule r = opts_ok(R"(content:"Remote|3A| ",depth 11,nocase; content:"You",distance 0, within 10, fast_pattern;)");
    const auto& a = payload_at<Content>(r, 0);
    CHECK(a.bytes == "Remote: ");
    CHECK(a.depth->value == 11);
    CHECK(a.nocase);
    const auto& b = payload_at<Content>(r, 1);
    CHECK(b.distance->value == 0);
    CHECK(b.within->value == 10);
    CHECK(b.fast_pattern);
    const auto& c = payload_at<Content>(opts_ok(R"(content:"abcdef",fast_pattern,fast_pattern_offset 1,fast_pattern_length 3;)"), 0);
    CHECK((c.fp_offset == 1 && c.fp_length == 3));
}

TEST_CASE("fast_pattern takes only or an offset,length slice", "[rules]") {
    const auto& only = payload_at<Content>(opts_ok(R"(content:"abcdef"; fast_pattern:only;)"), 0);
    CHECK(only.fast_pattern);
    CHECK(only.fast_pattern_only);
    const auto& slice = payload_at<Content>(opts_ok(R"(content:"abcdef"; fast_pattern:1,5;)"), 0);
    CHECK((slice.fp_offset == 1 && slice.fp_length == 5));
}

TEST_CASE("distance and within on the first content are allowed (relative to the start)", "[rules]") {
    const auto& c = payload_at<Content>(opts_ok(R"(content:"abc"; distance:2; within:5;)"), 0);
    CHECK(c.distance->value == 2);
    CHECK(c.within->value == 5);
}

TEST_CASE("byte_extract variables can feed later modifiers and byte keywords", "[rules]") {
    Rule r = opts_ok(R"(content:"L"; byte_extract:2,0,len,relative,little,multiplier 2,align 4; )"
                     R"(content:"x"; distance:len; byte_test:1,>,len,0,relative; isdataat:len,relative;)");
    const auto& e = payload_at<ByteExtract>(r, 1);
    CHECK(e.name == "len");
    CHECK(e.spec.nbytes == 2);
    CHECK(e.spec.offset.value == 0);
    CHECK(e.spec.relative);
    CHECK(e.spec.little_endian);
    CHECK(e.multiplier == 2);
    CHECK(e.align == 4);
    CHECK(payload_at<Content>(r, 2).distance->var == "len");
    CHECK(payload_at<ByteTest>(r, 3).value.var == "len");
    CHECK(payload_at<IsDataAt>(r, 4).offset.var == "len");
}

TEST_CASE("pcre keeps its pattern raw and splits Suricata flags from PCRE flags", "[rules]") {
    Rule r = opts_ok(R"(content:"a"; pcre:"/^USER\s+w0rm\;x/ismR"; pcre:!"/b\/c/"; pcre:"/^["']?post/Ri";)");
    const auto& p = payload_at<Pcre>(r, 1);
    CHECK(p.pattern == R"(^USER\s+w0rm\;x)");
    CHECK(p.flags == "ism");
    CHECK(p.relative);
    CHECK_FALSE(p.negated);
    const auto& n = payload_at<Pcre>(r, 2);
    CHECK(n.negated);
    CHECK(n.pattern == R"(b\/c)");
    CHECK(n.flags.empty());
    CHECK(payload_at<Pcre>(r, 3).pattern == R"(^["']?post)");
}

TEST_CASE("byte_test reads count, operator, value, offset and options", "[rules]") {
    struct Case {
        std::string args;
        ByteOp op;
        bool negated;
        int64_t value;
    };
    const std::vector<Case> cases = {
        {"4,>,1000,0", ByteOp::kGreater, false, 1000}, {"4,<,5,0", ByteOp::kLess, false, 5},
        {"1,=,0x7f,0", ByteOp::kEqual, false, 127},    {"1,!=,3,0", ByteOp::kNotEqual, false, 3},
        {"1,!,3,0", ByteOp::kNotEqual, false, 3},       {"2,!>,3,0", ByteOp::kGreater, true, 3},
        {"1,&,0x80,0", ByteOp::kAnd, false, 128},       {"1,^,1,0", ByteOp::kOr, false, 1},
        {"2,<=,9,0", ByteOp::kLessEq, false, 9},        {"2,>=,9,0", ByteOp::kGreaterEq, false, 9},
    };
    for (const auto& c : cases) {
        INFO(c.args);
        const auto& t = payload_at<ByteTest>(opts_ok("byte_test:" + c.args + ";"), 0);
        CHECK(t.op == c.op);
        CHECK(t.negated == c.negated);
        CHECK(t.value.value == c.value);
    }
    const auto& s = payload_at<ByteTest>(opts_ok("byte_test:10,>,5,-4,relative,string,hex,little,bitmask 0x0ff0;"), 0);
    CHECK(s.spec.nbytes == 10);
    CHECK(s.spec.offset.value == -4);
    CHECK(s.spec.relative);
    CHECK(s.spec.string);
    CHECK(s.spec.base == 16);
    CHECK(s.spec.little_endian);
    CHECK(s.spec.bitmask == 0x0ff0);
}

TEST_CASE("byte_jump reads its options", "[rules]") {
    const auto& j = payload_at<ByteJump>(
        opts_ok("byte_jump:4,12,relative,little,multiplier 4,align,post_offset -2,from_beginning,string,oct;"), 0);
    CHECK(j.spec.nbytes == 4);
    CHECK(j.spec.offset.value == 12);
    CHECK(j.spec.relative);
    CHECK(j.spec.little_endian);
    CHECK(j.multiplier == 4);
    CHECK(j.align);
    CHECK(j.post_offset == -2);
    CHECK(j.from_beginning);
    CHECK(j.spec.string);
    CHECK(j.spec.base == 8);
    CHECK(payload_at<ByteJump>(opts_ok("byte_jump:2,0,from_end;"), 0).from_end);
}

TEST_CASE("byte_jump takes 0 bytes and up to 23 string digits as Suricata does", "[rules]") {
    CHECK(payload_at<ByteJump>(opts_ok("byte_jump:0,0,relative,string,from_end,post_offset -3;"), 0).spec.nbytes == 0);
    CHECK(payload_at<ByteJump>(opts_ok("byte_jump:23,0,string,dec;"), 0).spec.nbytes == 23);
}

TEST_CASE("isdataat reads negation and relative", "[rules]") {
    const auto& d = payload_at<IsDataAt>(opts_ok("content:\"a\"; isdataat:!10,relative;"), 1);
    CHECK(d.negated);
    CHECK(d.relative);
    CHECK(d.offset.value == 10);
    CHECK_FALSE(payload_at<IsDataAt>(opts_ok("isdataat:5;"), 0).relative);
}

TEST_CASE("flow options set their flags, including the from_ aliases", "[rules]") {
    FlowOpts f = opts_ok("flow:to_server,established,only_stream;").flow;
    CHECK((f.to_server && f.established && f.only_stream && !f.to_client));
    f = opts_ok("flow:from_server,not_established,no_stream;").flow;
    CHECK((f.to_client && f.not_established && f.no_stream));
    CHECK(opts_ok("flow:from_client,stateless;").flow.to_server);
    CHECK(opts_ok("flow:stateless;").flow.stateless);
}

TEST_CASE("dsize, ttl, itype and icode take every comparison form", "[rules]") {
    struct Case {
        std::string opt;
        CmpOp op;
        uint32_t a, b;
    };
    const std::vector<Case> cases = {
        {"dsize:300;", CmpOp::kEq, 300, 0},         {"dsize:<10;", CmpOp::kLess, 10, 0},
        {"dsize:> 100;", CmpOp::kGreater, 100, 0},  {"dsize:!0;", CmpOp::kNotEq, 0, 0},
        {"dsize:10<>20;", CmpOp::kRange, 10, 20},   {"dsize:10<=>20;", CmpOp::kRangeIncl, 10, 20},
        {"dsize:<=5;", CmpOp::kLessEq, 5, 0},       {"dsize:>=5;", CmpOp::kGreaterEq, 5, 0},
        {"ttl:64;", CmpOp::kEq, 64, 0},             {"ttl:3-5;", CmpOp::kRange, 3, 5},
        {"itype:>30;", CmpOp::kGreater, 30, 0},     {"icode:0<>4;", CmpOp::kRange, 0, 4},
    };
    for (const auto& c : cases) {
        INFO(c.opt);
        Rule r = rule_ok("alert icmp any any -> any any (" + c.opt + " sid:1;)");
        auto& check = c.opt.starts_with("dsize") ? r.dsize : c.opt.starts_with("ttl") ? r.ttl
                    : c.opt.starts_with("itype") ? r.itype : r.icode;
        REQUIRE(check);
        CHECK(check->op == c.op);
        CHECK(check->a == c.a);
        CHECK(check->b == c.b);
    }
}

TEST_CASE("stream_size takes a side, one of six operators and a byte count, more than once", "[rules]") {
    using Side = StreamSize::Side;
    Rule r = rule_ok("alert tcp any any -> any any (stream_size:client,=,1; stream_size: server , >= , 10; sid:1;)");
    REQUIRE(r.stream_size.size() == 2);
    CHECK(r.stream_size[0].side == Side::kClient);
    CHECK(r.stream_size[0].check.op == CmpOp::kEq);
    CHECK(r.stream_size[0].check.a == 1);
    CHECK(r.stream_size[1].side == Side::kServer);
    CHECK(r.stream_size[1].check.op == CmpOp::kGreaterEq);
    CHECK(r.stream_size[1].check.a == 10);
    const std::pair<std::string, CmpOp> ops[] = {{"<", CmpOp::kLess},  {"<=", CmpOp::kLessEq},    {"=", CmpOp::kEq},
                                                 {"!=", CmpOp::kNotEq}, {">=", CmpOp::kGreaterEq}, {">", CmpOp::kGreater}};
    for (const auto& [text, op] : ops) {
        INFO(text);
        const auto ss = opts_ok("stream_size:either," + text + ",4294967295;").stream_size;
        REQUIRE(ss.size() == 1);
        CHECK(ss[0].side == Side::kEither);
        CHECK(ss[0].check.op == op);
        CHECK(ss[0].check.a == 4294967295u);
    }
    CHECK(opts_ok("stream_size:both,<,5;").stream_size[0].side == Side::kBoth);
}

TEST_CASE("tcp.flags is Suricata 8's name for flags, with the same syntax", "[rules]") {
    auto f = opts_ok("tcp.flags:S,12;").flags;
    REQUIRE(f);
    CHECK(f->bits == 0x02);
    CHECK(f->ignore == 0xc0);
    CHECK(f->modifier == 0);
}

TEST_CASE("flags parse bits, modifiers on either side, CE / 12 and the ignore mask", "[rules]") {
    struct Case {
        std::string value;
        uint8_t bits, ignore;
        char modifier;
    };
    const std::vector<Case> cases = {
        {"SA", 0x12, 0, 0},   {"S+", 0x02, 0, '+'}, {"*SA", 0x12, 0, '*'}, {"!R", 0x04, 0, '!'},
        {"S,12", 0x02, 0xc0, 0}, {"CE", 0xc0, 0, 0}, {"FPU", 0x29, 0, 0}, {"0", 0, 0, 0},
        {"AS,CE", 0x12, 0xc0, 0},
    };
    for (const auto& c : cases) {
        INFO(c.value);
        auto f = opts_ok("flags:" + c.value + ";").flags;
        REQUIRE(f);
        CHECK(f->bits == c.bits);
        CHECK(f->ignore == c.ignore);
        CHECK(f->modifier == c.modifier);
    }
}

TEST_CASE("threshold and detection_filter read all four fields in any order", "[rules]") {
    auto t = opts_ok("threshold: type limit, track by_src, seconds 3600, count 1;").threshold;
    REQUIRE(t);
    CHECK(t->type == Threshold::Type::kLimit);
    CHECK(t->track == Threshold::Track::kBySrc);
    CHECK(t->count == 1);
    CHECK(t->seconds == 3600);
    t = opts_ok("threshold:count 5, seconds 60, track by_both, type both;").threshold;
    CHECK((t->type == Threshold::Type::kBoth && t->track == Threshold::Track::kByBoth && t->count == 5));
    t = opts_ok("threshold:type threshold,track by_rule,count 2,seconds 1;").threshold;
    CHECK((t->type == Threshold::Type::kThreshold && t->track == Threshold::Track::kByRule));
    t = opts_ok("detection_filter:track by_dst, count 30, seconds 10;").threshold;
    CHECK((t->type == Threshold::Type::kDetectionFilter && t->track == Threshold::Track::kByDst));
    CHECK(t->count == 30);
    // The shared threshold table keeps 20 bits of count.
    CHECK(opts_ok("threshold:type limit,track by_src,count 1000000,seconds 1;").threshold->count == 1000000);
    CHECK(opts_error("threshold:type limit,track by_src,count 1000001,seconds 1;")
              .find("threshold count must be between 1 and 1000000, got '1000001'") != std::string::npos);
}

TEST_CASE("flowbits read as Suricata does: commands, '|' lists, '&' inside a name", "[rules]") {
    using Cmd = Flowbit::Cmd;
    Rule r = opts_ok("flowbits:set,ET.a; flowbits:isset,x|y ; flowbits:isnotset, z; flowbits:unset,b; "
                     "flowbits:toggle,c; flowbits:set,f.flash&f.jar;");
    REQUIRE(r.flowbits.size() == 6);
    CHECK(r.flowbits[0].cmd == Cmd::kSet);
    CHECK(r.flowbits[0].names == std::vector<std::string>{"ET.a"});
    CHECK(r.flowbits[1].cmd == Cmd::kIsSet);
    CHECK(r.flowbits[1].any);
    CHECK(r.flowbits[1].names == std::vector<std::string>{"x", "y"});
    CHECK(r.flowbits[2].cmd == Cmd::kIsNotSet);
    CHECK(r.flowbits[2].names == std::vector<std::string>{"z"});
    CHECK(r.flowbits[3].cmd == Cmd::kUnset);
    CHECK(r.flowbits[4].cmd == Cmd::kToggle);
    CHECK(r.flowbits[5].names == std::vector<std::string>{"f.flash&f.jar"});  // one name, as in Suricata
    CHECK_FALSE(r.noalert);

    CHECK(opts_error("flowbits:sett,a;").find("unknown flowbits command 'sett'") != std::string::npos);
    CHECK(opts_error("flowbits:set;").find("flowbits 'set' needs a name") != std::string::npos);
    CHECK(opts_error("flowbits:isset,a b;").find("is empty or has spaces") != std::string::npos);
    CHECK(opts_error("flowbits:isset,a|;").find("is empty or has spaces") != std::string::npos);
    CHECK(opts_error("flowbits:isset,a; flowbits:isnotset,a;").find("never match") != std::string::npos);
}

TEST_CASE("noalert, flowbits:noalert and pkt_data are accepted", "[rules]") {
    CHECK(opts_ok("noalert;").noalert);
    CHECK(opts_ok("flowbits:noalert;").noalert);
    CHECK_FALSE(opts_ok("msg:\"x\";").noalert);
    Rule r = opts_ok("pkt_data; content:\"a\";");
    CHECK(payload_at<Content>(r, 0).bytes == "a");
}

TEST_CASE("Snort 3 service with a port is recorded as a hint and the rule loads", "[rules]") {
    Rule r = rule_ok("alert tcp any any -> any 21 (msg:\"x\"; content:\"USER\",nocase; service:ftp, FTP-data; sid:9;)");
    CHECK(r.services == std::vector<std::string>{"ftp", "ftp-data"});
    CHECK(r.app_proto.empty());
}

TEST_CASE("payload keywords keep rule order", "[rules]") {
    Rule r = opts_ok(R"(content:"a"; pcre:"/b/"; byte_test:1,=,1,0; byte_jump:1,0; byte_extract:1,0,v; isdataat:1;)");
    REQUIRE(r.payload.size() == 6);
    CHECK(r.payload[0].index() == 0);
    CHECK(r.payload[1].index() == 1);
    CHECK(r.payload[2].index() == 2);
    CHECK(r.payload[3].index() == 3);
    CHECK(r.payload[4].index() == 4);
    CHECK(r.payload[5].index() == 5);
}
