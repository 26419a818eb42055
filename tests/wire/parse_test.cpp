// Pure-parser tests: frames live in exact-size heap buffers, so any read past
// the end is an AddressSanitizer error in the sanitized CI build.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <optional>

#include "support/frames.hpp"
#include "wire/parse.hpp"

using namespace vtap;
using namespace vtap::test;
using wire::Verdict;

namespace {

// A frame copied into a heap block of exactly its size.
struct Exact {
    std::unique_ptr<uint8_t[]> p;
    uint32_t n;
    explicit Exact(const std::vector<uint8_t>& v, size_t keep = SIZE_MAX)
        : p(new uint8_t[std::min(keep, v.size())]), n(static_cast<uint32_t>(std::min(keep, v.size()))) {
        std::memcpy(p.get(), v.data(), n);
    }
};

std::optional<DropReason> outer(const std::vector<uint8_t>& f, wire::OuterInfo& o, uint16_t port = 4789) {
    Exact e(f);
    DropReason why{};
    if (wire::parse_outer(e.p.get(), e.n, e.n, port, o, why) == Verdict::kPass) return std::nullopt;
    return why;
}

std::optional<DropReason> inner(const std::vector<uint8_t>& f, wire::InnerInfo& in) {
    Exact e(f);
    DropReason why{};
    if (wire::parse_inner(e.p.get(), e.n, e.n, in, why) == Verdict::kPass) return std::nullopt;
    return why;
}

}  // namespace

TEST_CASE("parse_outer accepts an Azure VTAP frame and finds the inner frame", "[wire]") {
    auto in = inner_frame({});
    wire::OuterInfo o{};
    REQUIRE_FALSE(outer(vtap_frame(in), o));
    CHECK(o.inner_off == 50);
    CHECK(o.inner_len == in.size());
    CHECK(o.vni == 27);
    CHECK(o.src == __builtin_bswap32(ip4(198, 18, 1, 4)));
    CHECK(o.dst == __builtin_bswap32(ip4(198, 18, 0, 1)));
    CHECK_FALSE(o.reserved_set);
}

TEST_CASE("parse_outer accepts one outer 802.1Q tag and IPv4 options", "[wire]") {
    wire::OuterInfo o{};
    REQUIRE_FALSE(outer(vtap_frame(inner_frame({}), {.vlan = true}), o));
    CHECK(o.inner_off == 54);
    REQUIRE_FALSE(outer(vtap_frame(inner_frame({}), {.ipv4_options_words = 2}), o));
    CHECK(o.inner_off == 58);
}

TEST_CASE("parse_outer names the reason for each malformed outer stack", "[wire]") {
    auto in = inner_frame({});
    wire::OuterInfo o{};
    CHECK(outer(vtap_frame(in, {.ether_type = 0x0806}), o) == DropReason::kNotIpv4);   // ARP
    CHECK(outer(vtap_frame(in, {.ether_type = 0x86DD}), o) == DropReason::kNotIpv4);   // IPv6
    CHECK(outer(vtap_frame(in, {.ip_vihl = 0x65}), o) == DropReason::kOuterBadIpHeader);
    CHECK(outer(vtap_frame(in, {.ip_vihl = 0x44}), o) == DropReason::kOuterBadIpHeader);
    CHECK(outer(vtap_frame(in, {.ip_frag = 0x2000}), o) == DropReason::kOuterFragment);  // MF
    CHECK(outer(vtap_frame(in, {.ip_frag = 0x0010}), o) == DropReason::kOuterFragment);  // offset
    CHECK_FALSE(outer(vtap_frame(in, {.ip_frag = 0x4000}), o));                          // DF is fine
    CHECK(outer(vtap_frame(in, {.proto = 6}), o) == DropReason::kNotUdp);
    CHECK(outer(vtap_frame(in, {.dport = 8472}), o) == DropReason::kWrongPort);
    CHECK_FALSE(outer(vtap_frame(in, {.dport = 8472}), o, 8472));
    CHECK(outer(vtap_frame(in, {.udp_len_delta = 1}), o) == DropReason::kBadUdpLength);
    CHECK(outer(vtap_frame(in, {.udp_len_delta = -static_cast<int>(in.size()) - 1}), o) == DropReason::kBadUdpLength);
    CHECK(outer(vtap_frame(in, {.ip_len_delta = 1}), o) == DropReason::kOuterTruncated);
    CHECK(outer(vtap_frame(in, {.vxlan_flags = 0x00}), o) == DropReason::kBadVxlanFlags);
    CHECK(outer(vtap_frame(in, {.vxlan_flags = 0x0C}), o) == std::nullopt);
    CHECK(o.reserved_set);
    REQUIRE_FALSE(outer(vtap_frame(in, {.vxlan_reserved = 1}), o));
    CHECK(o.reserved_set);
}

