// Rule headers: actions, protocols (transport, app-layer, Suricata 7's
// tcp-pkt / tcp-stream), direction, and address / port specs with lists,
// nesting, negation and variables, checked by membership of sample addresses.
#include "rule_test_util.hpp"

using namespace vtap;
using namespace vtap::rules;
using namespace vtap::rules::test;

namespace {

Rule with_header(const std::string& header, const Vars& vars = {}) { return rule_ok(header + " (sid:1;)", vars); }

AddrSpec src_of(const std::string& addr, const Vars& vars = {}) {
    return with_header("alert ip " + addr + " any -> any any", vars).src;
}

PortSpec dport_of(const std::string& ports, const Vars& vars = {}) {
    return with_header("alert tcp any any -> any " + ports, vars).dst_ports;
}

std::vector<std::string> texts(const std::vector<Cidr>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(cidr_text(c));
    return out;
}

}  // namespace

TEST_CASE("every action keyword maps to its Action", "[rules]") {
    CHECK(with_header("alert tcp any any -> any any").action == Action::kAlert);
    CHECK(with_header("drop tcp any any -> any any").action == Action::kDrop);
    CHECK(with_header("reject tcp any any -> any any").action == Action::kReject);
    CHECK(with_header("rejectboth tcp any any -> any any").action == Action::kReject);
    CHECK(with_header("pass tcp any any -> any any").action == Action::kPass);
    CHECK(with_header("log tcp any any -> any any").action == Action::kLog);
    Rule sdrop = with_header("sdrop tcp any any -> any any");
    CHECK(sdrop.action == Action::kDrop);
    CHECK(sdrop.noalert);
    CHECK(error_of("warn tcp any any -> any any (sid:1;)").what == "unknown action 'warn'");
}

TEST_CASE("transport protocols parse and tcp-pkt / tcp-stream set the stream flags", "[rules]") {
    CHECK(with_header("alert ip any any -> any any").proto == Proto::kIp);
    CHECK(with_header("alert tcp any any -> any any").proto == Proto::kTcp);
    CHECK(with_header("alert UDP any any -> any any").proto == Proto::kUdp);
    CHECK(with_header("alert icmp any any -> any any").proto == Proto::kIcmp);
    Rule pkt = with_header("alert tcp-pkt any any -> any any");
    CHECK(pkt.proto == Proto::kTcp);
    CHECK(pkt.flow.no_stream);
    Rule stream = with_header("alert tcp-stream any any -> any any");
    CHECK(stream.flow.only_stream);
    CHECK(error_of("alert tpc any any -> any any (sid:1;)").what == "unknown protocol 'tpc'");
}

TEST_CASE("direction is -> or <>, anything else is an error", "[rules]") {
    CHECK_FALSE(with_header("alert tcp any any -> any any").bidirectional);
    CHECK(with_header("alert tcp any any <> any any").bidirectional);
    CHECK(error_of("alert tcp any any <- any any (sid:1;)").what == "direction must be '->' or '<>', not '<-'");
    CHECK(error_of("alert tcp any any -> any (sid:1;)").what.starts_with("header needs"));
}

TEST_CASE("a single address, a CIDR and a netmask become one prefix; host bits are masked", "[rules]") {
    CHECK(texts(src_of("10.1.2.3").include) == std::vector<std::string>{"10.1.2.3/32"});
    CHECK(texts(src_of("10.1.2.3/8").include) == std::vector<std::string>{"10.0.0.0/8"});
    CHECK(texts(src_of("192.168.1.0/255.255.255.0").include) == std::vector<std::string>{"192.168.1.0/24"});
    CHECK(texts(src_of("2001:db8::1/32").include) == std::vector<std::string>{"2001:db8::/32"});
    CHECK(src_of("any").any);
    CHECK(src_of("[any,10.0.0.0/8]").any);
}

TEST_CASE("an address range becomes the fewest covering prefixes", "[rules]") {
    CHECK(texts(src_of("10.0.0.1-10.0.0.6").include) ==
          std::vector<std::string>{"10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"});
}

TEST_CASE("address lists subtract their negated items", "[rules]") {
    AddrSpec s = src_of("[10.0.0.0/8, !10.1.0.0/16]");
    CHECK_FALSE(s.any);
    CHECK(s.exclude.empty());
    CHECK(s.include.size() == 8);  // 10/8 minus one /16: /16 /15 /14 ... /9
    CHECK(matches(s, "10.0.0.1"));
    CHECK(matches(s, "10.200.0.1"));
    CHECK_FALSE(matches(s, "10.1.4.4"));
    CHECK_FALSE(matches(s, "11.0.0.1"));
    CHECK_FALSE(matches(s, "2001:db8::1"));
}

TEST_CASE("nested negated lists mean what they say", "[rules]") {
    AddrSpec s = src_of("[10.0.0.0/8,![10.1.0.0/16,!10.1.2.0/24]]");
    CHECK(matches(s, "10.1.2.5"));  // taken out, then put back
    CHECK_FALSE(matches(s, "10.1.3.5"));
    CHECK(matches(s, "10.9.9.9"));
    CHECK_FALSE(matches(s, "192.168.0.1"));
}

TEST_CASE("a negated spec is written as excludes over everything, IPv6 included", "[rules]") {
    AddrSpec s = src_of("!192.168.0.0/16");
    CHECK(s.include.empty());
    CHECK(texts(s.exclude) == std::vector<std::string>{"192.168.0.0/16"});
    CHECK(matches(s, "10.0.0.1"));
    CHECK(matches(s, "2001:db8::1"));
    CHECK_FALSE(matches(s, "192.168.4.4"));
    AddrSpec mixed = src_of("[2001:db8::/32,!2001:db8::1]");
    CHECK(matches(mixed, "2001:db8::2"));
    CHECK_FALSE(matches(mixed, "2001:db8::1"));
    CHECK_FALSE(matches(mixed, "10.0.0.1"));
}

