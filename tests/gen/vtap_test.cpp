#include <catch2/catch.hpp>

#include <vector>

#include "check.hpp"
#include "gen/frame.hpp"
#include "gen/vtap.hpp"

using namespace vtap::gen;
using vtap::gen::test::be16;
using vtap::gen::test::ones_sum;

namespace {

std::vector<uint8_t> inner_frame(size_t payload, uint16_t sport = 40000) {
    FrameSpec s;
    s.dst_mac = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    s.src_mac = {0x00, 0x0d, 0x3a, 0x12, 0x00, 0x0a};
    s.src = IpAddr::v4({198, 18, 0, 10});
    s.dst = IpAddr::v4({198, 19, 7, 7});
    s.proto = L4Proto::kTcp;
    s.src_port = sport;
    s.dst_port = 443;
    s.payload.assign(payload, 0x61);
    auto f = build_frame(s);
    REQUIRE(f.has_value());
    return *f;
}

std::vector<uint8_t> wrap(const std::vector<uint8_t>& inner, const VtapOptions& o, Ipv4 tap = {198, 18, 0, 10}) {
    std::vector<uint8_t> out;
    auto ok = wrap_vtap(inner, tap, o, out);
    REQUIRE(ok.has_value());
    return out;
}

}  // namespace

TEST_CASE("VTAP wrapping writes every outer field byte for byte as Azure sends it", "[gen]") {
    auto inner = inner_frame(100);
    VtapOptions o;
    auto f = wrap(inner, o);
    REQUIRE(f.size() == 50 + inner.size());
    // Outer Ethernet: collector NIC <- Azure host.
    REQUIRE(std::vector<uint8_t>(f.begin(), f.begin() + 12) ==
            std::vector<uint8_t>{0x00, 0x0d, 0x3a, 0xc0, 0x11, 0xec, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc});
    REQUIRE(be16(f, 12) == 0x0800);
    // Outer IPv4: version/IHL, TOS, length, ID 0, flags+offset 0 (DF clear), TTL 64, UDP.
    REQUIRE(f[14] == 0x45);
    REQUIRE(f[15] == 0x00);
    REQUIRE(be16(f, 16) == 20 + 8 + 8 + inner.size());
    REQUIRE(be16(f, 18) == 0x0000);
    REQUIRE(be16(f, 20) == 0x0000);
    REQUIRE(f[22] == 64);
    REQUIRE(f[23] == 17);
    REQUIRE(ones_sum(std::span<const uint8_t>(f).subspan(14, 20)) == 0xffff);
    REQUIRE(std::vector<uint8_t>(f.begin() + 26, f.begin() + 34) ==
            std::vector<uint8_t>{198, 18, 0, 10, 198, 18, 0, 4});
    // Outer UDP: hashed source port in the dynamic range, 4789, length, checksum 0.
    REQUIRE(be16(f, 34) >= 49152);
    REQUIRE(be16(f, 36) == 4789);
    REQUIRE(be16(f, 38) == 8 + 8 + inner.size());
    REQUIRE(be16(f, 40) == 0x0000);
    // VXLAN: flags 0x08, reserved 0, VNI 27, reserved 0.
    REQUIRE(std::vector<uint8_t>(f.begin() + 42, f.begin() + 50) ==
            std::vector<uint8_t>{0x08, 0, 0, 0, 0x00, 0x00, 0x1b, 0x00});
    REQUIRE(std::equal(inner.begin(), inner.end(), f.begin() + 50));
}

TEST_CASE("a 1500-byte inner packet becomes a 1550-byte outer IP packet", "[gen]") {
    auto inner = inner_frame(1500 - 40);
    REQUIRE(inner.size() == 1514);
    auto f = wrap(inner, VtapOptions{});
    REQUIRE(be16(f, 16) == 1550);
}

TEST_CASE("VTAP options set VNI, ports, collector, outer tag and break fields for negative tests", "[gen]") {
    auto inner = inner_frame(10);
    VtapOptions o;
    o.vni = vtap::Vni{0xabcdef};
    o.udp_dst_port = 8472;
    o.fixed_src_port = 12345;
    o.collector = {198, 19, 255, 1};
    o.set_reserved = true;
    o.vxlan_flags = 0x00;
    auto f = wrap(inner, o, {198, 18, 3, 4});
    REQUIRE(std::vector<uint8_t>(f.begin() + 26, f.begin() + 34) == std::vector<uint8_t>{198, 18, 3, 4, 198, 19, 255, 1});
    REQUIRE(be16(f, 34) == 12345);
    REQUIRE(be16(f, 36) == 8472);
    REQUIRE(std::vector<uint8_t>(f.begin() + 42, f.begin() + 50) ==
            std::vector<uint8_t>{0x00, 0xff, 0xff, 0xff, 0xab, 0xcd, 0xef, 0xff});

    o = VtapOptions{};
    o.outer_vlan = 100;
    f = wrap(inner, o);
    REQUIRE(be16(f, 12) == 0x8100);
    REQUIRE(be16(f, 14) == 100);
    REQUIRE(be16(f, 16) == 0x0800);
    REQUIRE(f.size() == 54 + inner.size());
}

TEST_CASE("the hashed outer source port follows the inner flow", "[gen]") {
    auto a = inner_frame(10, 40000), b = inner_frame(500, 40000), c = inner_frame(10, 40001);
    REQUIRE(flow_src_port(a) == flow_src_port(b));
    REQUIRE(flow_src_port(a) != flow_src_port(c));
}

TEST_CASE("VTAP wrapping refuses a VNI over 24 bits and an inner frame that cannot fit", "[gen]") {
    std::vector<uint8_t> out;
    VtapOptions o;
    o.vni = vtap::Vni{1u << 24};
    auto r = wrap_vtap(inner_frame(10), {198, 18, 0, 10}, o, out);
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.error().where == "vni");
    std::vector<uint8_t> huge(kMaxInnerFrame + 1, 0);
    r = wrap_vtap(huge, {198, 18, 0, 10}, VtapOptions{}, out);
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.error().where == "inner frame");
    huge.pop_back();
    REQUIRE(wrap_vtap(huge, {198, 18, 0, 10}, VtapOptions{}, out).has_value());
    REQUIRE(out.size() == kMaxOuterFrame);
}
