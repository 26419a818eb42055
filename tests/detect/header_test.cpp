// Header checks: protocol, addresses, ports, bidirectional rules, flow
// direction and state, dsize, ttl, itype/icode, TCP flags, port gates.
#include <algorithm>

#include "detect/header.hpp"
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

namespace {

rules::Rule with(rules::Rule r, auto&& edit) {
    edit(r);
    return r;
}

PacketInfo icmp_info(uint8_t type, uint8_t code) {
    PacketInfo p = tcp_info();
    p.proto = kProtoIcmp;
    p.src_port = p.dst_port = 0;
    p.icmp_type = type;
    p.icmp_code = code;
    return p;
}

rules::PortSpec ports(uint16_t lo, uint16_t hi) {
    rules::PortSpec s;
    s.any = false;
    s.include.push_back({lo, hi});
    return s;
}

}  // namespace

TEST_CASE("detect dsize is checked against the packet payload length", "[detect]") {
    Engine e({with(rule(1, {C("ab")}), [](auto& r) { r.dsize = rules::NumCheck{rules::CmpOp::kRange, 2, 5}; }),
              with(rule(2), [](auto& r) { r.dsize = rules::NumCheck{rules::CmpOp::kEq, 0}; })});
    CHECK(e.packet("abc") == Sids{1});
    CHECK(e.packet("ab").empty());     // range is exclusive
    CHECK(e.packet("abcde").empty());
    PacketInfo empty = tcp_info();
    empty.dsize = 0;
    CHECK(e.scanner->scan_packet(empty, {}, e.sink) == 1);
    CHECK(e.drain() == Sids{2});
}

TEST_CASE("detect stream_size compares the client's and the server's stream sizes, TCP sessions only", "[detect]") {
    using Side = rules::StreamSize::Side;
    auto ss = [](Side side, rules::CmpOp op, uint32_t n) { return rules::StreamSize{side, rules::NumCheck{op, n, 0}}; };
    Engine e({with(rule(1), [&](auto& r) { r.stream_size = {ss(Side::kServer, rules::CmpOp::kLess, 5)}; }),
              with(rule(2), [&](auto& r) { r.stream_size = {ss(Side::kClient, rules::CmpOp::kGreater, 100)}; }),
              with(rule(3), [&](auto& r) { r.stream_size = {ss(Side::kBoth, rules::CmpOp::kGreaterEq, 10)}; }),
              with(rule(4), [&](auto& r) { r.stream_size = {ss(Side::kEither, rules::CmpOp::kEq, 7)}; }),
              with(rule(5), [&](auto& r) {  // ET 2025008's pair: the client silent, the server at 10
                  r.stream_size = {ss(Side::kClient, rules::CmpOp::kEq, 1), ss(Side::kServer, rules::CmpOp::kEq, 10)};
              })});
    PacketInfo p = tcp_info();
    p.tcp_session = true;
    auto sizes = [&](uint32_t client, uint32_t server) {
        p.stream_size[0] = client;
        p.stream_size[1] = server;
        Sids fired = e.packet("x", p);
        std::sort(fired.begin(), fired.end());
        return fired;
    };
    CHECK(sizes(4, 4) == Sids{1});
    CHECK(sizes(101, 5) == Sids{2});
    CHECK(sizes(10, 10) == Sids{3});
    CHECK(sizes(9, 10).empty());
    CHECK(sizes(7, 300) == Sids{4});
    CHECK(sizes(300, 7) == (Sids{2, 4}));
    CHECK(sizes(1, 10) == Sids{5});
    CHECK(sizes(2, 10).empty());
    // Without a TCP session (UDP, or TCP not tracked) no stream_size matches.
    p.tcp_session = false;
    CHECK(sizes(4, 4).empty());
    p.tcp_session = true;
    p.proto = kProtoUdp;
    CHECK(sizes(4, 4).empty());
}

TEST_CASE("detect Snort 3 inclusive ranges (lo<=>hi) take both ends", "[detect]") {
    Engine e({with(rule(1, {C("ab")}), [](auto& r) { r.dsize = rules::NumCheck{rules::CmpOp::kRangeIncl, 2, 5}; })});
    CHECK(e.packet("a").empty());
    CHECK(e.packet("ab") == Sids{1});
    CHECK(e.packet("abcde") == Sids{1});
    CHECK(e.packet("abcdef").empty());
}

