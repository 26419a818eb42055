// Community ID v1 against the spec's published baseline
// (github.com/corelight/community-id-spec, baseline/baseline_deflt.json and
// baseline_seed1.json) and SHA-1 / base64 against FIPS 180 and RFC 4648.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <string>

#include "alert/community_id.hpp"
#include "alert/sha1.hpp"

using namespace vtap::alert;

namespace {

std::string hex(const Sha1::Digest& d) {
    static const char* k = "0123456789abcdef";
    std::string s;
    for (uint8_t b : d) {
        s.push_back(k[b >> 4]);
        s.push_back(k[b & 15]);
    }
    return s;
}

std::string sha1_hex(const std::string& s) {
    Sha1 h;
    h.update(s.data(), s.size());
    return hex(h.finish());
}

std::string b64(const std::string& s) {
    std::string out((s.size() + 2) / 3 * 4, '?');
    const size_t n = base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out.data());
    out.resize(n);
    return out;
}

// One baseline row. For ICMP/ICMPv6 the baseline lists Zeek's port
// equivalents; the inputs here are the message type and code they came from
// (the code matters only for one-way types, where it is the second "port").
struct Row {
    uint8_t proto;
    const char* saddr;
    const char* daddr;
    uint16_t sport_or_type;
    uint16_t dport_or_code;
    const char* id_seed0;
    const char* id_seed1;
};

constexpr Row kBaseline[] = {
    {58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
    {58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
    {58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
    {58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
    {1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "192.168.0.1", "192.168.0.89", 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
    {46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
};

std::string id_of(const Row& r, uint16_t seed, uint16_t sport, uint16_t dport) {
    uint8_t s[16] = {}, d[16] = {};
    const bool v6 = std::string(r.saddr).find(':') != std::string::npos;
    REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, r.saddr, s) == 1);
    REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, r.daddr, d) == 1);
    return community_id_v1(FlowTuple{uint8_t(v6 ? 6 : 4), s, d, r.proto, sport, dport}, seed);
}

}  // namespace

TEST_CASE("SHA-1 matches the FIPS 180 example digests", "[alert][sha1]") {
    CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    CHECK(sha1_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                   "klmnopqrlmnopqrsmnopqrstnopqrstu") == "a49b2446a02c645bf419f995b67091253a04a259");
    CHECK(sha1_hex(std::string(1000000, 'a')) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST_CASE("SHA-1 gives the same digest however the input is split", "[alert][sha1]") {
    std::string msg;
    for (int i = 0; i < 1000; i++) msg.push_back(static_cast<char>(i * 7 + 3));
    const std::string whole = sha1_hex(msg);
    for (size_t chunk : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 999u}) {
        Sha1 h;
        for (size_t at = 0; at < msg.size(); at += chunk)
            h.update(msg.data() + at, std::min(chunk, msg.size() - at));
        CHECK(hex(h.finish()) == whole);
    }
}

TEST_CASE("base64 matches the RFC 4648 test vectors", "[alert][base64]") {
    CHECK(b64("") == "");
    CHECK(b64("f") == "Zg==");
    CHECK(b64("fo") == "Zm8=");
    CHECK(b64("foo") == "Zm9v");
    CHECK(b64("foob") == "Zm9vYg==");
    CHECK(b64("fooba") == "Zm9vYmE=");
    CHECK(b64("foobar") == "Zm9vYmFy");
    CHECK(b64(std::string("\xff\xfe\x00", 3)) == "//4A");
}

TEST_CASE("community id matches every row of the spec's default-seed baseline", "[alert][community_id]") {
    for (const Row& r : kBaseline) {
        INFO(int(r.proto) << " " << r.saddr << ":" << r.sport_or_type << " -> " << r.daddr << ":" << r.dport_or_code);
        CHECK(id_of(r, 0, r.sport_or_type, r.dport_or_code) == r.id_seed0);
    }
}

TEST_CASE("community id matches every row of the spec's seed-1 baseline", "[alert][community_id]") {
    for (const Row& r : kBaseline) {
        INFO(int(r.proto) << " " << r.saddr << " -> " << r.daddr);
        CHECK(id_of(r, 1, r.sport_or_type, r.dport_or_code) == r.id_seed1);
    }
}

TEST_CASE("community id ignores the code of a two-way ICMP type and uses that of a one-way type",
          "[alert][community_id]") {
    // Echo (8) pairs with echo reply whatever the code says.
    CHECK(id_of(kBaseline[10], 0, 8, 99) == kBaseline[10].id_seed0);
    // Time exceeded (11) is one-way: its code is the second port.
    CHECK(id_of(kBaseline[12], 0, 11, 1) != kBaseline[12].id_seed0);
}

TEST_CASE("community id ignores ports for protocols that have none", "[alert][community_id]") {
    CHECK(id_of(kBaseline[21], 0, 1234, 80) == kBaseline[21].id_seed0);
}

TEST_CASE("community id is 30 characters with the version prefix", "[alert][community_id]") {
    const std::string id = id_of(kBaseline[17], 0, 34855, 80);
    CHECK(id.size() == kCommunityIdLen);
    CHECK(id.rfind("1:", 0) == 0);
}
