#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "check.hpp"
#include "gen/frame.hpp"
#include "gen/inspect.hpp"

using namespace vtap::gen;
using vtap::gen::test::be16;
using vtap::gen::test::ones_sum;
using vtap::gen::test::verify_checksums;

namespace {

FrameSpec base_spec(bool v6, L4Proto proto) {
    FrameSpec s;
    s.dst_mac = {0x02, 0, 0, 0, 0, 2};
    s.src_mac = {0x02, 0, 0, 0, 0, 1};
    if (v6) {
        s.src = IpAddr::v6(lab_ipv6({198, 18, 0, 10}));
        s.dst = IpAddr::v6(lab_ipv6({198, 19, 1, 2}));
    } else {
        s.src = IpAddr::v4({198, 18, 0, 10});
        s.dst = IpAddr::v4({198, 19, 1, 2});
    }
    s.proto = proto;
    s.src_port = 40000;
    s.dst_port = 80;
    s.seq = 0x01020304;
    s.ack = 0x0a0b0c0d;
    s.tcp_flags = tcp_flag::kAck | tcp_flag::kPsh;
    s.icmp_id = 0x1234;
    s.icmp_seq = 7;
    s.payload = {'h', 'e', 'l', 'l', 'o', '!', '?'};  // odd length exercises RFC 1071 padding
    return s;
}

std::vector<uint8_t> must_build(const FrameSpec& s) {
    auto f = build_frame(s);
    REQUIRE(f.has_value());
    return *f;
}

}  // namespace

TEST_CASE("IPv4 header checksums recompute to 0xffff, with and without options", "[gen]") {
    for (size_t opts : {0u, 1u, 4u, 9u, 40u}) {
        FrameSpec s = base_spec(false, L4Proto::kUdp);
        s.ipv4_options.assign(opts, 1);  // NOPs
        s.ip_id = static_cast<uint16_t>(0xbeef + opts);
        auto f = must_build(s);
        size_t ihl = size_t{f[14] & 0x0fu} * 4;
        INFO("options " << opts);
        REQUIRE(ihl == 20 + (opts + 3) / 4 * 4);
        REQUIRE(ones_sum(std::span<const uint8_t>(f).subspan(14, ihl)) == 0xffff);
        REQUIRE(be16(f, 16) == f.size() - 14);
    }
}

TEST_CASE("TCP, UDP, ICMP and ICMPv6 checksums verify over their pseudo-headers", "[gen]") {
    for (bool v6 : {false, true}) {
        for (L4Proto p : {L4Proto::kTcp, L4Proto::kUdp, v6 ? L4Proto::kIcmpv6 : L4Proto::kIcmp}) {
            FrameSpec s = base_spec(v6, p);
            if (p == L4Proto::kTcp) s.tcp_options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};
            auto f = must_build(s);
            INFO("v6 " << v6 << " proto " << int(p));
            REQUIRE(verify_checksums(f) == "");
            f.back() ^= 0x40;  // a flipped payload bit must break it
            REQUIRE(verify_checksums(f) != "");
        }
    }
}

TEST_CASE("TCP header carries ports, sequence numbers, flags and padded options", "[gen]") {
    FrameSpec s = base_spec(false, L4Proto::kTcp);
    s.tcp_options = {2, 4, 0x05, 0xb4, 4, 2};  // MSS, SACK-permitted: 6 bytes -> padded to 8
    auto f = must_build(s);
    size_t l4 = 34;
    REQUIRE(be16(f, l4) == 40000);
    REQUIRE(be16(f, l4 + 2) == 80);
    REQUIRE(std::equal(f.begin() + l4 + 4, f.begin() + l4 + 12, std::vector<uint8_t>{1, 2, 3, 4, 10, 11, 12, 13}.begin()));
    REQUIRE(f[l4 + 12] >> 4 == 7);  // 20 + 8 bytes
    REQUIRE(f[l4 + 13] == (tcp_flag::kAck | tcp_flag::kPsh));
    REQUIRE(f.size() == 14 + 20 + 28 + 7);
}

TEST_CASE("frames carry up to two 802.1Q tags before the EtherType", "[gen]") {
    FrameSpec s = base_spec(false, L4Proto::kUdp);
    s.vlans = {0x2064, 0x0005};  // PCP 1, VID 100; VID 5
    auto f = must_build(s);
    REQUIRE(be16(f, 12) == 0x8100);
    REQUIRE(be16(f, 14) == 0x2064);
    REQUIRE(be16(f, 16) == 0x8100);
    REQUIRE(be16(f, 18) == 0x0005);
    REQUIRE(be16(f, 20) == 0x0800);
    REQUIRE(verify_checksums(f) == "");
    FrameInfo fi = inspect_frame(f);
    REQUIRE(fi.n_vlans == 2);
    REQUIRE(fi.l3_off == 22);
    s.vlans.push_back(7);
    auto bad = build_frame(s);
    REQUIRE_FALSE(bad.has_value());
    REQUIRE(bad.error().where == "vlans");
}

TEST_CASE("IPv6 extension headers chain their next-header values in 8-byte units", "[gen]") {
    FrameSpec s = base_spec(true, L4Proto::kTcp);
    s.ipv6_ext = {{Ipv6ExtKind::kHopByHop, {5, 2, 0, 0}},  // router alert -> padded to 8
                  {Ipv6ExtKind::kDestOpts, std::vector<uint8_t>(9, 0xaa)}};  // 2 + 9 -> 16
    auto f = must_build(s);
    size_t l3 = 14;
    REQUIRE(f[l3 + 6] == 0);        // hop-by-hop first
    REQUIRE(f[l3 + 40] == 60);      // then destination options
    REQUIRE(f[l3 + 41] == 0);       // 8 bytes
    REQUIRE(f[l3 + 48] == 6);       // then TCP
    REQUIRE(f[l3 + 49] == 1);       // 16 bytes
    REQUIRE(be16(f, l3 + 4) == 8 + 16 + 20 + 7);
    REQUIRE(verify_checksums(f) == "");
    FrameInfo fi = inspect_frame(f);
    REQUIRE(fi.proto == 6);
    REQUIRE(fi.l4_off == l3 + 64);
    REQUIRE(fi.src_port == 40000);
}