TEST_CASE("parse_outer never reads past a frame cut at any byte of its header stack", "[wire]") {
    for (bool vlan : {false, true}) {
        auto f = vtap_frame(inner_frame({}), {.vlan = vlan, .ipv4_options_words = 1});
        for (size_t cut = 0; cut < f.size(); cut++) {
            Exact e(f, cut);
            wire::OuterInfo o{};
            DropReason why{};
            INFO("vlan " << vlan << " cut at " << cut);
            REQUIRE(wire::parse_outer(e.p.get(), e.n, e.n, 4789, o, why) == Verdict::kDrop);
            REQUIRE(why == DropReason::kOuterTruncated);
        }
    }
}

TEST_CASE("parse_outer reports headers beyond the first segment as segmented", "[wire]") {
    auto f = vtap_frame(inner_frame({}));
    for (uint32_t avail = 0; avail < 50; avail++) {
        Exact e(f, avail);
        wire::OuterInfo o{};
        DropReason why{};
        INFO("first segment holds " << avail << " bytes");
        REQUIRE(wire::parse_outer(e.p.get(), avail, static_cast<uint32_t>(f.size()), 4789, o, why) == Verdict::kDrop);
        REQUIRE(why == DropReason::kSegmentedHeaders);
    }
}

TEST_CASE("parse_inner records offsets of an IPv4 TCP frame", "[wire]") {
    wire::InnerInfo in{};
    auto f = inner_frame({.payload = 100});
    REQUIRE_FALSE(inner(f, in));
    CHECK(in.l3 == 4);
    CHECK(in.l3_off == 14);
    CHECK(in.l4_off == 34);
    CHECK(in.payload_off == 54);
    CHECK(in.end == f.size());
    CHECK(in.l4_proto == 6);
    CHECK(in.flags == kFlagL4Header);
}

TEST_CASE("parse_inner handles two VLAN tags and refuses a third", "[wire]") {
    wire::InnerInfo in{};
    REQUIRE_FALSE(inner(inner_frame({.vlans = {10, 4095}}), in));
    CHECK(in.vlan[0] == 10);
    CHECK(in.vlan[1] == 4095);
    CHECK(in.l3_off == 22);
    wire::InnerInfo in3{};
    CHECK(inner(inner_frame({.vlans = {1, 2, 3}}), in3) == DropReason::kInnerNotIp);
}

TEST_CASE("parse_inner walks IPv6 extension headers to the transport header", "[wire]") {
    wire::InnerInfo in{};
    REQUIRE_FALSE(inner(inner_frame({.ipv6 = true, .v6_ext = {0, 60, 43}, .proto = 17}), in));
    CHECK(in.l3 == 6);
    CHECK(in.l4_proto == 17);
    CHECK(in.l4_off == 14 + 40 + 24);
    CHECK(in.payload_off == in.l4_off + 8);
    CHECK((in.flags & kFlagInnerIpOptions));

    wire::InnerInfo first{};
    REQUIRE_FALSE(inner(inner_frame({.ipv6 = true, .v6_ext = {44}, .proto = 6}), first));
    CHECK((first.flags & kFlagFragment));
    CHECK((first.flags & kFlagFirstFragment));
    CHECK((first.flags & kFlagL4Header));

    wire::InnerInfo later{};
    REQUIRE_FALSE(inner(inner_frame({.ipv6 = true, .v6_ext = {44}, .v6_frag_offset = 100, .proto = 6}), later));
    CHECK((later.flags & kFlagFragment));
    CHECK_FALSE((later.flags & kFlagFirstFragment));
    CHECK_FALSE((later.flags & kFlagL4Header));
    CHECK(later.payload_off == later.l4_off);
}

TEST_CASE("parse_inner flags IPv4 fragments and options", "[wire]") {
    wire::InnerInfo first{}, later{}, opts{};
    REQUIRE_FALSE(inner(inner_frame({.ipv4_frag = 0x2000}), first));
    CHECK(first.flags == (kFlagFragment | kFlagFirstFragment | kFlagL4Header));
    REQUIRE_FALSE(inner(inner_frame({.ipv4_frag = 0x0040}), later));
    CHECK(later.flags == kFlagFragment);
    REQUIRE_FALSE(inner(inner_frame({.ipv4_options_words = 3}), opts));
    CHECK(opts.l4_off == 14 + 32);
    CHECK((opts.flags & kFlagInnerIpOptions));
}