TEST_CASE("detect ttl compares the IP TTL", "[detect]") {
    Engine e({with(rule(1), [](auto& r) { r.ttl = rules::NumCheck{rules::CmpOp::kLess, 5}; })});
    PacketInfo p = tcp_info();
    p.ttl = 4;
    CHECK(e.packet("x", p) == Sids{1});
    p.ttl = 5;
    CHECK(e.packet("x", p).empty());
}

TEST_CASE("detect itype and icode match ICMP packets only", "[detect]") {
    Engine e({with(rule(1, {}, rules::Proto::kIcmp), [](auto& r) {
                  r.itype = rules::NumCheck{rules::CmpOp::kEq, 8};
                  r.icode = rules::NumCheck{rules::CmpOp::kEq, 0};
              }),
              with(rule(2, {}, rules::Proto::kIp), [](auto& r) { r.itype = rules::NumCheck{rules::CmpOp::kEq, 8}; })});
    CHECK(e.packet("ping", icmp_info(8, 0)) == Sids{1, 2});
    CHECK(e.packet("ping", icmp_info(8, 1)) == Sids{2});
    CHECK(e.packet("ping", icmp_info(0, 0)).empty());
    CHECK(e.packet("ping", tcp_info()).empty());  // an ip rule with itype never matches TCP
}

TEST_CASE("detect TCP flags: exact, plus, any-of, not, and ignored bits", "[detect]") {
    auto flags = [](uint8_t bits, char mod, uint8_t ignore = 0) {
        return [=](rules::Rule& r) { r.flags = rules::TcpFlags{bits, ignore, mod}; };
    };
    Engine e({with(rule(1), flags(0x02, 0)),            // S
              with(rule(2), flags(0x12, 0)),            // SA
              with(rule(3), flags(0x02, '+')),          // S+
              with(rule(4), flags(0x05, '*')),          // FR*
              with(rule(5), flags(0x02, '!')),          // !S
              with(rule(6), flags(0x02, 0, 0xc0))});    // S,CE
    PacketInfo p = tcp_info();
    p.tcp_flags = 0x02;
    CHECK(e.packet("", p) == Sids{1, 3, 6});
    p.tcp_flags = 0x12;
    CHECK(e.packet("", p) == Sids{2, 3});
    p.tcp_flags = 0x04;
    CHECK(e.packet("", p) == Sids{4, 5});
    p.tcp_flags = 0x42;  // SYN + ECE: ECE ignored by rule 6
    CHECK(e.packet("", p) == Sids{3, 6});
}

TEST_CASE("detect flow to_server, to_client and established follow the packet's flow facts", "[detect]") {
    Engine e({with(rule(1, {C("x")}), [](auto& r) { r.flow.to_server = true; }),
              with(rule(2, {C("x")}), [](auto& r) { r.flow.to_client = true; }),
              with(rule(3, {C("x")}), [](auto& r) { r.flow.not_established = true; })});
    PacketInfo p = tcp_info();
    CHECK(e.packet("x", p) == Sids{1});
    p.to_server = false;
    p.to_client = true;
    CHECK(e.packet("x", p) == Sids{2});
    p.established = false;
    CHECK(e.packet("x", p) == Sids{2, 3});
    p.has_flow = false;  // flow keywords never match without a flow
    CHECK(e.packet("x", p).empty());
}

TEST_CASE("detect addresses with include and exclude lists, and bidirectional rules", "[detect]") {
    rules::AddrSpec net;
    net.any = false;
    net.include.push_back(rules::Cidr{4, {198, 18, 0, 0}, 24});
    net.exclude.push_back(rules::Cidr{4, {198, 18, 0, 2}, 32});
    Engine e({with(rule(1, {C("x")}), [&](auto& r) { r.src = net; }),
              with(rule(2, {C("x")}), [&](auto& r) { r.dst = net; }),
              with(rule(3, {C("x")}), [&](auto& r) {
                  r.dst = net;
                  r.bidirectional = true;
              })});
    PacketInfo p = tcp_info();  // 198.18.0.1 -> 198.18.0.2
    CHECK(e.packet("x", p) == Sids{1, 3});
    std::swap(p.src, p.dst);
    CHECK(e.packet("x", p) == Sids{2, 3});
}