TEST_CASE("HOME_NET and EXTERNAL_NET default to Suricata's values", "[rules]") {
    Rule r = with_header("alert tcp $HOME_NET any -> $EXTERNAL_NET any");
    CHECK(texts(r.src.include) == std::vector<std::string>{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"});
    CHECK(r.dst.include.empty());
    CHECK(texts(r.dst.exclude) == std::vector<std::string>{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"});
    CHECK(texts(src_of("$HTTP_SERVERS").include) == texts(r.src.include));
    AddrSpec back = src_of("[!$EXTERNAL_NET]");  // double negation
    CHECK(texts(back.include) == texts(r.src.include));
}

TEST_CASE("given variables override the defaults and the defaults that refer to them follow", "[rules]") {
    Vars vars;
    vars.addr["HOME_NET"] = "[198.18.0.0/15]";
    vars.port["HTTP_PORTS"] = "[80,8080]";
    Rule r = with_header("alert tcp $EXTERNAL_NET any -> $HTTP_SERVERS $FILE_DATA_PORTS", vars);
    CHECK(texts(r.src.exclude) == std::vector<std::string>{"198.18.0.0/15"});
    CHECK(texts(r.dst.include) == std::vector<std::string>{"198.18.0.0/15"});
    CHECK(matches(r.dst_ports, 8080));
    CHECK(matches(r.dst_ports, 110));
    CHECK(matches(r.dst_ports, 143));
    CHECK_FALSE(matches(r.dst_ports, 81));
}

TEST_CASE("ports: single, open ranges, lists, negation and variables", "[rules]") {
    CHECK(dport_of("any").any);
    PortSpec one = dport_of("80");
    REQUIRE(one.include.size() == 1);
    CHECK((one.include[0].lo == 80 && one.include[0].hi == 80));
    PortSpec high = dport_of("1024:");
    REQUIRE(high.include.size() == 1);
    CHECK((high.include[0].lo == 1024 && high.include[0].hi == 65535));
    PortSpec low = dport_of(":1023");
    CHECK((low.include.size() == 1 && low.include[0].lo == 0 && low.include[0].hi == 1023));
    PortSpec not80 = dport_of("!80");
    CHECK(not80.include.empty());
    CHECK((not80.exclude.size() == 1 && not80.exclude[0].lo == 80));
    PortSpec list = dport_of("[1:1024,!80, 8000:8100]");
    CHECK(matches(list, 1));
    CHECK(matches(list, 443));
    CHECK_FALSE(matches(list, 80));
    CHECK(matches(list, 8050));
    CHECK_FALSE(matches(list, 2000));
    PortSpec shell = dport_of("$SHELLCODE_PORTS");
    CHECK_FALSE(matches(shell, 80));
    CHECK(matches(shell, 81));
    CHECK(matches(dport_of("$HTTP_PORTS"), 80));
}

TEST_CASE("bad addresses, ports and variables are errors that say which", "[rules]") {
    auto addr_err = [](const std::string& a) { return error_of("alert ip " + a + " any -> any any (sid:1;)").what; };
    auto port_err = [](const std::string& p) { return error_of("alert tcp any any -> any " + p + " (sid:1;)").what; };
    CHECK(addr_err("10.0.0.0/33") == "source address: bad address '10.0.0.0/33'");
    CHECK(addr_err("300.1.1.1") == "source address: bad address '300.1.1.1'");
    CHECK(addr_err("[10.0.0.0/8") == "unbalanced brackets in the header");
    CHECK(addr_err("[10.0.0.0/8]]") == "unbalanced brackets in the header");
    CHECK(addr_err("[10.0.0.0/8 1.2.3.4]") == "source address: expected ',' or ']' at '1.2.3.4]'");
    CHECK(addr_err("[10.0.0.0/8,]") == "source address: missing item in '[10.0.0.0/8,]'");
    CHECK(addr_err("$NOPE") == "source address: undefined variable $NOPE");
    CHECK(addr_err("$HTTP_PORTS") == "source address: $HTTP_PORTS is a port variable, used as an address");
    CHECK(addr_err("!any") == "source address: address '!any' matches nothing");
    CHECK(addr_err("[1.2.3.4,!1.2.3.4]") == "source address: address '[1.2.3.4,!1.2.3.4]' matches nothing");
    CHECK(port_err("70000") == "destination port: bad port '70000'");
    CHECK(port_err("100:50") == "destination port: port range '100:50' is empty");
    CHECK(port_err("http") == "destination port: bad port 'http'");
    Vars cyc;
    cyc.addr["A"] = "$B";
    cyc.addr["B"] = "[10.0.0.0/8,$A]";
    ParseResult r = parse("alert ip $A any -> any any (sid:1;)", cyc);
    REQUIRE(r.failed());
    CHECK(r.error().what.find("nests too deep") != std::string::npos);
    Vars open;
    open.addr["HOME_NET"] = "[10.0.0.0/8";
    ParseResult o = parse("alert ip $HOME_NET any -> any any (sid:1;)", open);
    REQUIRE(o.failed());
    CHECK(o.error().what == "source address: variable $HOME_NET: unbalanced '[' in '[10.0.0.0/8'");
    Vars bad;
    bad.addr["HOME_NET"] = "[10.0.0.0/8,banana]";
    ParseResult b = parse("alert ip $HOME_NET any -> any any (sid:1;)", bad);
    REQUIRE(b.failed());
    CHECK(b.error().what == "source address: variable $HOME_NET: bad address 'banana'");
}