TEST_CASE("parse_inner drops inner frames that are not IP or have bad headers", "[wire]") {
    wire::InnerInfo in{};
    auto arp = inner_frame({});
    arp[12] = 0x08; arp[13] = 0x06;
    CHECK(inner(arp, in) == DropReason::kInnerNotIp);
    auto badv = inner_frame({});
    badv[14] = 0x55;
    CHECK(inner(badv, in) == DropReason::kInnerBadIpHeader);
    CHECK(inner(inner_frame({.tcp_doff_words = 4}), in) == DropReason::kInnerBadL4Header);
    auto v6 = inner_frame({.ipv6 = true});
    v6[14 + 4] = 0; v6[14 + 5] = 0;  // payload length 0 (jumbogram) cannot be real here
    CHECK(inner(v6, in) == DropReason::kInnerBadIpHeader);
}

TEST_CASE("parse_inner trims Ethernet padding and flags a copy cut short", "[wire]") {
    wire::InnerInfo in{};
    auto padded = inner_frame({.payload = 2, .pad = 4});
    REQUIRE_FALSE(inner(padded, in));
    CHECK(in.end == padded.size() - 4);
    CHECK_FALSE((in.flags & kFlagPayloadCut));

    auto full = inner_frame({.payload = 200});
    full.resize(full.size() - 150);  // the tap copy lost the tail of the payload
    wire::InnerInfo cut{};
    REQUIRE_FALSE(inner(full, cut));
    CHECK((cut.flags & kFlagPayloadCut));
    CHECK(cut.end == full.size());
}

TEST_CASE("parse_inner never reads past an inner frame cut at any byte", "[wire]") {
    const std::vector<Inner> shapes = {
        {.payload = 0},
        {.vlans = {7, 8}, .proto = 17, .payload = 0},
        {.ipv6 = true, .v6_ext = {0, 44, 60}, .proto = 6, .tcp_doff_words = 8, .payload = 0},
        {.ipv4_options_words = 2, .proto = 1, .payload = 0},
        {.ipv6 = true, .proto = 58, .payload = 0},  // ICMPv6 header is 4 bytes: the echo id/seq are payload
    };
    for (const auto& shape : shapes) {
        auto f = inner_frame(shape);
        wire::InnerInfo whole{};
        REQUIRE_FALSE(inner(f, whole));
        for (size_t cut = 0; cut < f.size(); cut++) {
            Exact e(f, cut);
            wire::InnerInfo in{};
            DropReason why{};
            INFO("frame of " << f.size() << " bytes cut at " << cut);
            const auto v = wire::parse_inner(e.p.get(), e.n, e.n, in, why);
            if (cut < whole.payload_off) {  // inside the header stack
                REQUIRE(v == Verdict::kDrop);
                REQUIRE(why == DropReason::kInnerTruncated);
            } else {  // headers whole, payload short: delivered, flagged
                REQUIRE(v == Verdict::kPass);
                REQUIRE((in.flags & kFlagPayloadCut));
                REQUIRE(in.end == cut);
            }
        }
    }
}

TEST_CASE("parse_inner passes a whole IP packet too short for its TCP header as L3 only", "[wire]") {
    // suricata-verify mac-eve-packet: IPv4 total length 40, TCP data offset 6
    // words (24 bytes) > the 20 bytes of IP payload; Ethernet padding follows.
    auto f = inner_frame({.tcp_doff_words = 6, .payload = 0, .pad = 6});
    f[14 + 2] = 0;
    f[14 + 3] = 40;  // IP total length: 20 + 20, four bytes short of the TCP header
    wire::InnerInfo in{};
    REQUIRE_FALSE(inner(f, in));
    CHECK(in.flags == kFlagL4Invalid);  // no kFlagL4Header: ports and flags are not trusted
    CHECK(in.l4_off == 34);
    CHECK(in.payload_off == 54);
    CHECK(in.end == 54);
    CHECK(in.l4_proto == 6);
    // The same header in a copy cut short is a truncation, not an invalid packet.
    auto cut = inner_frame({.tcp_doff_words = 6, .payload = 0});
    cut.resize(14 + 20 + 22);
    CHECK(inner(cut, in) == DropReason::kInnerTruncated);
}

TEST_CASE("parse_inner accepts a 9000-byte inner frame", "[wire]") {
    auto f = inner_frame({.payload = 9000 - 54});
    REQUIRE(f.size() == 9000);
    wire::InnerInfo in{};
    REQUIRE_FALSE(inner(f, in));
    CHECK(in.end == 9000);
    wire::OuterInfo o{};
    REQUIRE_FALSE(outer(vtap_frame(f), o));
    CHECK(o.inner_len == 9000);
}