TEST_CASE("detect ports and the group port gate skip scans no rule can match", "[detect]") {
    Engine e({with(rule(1, {C("x")}), [](auto& r) { r.dst_ports = ports(80, 80); }),
              with(rule(2, {C("x")}, rules::Proto::kUdp), [](auto& r) { r.dst_ports = ports(53, 53); })});
    PacketInfo p = tcp_info();
    CHECK(e.packet("x", p) == Sids{1});
    p.dst_port = 81;
    const auto gated = e.scanner->counters().gated;
    CHECK(e.packet("x", p).empty());
    CHECK(e.scanner->counters().gated == gated + 1);
    p.proto = kProtoUdp;
    p.dst_port = 53;
    CHECK(e.packet("x", p) == Sids{2});
}

TEST_CASE("detect a header-only rule fires on every packet whose header matches", "[detect]") {
    Engine e({with(rule(1, {}, rules::Proto::kUdp), [](auto& r) { r.dst_ports = ports(53, 53); })});
    PacketInfo p = tcp_info();
    p.proto = kProtoUdp;
    p.dst_port = 53;
    CHECK(e.packet("", p) == Sids{1});
    CHECK(e.packet("anything", p) == Sids{1});
    CHECK(e.db->stats().header_only == 1);
}

TEST_CASE("detect noalert rules match but put nothing in the sink", "[detect]") {
    Engine e({with(rule(1, {C("x")}), [](auto& r) { r.noalert = true; })});
    CHECK(e.packet("x").empty());
    CHECK(e.scanner->counters().matches == 1);
}

TEST_CASE("detect counts matches that find the sink full", "[detect]") {
    std::vector<rules::Rule> many;
    for (uint32_t i = 1; i <= MatchSink::kCapacity + 3; ++i) many.push_back(rule(i, {C("hit")}));
    Engine e(many);
    CHECK(e.packet("hit").size() == MatchSink::kCapacity);
    CHECK(e.sink.dropped() == 3);
    CHECK(e.scanner->counters().sink_full == 3);
}

TEST_CASE("cidr_contains agrees with a bit-by-bit prefix compare at every length", "[detect][header]") {
    // Reference: the first `len` bits of both addresses are equal.
    const auto reference = [](const rules::Cidr& c, const IpAddr& a) {
        if (c.family != a.family) return false;
        for (unsigned bit = 0; bit < c.len; bit++) {
            const unsigned byte = bit / 8, shift = 7 - bit % 8;
            if (((c.addr[byte] >> shift) & 1) != ((a.bytes[byte] >> shift) & 1)) return false;
        }
        return true;
    };
    IpAddr v4 = IpAddr::v4(198, 18, 0x5a, 0xc3);
    IpAddr v6;
    v6.family = 6;
    for (unsigned i = 0; i < 16; i++) v6.bytes[i] = static_cast<uint8_t>(0x20 + 37 * i);
    uint64_t checked = 0, contained = 0;
    for (const IpAddr& base : {v4, v6}) {
        const unsigned bits = base.family == 4 ? 32 : 128;
        for (unsigned len = 0; len <= bits; len++) {
            // The prefix of the address itself, and with each single bit flipped.
            for (int flip = -1; flip < static_cast<int>(bits); flip++) {
                rules::Cidr c;
                c.family = base.family;
                c.len = static_cast<uint8_t>(len);
                c.addr = base.bytes;
                if (flip >= 0) c.addr[flip / 8] ^= static_cast<uint8_t>(0x80 >> (flip % 8));
                const bool want = reference(c, base);
                INFO("family " << int(base.family) << " /" << len << " flip " << flip);
                REQUIRE(cidr_contains(c, base) == want);
                checked++;
                contained += want;
            }
        }
        rules::Cidr other;
        other.family = base.family == 4 ? 6 : 4;
        REQUIRE_FALSE(cidr_contains(other, base));  // /0 of the other family
    }
    // Flipping bit b leaves the address inside every prefix shorter than b+1.
    REQUIRE(checked == 33 * 33 + 129 * 129);
    REQUIRE(contained == 33 + 33 * 32 / 2 + 129 + 129 * 128 / 2);
}
