// parse_prefix: the IPv4 CIDR syntax of decap.tap_sources, edge cases first.
#include <catch2/catch.hpp>

#include "config/config.hpp"

using namespace vtap::config;

TEST_CASE("parse_prefix reads /0, /32 and a bare address as /32", "[config]") {
    auto any = parse_prefix("0.0.0.0/0");
    REQUIRE(any);
    CHECK(any->addr == 0);
    CHECK(any->len == 0);
    CHECK(any->contains(0xFFFFFFFFu));

    auto host = parse_prefix("255.255.255.255/32");
    REQUIRE(host);
    CHECK(host->addr == 0xFFFFFFFFu);
    CHECK(host->len == 32);

    auto bare = parse_prefix("198.18.0.1");
    REQUIRE(bare);
    CHECK(bare->addr == 0xC6120001u);
    CHECK(bare->len == 32);
    CHECK_FALSE(bare->contains(0xC6120002u));

    auto lab = parse_prefix("198.18.0.0/15");
    REQUIRE(lab);
    CHECK(lab->contains(0xC613FFFFu));        // 198.19.255.255
    CHECK_FALSE(lab->contains(0xC6140000u));  // 198.20.0.0
}

TEST_CASE("parse_prefix rejects host bits and names the network address", "[config]") {
    auto r = parse_prefix("10.1.2.0/16");
    REQUIRE_FALSE(r);
    CHECK(r.error().what == "bad IPv4 prefix '10.1.2.0/16': host bits are set; the network is "
                            "10.1.0.0/16");
    auto any = parse_prefix("1.0.0.0/0");
    REQUIRE_FALSE(any);
    CHECK(any.error().what.find("the network is 0.0.0.0/0") != std::string::npos);
}

TEST_CASE("parse_prefix rejects malformed text, naming it", "[config]") {
    const char* bad[] = {
        "",            "10.0.0",        "10.0.0.0.0",  "10.0.0.256",   "10.0.0.0/33",
        "10.0.0.0/",   "10.0.0.0/-1",   "10.0.0.0/08", "010.0.0.0/8",  "10.0.0.0 /8",
        " 10.0.0.0/8", "10.0.0.0/8/8",  "10..0.0/8",   "a.b.c.d/8",    "10.0.0.0/8x",
        "::1/128",     "10.0.0.+1",     "1000.0.0.0",
    };
    for (const char* text : bad) {
        INFO("text: '" << text << "'");
        auto r = parse_prefix(text);
        CHECK_FALSE(r);
        if (!r) CHECK(r.error().what.find(std::string("bad IPv4 prefix '") + text + "'") == 0);
    }
}
