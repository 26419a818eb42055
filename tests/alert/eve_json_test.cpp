// EVE JSON lines read back by an independent parser (Python's json through
// eve_flatten.py): exact field values, Suricata's formats, and hostile bytes
// in rule text and payload that must stay one valid line each.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "alert/eve_json.hpp"
#include "tests/alert/eve_check.hpp"

using namespace vtap;
using namespace vtap::alert;
using namespace std::string_literals;
using test::EveObject;

namespace {

constexpr uint64_t kTs = 1795305326ull * 1'000'000'000ull + 123'456'789ull;  // 2026-11-21T23:55:26.123456789Z

uint32_t ip4(const char* s) {
    uint32_t a = 0;
    REQUIRE(inet_pton(AF_INET, s, &a) == 1);
    return a;
}

AlertRecord tcp_record() {
    AlertRecord r;
    r.ts_ns = kTs;
    r.flow_id = (uint64_t{1} << 60) | 1234567890123ull;  // bits above 53 are not printed
    r.set_ipv4(ip4("128.232.110.120"), ip4("66.35.250.204"));
    r.src_port = 34855;
    r.dst_port = 80;
    r.ip_proto = 6;
    r.direction = Direction::kToServer;
    r.tunneled = true;
    r.vni = Vni{27};
    r.tap_src = ip4("10.1.0.4");
    r.tap_dst = ip4("10.1.0.5");
    r.gid = 1;
    r.sid = 2019401;
    r.rev = 3;
    r.priority = 1;
    r.worker = WorkerId{1};
    r.msg.set("ET POLICY curl User-Agent Outbound");
    r.class_name.set("trojan-activity");
    r.class_desc.set("A Network Trojan was detected");
    const std::string p = "GET / HTTP/1.1\r\nUser-Agent: curl/7.88\r\n\r\n";
    r.payload.set(reinterpret_cast<const uint8_t*>(p.data()), p.size());
    return r;
}

EveOptions full_options() {
    EveOptions o;
    o.host = "sensor-1";
    o.in_iface = "net_netvsc0";
    return o;
}

test::EveParse format_and_parse(EveFormatter& f, const std::vector<AlertRecord>& recs) {
    test::TempDir dir;
    std::string text;
    for (const auto& r : recs) f.format(r, text);
    test::write_file(dir / "eve.json", text);
    auto p = test::parse_eve_file(dir / "eve.json");
    INFO(p.error);
    REQUIRE(p.ok);
    REQUIRE(p.lines.size() == recs.size());
    return p;
}

std::string s(const EveObject& o, const std::string& k) {
    auto it = o.find(k);
    if (it == o.end()) FAIL("no key " << k);
    CHECK(it->second.type == 's');
    return it->second.value;
}
long long i(const EveObject& o, const std::string& k) {
    auto it = o.find(k);
    if (it == o.end()) FAIL("no key " << k);
    CHECK(it->second.type == 'i');
    return std::stoll(it->second.value);
}
std::set<std::string> keys(const EveObject& o) {
    std::set<std::string> k;
    for (const auto& [name, _] : o) k.insert(name);
    return k;
}

std::string suricata_printable(const std::string& in) {
    std::string out;
    for (unsigned char c : in) out.push_back((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' ? char(c) : '.');
    return out;
}

const std::set<std::string> kTcpKeys = {
    "timestamp", "flow_id", "in_iface", "event_type", "src_ip", "src_port", "dest_ip", "dest_port",
    "proto", "ip_v", "pkt_src", "tunnel.src_ip", "tunnel.dest_ip", "tunnel.dest_port", "tunnel.proto",
    "tunnel.depth", "tunnel.pkt_src", "tunnel.vxlan_vni", "community_id", "alert.action", "alert.gid",
    "alert.signature_id", "alert.rev", "alert.signature", "alert.category", "alert.severity",
    "direction", "payload", "payload#decoded", "payload_printable", "payload_length", "host"};

}  // namespace

TEST_CASE("an EVE alert line carries every field with its exact value", "[alert][eve]") {
    EveFormatter f(full_options());
    const auto p = format_and_parse(f, {tcp_record()});
    const EveObject& o = p.lines[0];
    CHECK(keys(o) == kTcpKeys);
    CHECK(s(o, "timestamp") == "2026-11-21T23:55:26.123456+0000");
    CHECK(i(o, "flow_id") == 1234567890123);
    CHECK(s(o, "in_iface") == "net_netvsc0");
    CHECK(s(o, "event_type") == "alert");
    CHECK(s(o, "src_ip") == "128.232.110.120");
    CHECK(i(o, "src_port") == 34855);
    CHECK(s(o, "dest_ip") == "66.35.250.204");
    CHECK(i(o, "dest_port") == 80);
    CHECK(s(o, "proto") == "TCP");
    CHECK(i(o, "ip_v") == 4);
    CHECK(s(o, "pkt_src") == "vxlan encapsulation");
    CHECK(s(o, "tunnel.src_ip") == "10.1.0.4");
    CHECK(s(o, "tunnel.dest_ip") == "10.1.0.5");
    CHECK(i(o, "tunnel.dest_port") == 4789);
    CHECK(s(o, "tunnel.proto") == "UDP");
    CHECK(i(o, "tunnel.depth") == 1);
    CHECK(s(o, "tunnel.pkt_src") == "wire/pcap");
    CHECK(i(o, "tunnel.vxlan_vni") == 27);
    CHECK(s(o, "community_id") == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");  // the spec's TCP vector
    CHECK(s(o, "alert.action") == "allowed");
    CHECK(i(o, "alert.gid") == 1);
    CHECK(i(o, "alert.signature_id") == 2019401);
    CHECK(i(o, "alert.rev") == 3);
    CHECK(s(o, "alert.signature") == "ET POLICY curl User-Agent Outbound");
    CHECK(s(o, "alert.category") == "A Network Trojan was detected");
    CHECK(i(o, "alert.severity") == 1);
    CHECK(s(o, "direction") == "to_server");
    CHECK(s(o, "payload#decoded") == "GET / HTTP/1.1\r\nUser-Agent: curl/7.88\r\n\r\n");
    CHECK(s(o, "payload_printable") == "GET / HTTP/1.1\r\nUser-Agent: curl/7.88\r\n\r\n");
    CHECK(i(o, "payload_length") == 41);
    CHECK(s(o, "host") == "sensor-1");
}

TEST_CASE("an ICMPv6 alert has type and code instead of ports and Suricata's IPv6 form", "[alert][eve]") {
    AlertRecord r = tcp_record();
    uint8_t a[16], b[16];
    REQUIRE(inet_pton(AF_INET6, "fe80::200:86ff:fe05:80da", a) == 1);
    REQUIRE(inet_pton(AF_INET6, "fe80::260:97ff:fe07:69ea", b) == 1);
    r.set_ipv6(a, b);
    r.ip_proto = 58;
    r.src_port = 135;  // neighbor solicitation
    r.dst_port = 0;
    r.tunneled = false;
    r.direction = Direction::kUnknown;
    r.action = Action::kBlocked;
    EveFormatter f(full_options());
    const EveObject o = format_and_parse(f, {r}).lines[0];
    CHECK(s(o, "src_ip") == "fe80:0000:0000:0000:0200:86ff:fe05:80da");
    CHECK(s(o, "dest_ip") == "fe80:0000:0000:0000:0260:97ff:fe07:69ea");
    CHECK(s(o, "proto") == "IPv6-ICMP");
    CHECK(i(o, "ip_v") == 6);
    CHECK(i(o, "icmp_type") == 135);
    CHECK(i(o, "icmp_code") == 0);
    CHECK(s(o, "pkt_src") == "wire/pcap");
    CHECK(s(o, "community_id") == "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
    CHECK(s(o, "alert.action") == "blocked");
    for (const char* absent : {"src_port", "dest_port", "tunnel.src_ip", "direction"}) CHECK(o.count(absent) == 0);
}

TEST_CASE("a protocol Suricata has no name for is printed as its number, without ports", "[alert][eve]") {
    AlertRecord r = tcp_record();
    r.ip_proto = 253;
    r.direction = Direction::kToClient;
    EveFormatter f(full_options());
    const EveObject o = format_and_parse(f, {r}).lines[0];
    CHECK(s(o, "proto") == "253");
    CHECK(o.count("src_port") == 0);
    CHECK(o.count("icmp_type") == 0);
    CHECK(s(o, "direction") == "to_client");
}

TEST_CASE("turned-off EVE options leave their fields out", "[alert][eve]") {
    EveOptions opt;
    opt.community_id = false;
    opt.payload = false;
    opt.payload_printable = false;
    EveFormatter f(opt);
    const EveObject o = format_and_parse(f, {tcp_record()}).lines[0];
    for (const char* absent : {"community_id", "payload", "payload_printable", "payload_length", "host", "in_iface"})
        CHECK(o.count(absent) == 0);
    CHECK(i(o, "alert.signature_id") == 2019401);
}

TEST_CASE("a community id seed changes the id as the spec's seed-1 baseline says", "[alert][eve]") {
    EveOptions opt;
    opt.community_id_seed = 1;
    EveFormatter f(opt);
    CHECK(s(format_and_parse(f, {tcp_record()}).lines[0], "community_id") == "1:3V71V58M3Ksw/yuFALMcW0LAHvc=");
}

TEST_CASE("timestamps are printed as Suricata prints them, in UTC or the local zone", "[alert][eve][time]") {
    EveFormatter utc(EveOptions{});
    auto ts = [](EveFormatter& f, uint64_t ns) {
        std::string o;
        f.append_timestamp(ns, o);
        return o;
    };
    CHECK(ts(utc, kTs) == "2026-11-21T23:55:26.123456+0000");
    CHECK(ts(utc, 0) == "1970-01-01T00:00:00.000000+0000");
    CHECK(ts(utc, 1'999'999'999) == "1970-01-01T00:00:01.999999+0000");  // truncated, not rounded
    CHECK(ts(utc, kTs + 1'000'000'000) == "2026-11-21T23:55:27.123456+0000");
    CHECK(ts(utc, kTs) == "2026-11-21T23:55:26.123456+0000");  // the cached second is replaced, not reused

    const char* old = std::getenv("TZ");
    const std::string saved = old ? old : "";
    EveOptions local;
    local.local_time = true;
    setenv("TZ", "XXX-02", 1);  // POSIX: two hours east of UTC
    tzset();
    EveFormatter east(local);
    CHECK(ts(east, kTs) == "2026-11-22T01:55:26.123456+0200");
    setenv("TZ", "YYY+05:30", 1);
    tzset();
    EveFormatter west(local);
    CHECK(ts(west, kTs) == "2026-11-21T18:25:26.123456-0530");
    if (old) setenv("TZ", saved.c_str(), 1); else unsetenv("TZ");
    tzset();
}

TEST_CASE("hostile rule text and payloads give exactly one valid JSON line each", "[alert][eve][hostile]") {
    std::string all_bytes;
    for (int c = 0; c < 256; c++) all_bytes.push_back(static_cast<char>(c));
    // Valid UTF-8: the decoded JSON string must equal the input exactly.
    const std::vector<std::string> valid = {
        "line one\nline two",
        "\r\n<13>1 2026-11-21T23:55:26Z evil app - - - injected\n",
        "NUL\0inside\0"s,
        "\"},\"alert\":{\"signature_id\":1},\"x\":\"",
        "back\\slash \\\" \\u0000 \\n",
        "<13>1 - - - - - [x@1 a=\"]\"] msg",
        "\x1b[31mred\x1b[0m \x7f \t tab",
        "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80",  // includes U+2028
    };
    // Ill-formed UTF-8: Suricata's \xHH rendering, written out by hand.
    const std::vector<std::pair<std::string, std::string>> invalid = {
        {"a\xff" "b\n", "a\\xffb\n"},
        {"\xc3(\xed\xa0\x80", "\\xc3(\\xed\\xa0\\x80"},
        {"ok \xc3\xa9 then \x80", "ok \xc3\xa9 then \\x80"},
    };

    std::vector<AlertRecord> recs;
    std::vector<std::string> inputs;
    for (const auto& v : valid) inputs.push_back(v);
    for (const auto& [in, _] : invalid) inputs.push_back(in);
    inputs.push_back(all_bytes);
    for (size_t k = 0; k < inputs.size(); k++) {
        AlertRecord r = tcp_record();
        r.sid = static_cast<uint32_t>(1000 + k);
        r.msg.set(inputs[k]);
        r.class_desc.set(inputs[k]);
        r.payload.set(reinterpret_cast<const uint8_t*>(inputs[k].data()), inputs[k].size());
        recs.push_back(r);
    }
    EveFormatter f(full_options());
    const auto p = format_and_parse(f, recs);  // requires exactly one parsed line per record

    for (size_t k = 0; k < inputs.size(); k++) {
        INFO("input " << k);
        const EveObject& o = p.lines[k];
        CHECK(keys(o) == kTcpKeys);  // nothing injected, nothing lost
        CHECK(i(o, "alert.signature_id") == long(1000 + k));
        const std::string cut_input = inputs[k].substr(0, AlertRecord::kPayloadMax);
        CHECK(s(o, "payload#decoded") == cut_input);
        CHECK(s(o, "payload_printable") == suricata_printable(cut_input));
        CHECK(i(o, "payload_length") == long(inputs[k].size()));
        if (k < valid.size()) {
            CHECK(s(o, "alert.signature") == valid[k]);
            CHECK(s(o, "alert.category") == valid[k]);
        } else if (k < valid.size() + invalid.size()) {
            CHECK(s(o, "alert.signature") == invalid[k - valid.size()].second);
        }
    }
    // All 256 byte values, cut to the 192-byte message: controls as \u00XX,
    // 0x80.. as \xHH text.
    const std::string sig = s(p.lines.back(), "alert.signature");
    std::string expect;
    for (int c = 0; c < int(AlertRecord::kMsgMax); c++) {
        if (c < 0x80) {
            expect.push_back(static_cast<char>(c));
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            expect += buf;
        }
    }
    CHECK(sig == expect);
}

TEST_CASE("host and interface names from the config are escaped too", "[alert][eve][hostile]") {
    EveOptions opt;
    opt.host = "evil\"host\n";
    opt.in_iface = "if\\0";
    EveFormatter f(opt);
    const EveObject o = format_and_parse(f, {tcp_record()}).lines[0];
    CHECK(s(o, "host") == "evil\"host\n");
    CHECK(s(o, "in_iface") == "if\\0");
}

TEST_CASE("a truncated message stays valid UTF-8 and a long payload keeps its length", "[alert][eve]") {
    AlertRecord r = tcp_record();
    std::string msg(AlertRecord::kMsgMax - 1, 'm');
    msg += "\xe2\x82\xac tail";  // '€' straddles the limit
    r.msg.set(msg);
    std::string payload(5000, 'p');
    r.payload.set(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    EveFormatter f(EveOptions{});
    const EveObject o = format_and_parse(f, {r}).lines[0];
    CHECK(s(o, "alert.signature") == std::string(AlertRecord::kMsgMax - 1, 'm'));
    CHECK(s(o, "payload#decoded").size() == AlertRecord::kPayloadMax);
    CHECK(i(o, "payload_length") == 5000);
}
