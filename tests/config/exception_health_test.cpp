// `exception:` and `health:` sections: defaults, the forward list syntax and
// the errors an operator gets.
#include <catch2/catch.hpp>

#include "config_test_util.hpp"

using namespace vtap::config;
using namespace vtap::config::test;

TEST_CASE("config leaves the exception path and health endpoint off by default", "[config]") {
    const Config c = parse_ok(kMinimal);
    CHECK_FALSE(c.exception.enabled);
    CHECK(c.health.listen.empty());
    REQUIRE(c.exception.forward.size() == 2);  // arp, icmp
    CHECK(c.exception.forward[0].text == "arp");
    CHECK(c.exception.forward[1].value == 1);
}

TEST_CASE("config reads the exception forward list by EtherType, protocol and port", "[config]") {
    const Config c = parse_ok(kMinimal +
                              "exception:\n  enabled: true\n  tap_name: exc0\n  address: 10.0.1.4/24\n"
                              "  forward: [arp, icmp, ipv6, 'tcp:22', 'udp:68', 'ip:47', 'ethertype:0x88cc']\n"
                              "health:\n  listen: 127.0.0.1:8081\n  max_drop_ratio: 0.05\n  stall_ms: 500\n");
    CHECK(c.exception.enabled);
    CHECK(c.exception.tap_name == "exc0");
    CHECK(c.exception.address == "10.0.1.4/24");
    REQUIRE(c.exception.forward.size() == 7);
    CHECK(c.exception.forward[2].kind == ForwardKind::kEtherType);
    CHECK(c.exception.forward[2].value == 0x86DD);
    CHECK(c.exception.forward[3].kind == ForwardKind::kTcpPort);
    CHECK(c.exception.forward[3].value == 22);
    CHECK(c.exception.forward[4].kind == ForwardKind::kUdpPort);
    CHECK(c.exception.forward[5].kind == ForwardKind::kIpProto);
    CHECK(c.exception.forward[5].value == 47);
    CHECK(c.exception.forward[6].value == 0x88CC);
    CHECK(c.health.listen == "127.0.0.1:8081");
    CHECK(c.health.max_drop_ratio == Approx(0.05));
    CHECK(c.health.stall_ms == 500);
}

TEST_CASE("config refuses a forward entry it does not know, with the accepted forms", "[config]") {
    const vtap::Error e = parse_error(kMinimal + "exception:\n  forward: [arp, smtp]\n");
    CHECK(e.what.find("unknown forward entry 'smtp'") != std::string::npos);
    CHECK(e.what.find("tcp:PORT") != std::string::npos);
    CHECK(e.where.find("vtapd.yaml:6") == 0);
}

TEST_CASE("config refuses forwarding the VXLAN port or all of IPv4 to the kernel", "[config]") {
    CHECK(parse_error(kMinimal + "exception:\n  forward: ['udp:4789']\n").what.find("VXLAN port") !=
          std::string::npos);
    CHECK(parse_error(kMinimal + "exception:\n  forward: ['ethertype:0x0800']\n").what.find("all of IPv4") !=
          std::string::npos);
    CHECK(parse_error(kMinimal + "exception:\n  forward: ['tcp:0']\n").what.find("needs a number") !=
          std::string::npos);
    CHECK(parse_error(kMinimal + "exception:\n  forward: [arp, arp]\n").what.find("twice") != std::string::npos);
}

TEST_CASE("config refuses a bad exception address, tap name or port index", "[config]") {
    CHECK(parse_error(kMinimal + "exception:\n  address: 10.0.1.4\n").what.find("A.B.C.D/N") != std::string::npos);
    CHECK(parse_error(kMinimal + "exception:\n  tap_name: a-name-far-too-long\n").what.find("1..15") !=
          std::string::npos);
    CHECK(parse_error(kMinimal + "exception:\n  enabled: true\n  port: 3\n").what.find("only 1 ports") !=
          std::string::npos);
}

TEST_CASE("config refuses a health listen address or drop ratio it cannot use", "[config]") {
    CHECK(parse_error(kMinimal + "health:\n  listen: localhost:80\n").what.find("IPv4ADDRESS:PORT") !=
          std::string::npos);
    CHECK(parse_error(kMinimal + "health:\n  listen: 127.0.0.1\n").what.find("IPv4ADDRESS:PORT") !=
          std::string::npos);
    CHECK(parse_error(kMinimal + "health:\n  max_drop_ratio: 2\n").what.find("0..1") != std::string::npos);
    CHECK(parse_error(kMinimal + "health:\n  max_drop_ratio: lots\n").what.find("0..1") != std::string::npos);
}

TEST_CASE("the reference file documents the exception and health defaults the code uses", "[config]") {
    const Config c = parse_ok(default_yaml());
    const ExceptionConfig x;
    CHECK(c.exception.enabled == x.enabled);
    CHECK(c.exception.tap_name == x.tap_name);
    CHECK(c.exception.address == x.address);
    CHECK(c.exception.port == x.port);
    CHECK(c.exception.ring_size == x.ring_size);
    CHECK(c.exception.forward.size() == parse_ok(kMinimal).exception.forward.size());
    const HealthConfig h;
    CHECK(c.health.listen == h.listen);
    CHECK(c.health.max_drop_ratio == h.max_drop_ratio);
    CHECK(c.health.window_s == h.window_s);
    CHECK(c.health.stall_ms == h.stall_ms);
}