TEST_CASE("IPv4 fragments reassemble to the original and copy only copied options", "[gen]") {
    FrameSpec s = base_spec(false, L4Proto::kUdp);
    s.dont_fragment = false;
    s.ip_id = 0x4242;
    s.ipv4_options = {0x07, 7, 4, 0, 0, 0, 0,   // record route: not copied
                      0x94, 4, 0, 0};           // router alert: copied
    s.payload.assign(3000, 0x5a);
    auto whole = must_build(s);
    auto frags = fragment(whole, 1500, 0);
    REQUIRE(frags.has_value());
    REQUIRE(frags->size() == 3);
    std::vector<uint8_t> data;
    size_t expect_off = 0;
    for (size_t i = 0; i < frags->size(); ++i) {
        const auto& p = (*frags)[i];
        size_t ihl = size_t{p[14] & 0x0fu} * 4;
        REQUIRE(be16(p, 16) + 14u == p.size());
        REQUIRE(p.size() - 14 <= 1500);
        REQUIRE(ones_sum(std::span<const uint8_t>(p).subspan(14, ihl)) == 0xffff);
        REQUIRE(be16(p, 18) == 0x4242);
        uint16_t fl = be16(p, 20);
        REQUIRE(size_t{fl & 0x1fffu} * 8 == expect_off);
        REQUIRE(bool(fl & 0x2000) == (i + 1 < frags->size()));
        REQUIRE(ihl == (i == 0 ? 32u : 24u));
        if (i > 0) REQUIRE(p[34] == 0x94);
        data.insert(data.end(), p.begin() + 14 + ihl, p.end());
        expect_off += p.size() - 14 - ihl;
    }
    REQUIRE(std::equal(data.begin(), data.end(), whole.begin() + 14 + 32, whole.end()));
    REQUIRE(data.size() == whole.size() - 14 - 32);

    s.dont_fragment = true;
    REQUIRE_FALSE(fragment(must_build(s), 1500, 0).has_value());
}

TEST_CASE("IPv6 fragments put a fragment header after hop-by-hop and reassemble", "[gen]") {
    FrameSpec s = base_spec(true, L4Proto::kUdp);
    s.ipv6_ext = {{Ipv6ExtKind::kHopByHop, {5, 2, 0, 0}}, {Ipv6ExtKind::kDestOpts, {}}};
    s.payload.assign(2500, 0x33);
    auto whole = must_build(s);
    auto frags = fragment(whole, 1280, 0xdeadbeef);
    REQUIRE(frags.has_value());
    REQUIRE(frags->size() == 3);
    std::vector<uint8_t> data;
    for (size_t i = 0; i < frags->size(); ++i) {
        const auto& p = (*frags)[i];
        REQUIRE(p.size() - 14 <= 1280);
        REQUIRE(be16(p, 18) + 54u == p.size());
        REQUIRE(p[14 + 6] == 0);        // hop-by-hop stays first, unfragmentable
        REQUIRE(p[14 + 40] == 44);      // ... and now points at the fragment header
        size_t fh = 14 + 48;
        REQUIRE(p[fh] == 60);           // destination options travel in the fragmentable part
        uint16_t fo = be16(p, fh + 2);
        REQUIRE(size_t{fo & 0xfff8u} == data.size());
        REQUIRE(bool(fo & 1) == (i + 1 < frags->size()));
        REQUIRE(be16(p, fh + 4) == 0xdead);
        data.insert(data.end(), p.begin() + fh + 8, p.end());
        FrameInfo fi = inspect_frame(p);
        REQUIRE(fi.fragment);
        REQUIRE(fi.first_fragment == (i == 0));
    }
    REQUIRE(std::equal(data.begin(), data.end(), whole.begin() + 14 + 48, whole.end()));
    REQUIRE(data.size() == whole.size() - 14 - 48);
    REQUIRE_FALSE(fragment((*frags)[0], 600, 1).has_value());  // already a fragment
}

TEST_CASE("frame builder rejects inconsistent specs and names the field", "[gen]") {
    FrameSpec s = base_spec(false, L4Proto::kIcmpv6);
    REQUIRE(build_frame(s).error().where == "proto");
    s = base_spec(false, L4Proto::kTcp);
    s.dst = IpAddr::v6(lab_ipv6({1, 2, 3, 4}));
    REQUIRE(build_frame(s).error().where == "src/dst");
    s = base_spec(false, L4Proto::kTcp);
    s.tcp_options.assign(41, 1);
    REQUIRE(build_frame(s).error().where == "tcp_options");
    s = base_spec(false, L4Proto::kUdp);
    s.payload.assign(65535, 0);
    REQUIRE(build_frame(s).error().where == "payload");
}

TEST_CASE("a UDP checksum that computes to zero is sent as 0xffff", "[gen]") {
    // Search payloads until one sums to a zero checksum; RFC 768 forbids sending 0.
    FrameSpec s = base_spec(false, L4Proto::kUdp);
    bool found = false;
    for (uint32_t v = 0; v < 65536 && !found; ++v) {
        s.payload = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
        auto f = must_build(s);
        if (be16(f, 40) == 0xffff) {
            found = true;
            REQUIRE(verify_checksums(f) == "");
        }
    }
    REQUIRE(found);
}
