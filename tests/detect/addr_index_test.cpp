// AddrIndex: header-only rules keyed by their address lists must be
// nominated for every packet they can match (a superset is fine, a miss is
// a lost alert), and the engine must fire exactly as header_matches says.
#include <random>

#include "detect/addr_index.hpp"
#include "detect/header.hpp"
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

namespace {

rules::Cidr v4(uint32_t host, uint8_t len) {
    rules::Cidr c;
    c.family = 4;
    c.addr = {static_cast<uint8_t>(host >> 24), static_cast<uint8_t>(host >> 16), static_cast<uint8_t>(host >> 8),
              static_cast<uint8_t>(host)};
    c.len = len;
    return c;
}

rules::AddrSpec list(std::vector<rules::Cidr> cidrs) {
    rules::AddrSpec s;
    s.any = false;
    s.include = std::move(cidrs);
    return s;
}

rules::Rule with(rules::Rule r, auto&& edit) {
    edit(r);
    return r;
}

// Alert order within a packet is DetectStage's business (priority, then
// load order); here only the set matters.
Sids sorted(Sids s) {
    std::sort(s.begin(), s.end());
    return s;
}

IpAddr ip(uint32_t host) {
    return IpAddr::v4(static_cast<uint8_t>(host >> 24), static_cast<uint8_t>(host >> 16), static_cast<uint8_t>(host >> 8),
                      static_cast<uint8_t>(host));
}

}  // namespace

TEST_CASE("address index nominates every rule whose prefix list holds the address (random lists vs brute force)",
          "[detect][addr_index]") {
    std::mt19937 rng(42);
    std::vector<CompiledRule> rules(300);
    std::vector<uint32_t> all;
    // Addresses crowd into 10.0.0.0/16 so prefixes overlap a lot.
    auto addr = [&] { return 0x0A000000u | (rng() & 0xFFFFu); };
    for (uint32_t r = 0; r < rules.size(); r++) {
        std::vector<rules::Cidr> cs;
        const unsigned n = 1 + rng() % 6;
        for (unsigned i = 0; i < n; i++) {
            const uint8_t len = static_cast<uint8_t>(16 + rng() % 17);  // /16../32
            const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
            cs.push_back(v4(addr() & mask, len));
        }
        (r % 2 ? rules[r].src : rules[r].dst) = list(cs);
        all.push_back(r);
    }
    AddrIndex idx;
    std::vector<uint32_t> v6;
    const auto rest = idx.build(rules, all, v6);
    CHECK(rest.empty());
    CHECK(v6.empty());
    CHECK(idx.rules_indexed() == rules.size());
    for (int t = 0; t < 20000; t++) {
        const uint32_t a = t % 10 == 0 ? rng() : addr();  // some far outside every list
        const IpAddr pa = ip(a);
        std::vector<uint32_t> want;
        for (uint32_t r = 0; r < rules.size(); r++)
            if (addr_matches(rules[r].src.any ? rules[r].dst : rules[r].src, pa)) want.push_back(r);
        auto got_span = idx.lookup(a);
        std::vector<uint32_t> got(got_span.begin(), got_span.end());
        std::sort(got.begin(), got.end());
        REQUIRE(got == want);
    }
}

TEST_CASE("address index keys IPv4 and IPv6 prefixes and leaves any, negated-only and broad lists to every scan",
          "[detect][addr_index]") {
    std::vector<CompiledRule> rules(6);
    rules[1].src.any = false;
    rules[1].src.exclude.push_back(v4(0x0A000000, 8));         // !10.0.0.0/8
    rules[2].dst = list({v4(0x0A000000, 8), v4(0, 1)});          // holds a /1: too broad to index
    rules[3].dst = list({v4(0xC0000201, 32)});                  // indexed
    rules[4].src = list({v4(0xC0000202, 32)});
    rules[4].src.include.push_back(rules::Cidr{6, {0x20, 0x01, 0x0d, 0xb8}, 32});  // 2001:db8::/32 indexed too
    rules[4].src.include.push_back(rules::Cidr{6, {0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5}, 128});
    rules[5].src = list({v4(0xC0000203, 32)});
    rules[5].src.include.push_back(rules::Cidr{6, {0x20}, 8});  // 2000::/8: too broad, every IPv6 scan
    AddrIndex idx;
    std::vector<uint32_t> v6;
    const auto rest = idx.build(rules, {0, 1, 2, 3, 4, 5}, v6);
    CHECK(rest == std::vector<uint32_t>{0, 1, 2});
    CHECK(v6 == std::vector<uint32_t>{5});
    CHECK(idx.lookup_v6(0x20010db800000000ull).size() == 1);
    CHECK(idx.lookup_v6(0x20010db8ffffffffull).size() == 1);
    CHECK(idx.lookup_v6(0x20010db900000001ull).size() == 1);  // the /128, keyed as its /64
    CHECK(idx.lookup_v6(0x20010db900000002ull).empty());
    CHECK(idx.lookup_v6(0x20010db700000000ull).empty());
    CHECK(idx.lookup_v6(0).empty());
    CHECK(idx.lookup_v6(~0ull).empty());
    CHECK(idx.lookup(0xC0000201).size() == 1);
    CHECK(idx.lookup(0xC0000202).size() == 1);
    CHECK(idx.lookup(0xC0000203).size() == 1);  // rule 5's IPv4 host
    CHECK(idx.lookup(0xC0000204).empty());
    CHECK(idx.lookup(0).empty());
    CHECK(idx.lookup(0xFFFFFFFF).empty());
}

TEST_CASE("detect header-only list rules fire on their addresses only, both ways for <> rules", "[detect][addr_index]") {
    const auto tor = list({v4(0xCB007105, 32), v4(0xC6336400, 24)});  // 203.0.113.5, 198.51.100.0/24
    Engine e({with(rule(1, {}, rules::Proto::kIp), [&](auto& r) { r.src = tor; }),
              with(rule(2, {}, rules::Proto::kIp), [&](auto& r) { r.dst = tor; }),
              with(rule(3, {}, rules::Proto::kIp), [&](auto& r) {
                  r.src = tor;
                  r.bidirectional = true;
              }),
              rule(4, {}, rules::Proto::kIp)});  // any -> any: every packet
    CHECK(e.db->stats().groups[static_cast<size_t>(GroupId::kTcpNoStream)].addr_indexed == 3);
    PacketInfo p = tcp_info();
    p.src = ip(0xC6336407);  // 198.51.100.7 -> 198.18.0.2
    CHECK(sorted(e.packet("x", p)) == Sids{1, 3, 4});
    std::swap(p.src, p.dst);
    CHECK(sorted(e.packet("x", p)) == Sids{2, 3, 4});
    p.dst = ip(0xC6336507);  // 198.51.101.7: outside the /24
    CHECK(sorted(e.packet("x", p)) == Sids{4});
    p.src = ip(0xCB007105);  // 203.0.113.5 -> 198.51.101.7
    CHECK(sorted(e.packet("x", p)) == Sids{1, 3, 4});
    // Only rule 4 is nominated for a packet far from every list.
    const auto before = e.scanner->counters().candidates;
    CHECK(e.packet("x", tcp_info()) == Sids{4});
    CHECK(e.scanner->counters().candidates == before + 1);
}

TEST_CASE("a rule listing hosts toward HOME_NET is keyed by its hosts, not by HOME_NET's ranges",
          "[detect][addr_index]") {
    // ET's IP-reputation shape: `alert ip [hosts] any -> $HOME_NET any`.
    // HOME_NET (three private ranges) has fewer prefixes than the host list
    // but covers millions of addresses: keyed by it, every packet of a
    // private network would nominate the rule.
    const auto home = list({v4(0x0A000000, 8), v4(0xAC100000, 12), v4(0xC0A80000, 16)});
    const auto hosts = list({v4(0xCB007105, 32), v4(0xCB007106, 32), v4(0xCB007107, 32), v4(0xC6336400, 24)});
    Engine e({with(rule(1, {}, rules::Proto::kIp), [&](auto& r) {
        r.src = hosts;
        r.dst = home;
    })});
    PacketInfo p = tcp_info();
    p.src = ip(0x0A000001);  // 10.0.0.1 -> 10.0.0.2: inside HOME_NET, no listed host
    p.dst = ip(0x0A000002);
    const auto before = e.scanner->counters().candidates;
    CHECK(e.packet("x", p).empty());
    CHECK(e.scanner->counters().candidates == before);  // not even nominated
    p.src = ip(0xC6336409);  // 198.51.100.9 -> 10.0.0.2
    CHECK(e.packet("x", p) == Sids{1});
    std::swap(p.src, p.dst);  // the other way: the rule is one-directional
    CHECK(e.packet("x", p).empty());
}

TEST_CASE("a header-only rule with a narrow port list is keyed by its port, not by HOME_NET", "[detect][addr_index]") {
    // ET's scan rules: `alert tcp $EXTERNAL_NET any -> $HOME_NET 22 (flags:S; threshold...)`.
    // HOME_NET covers ~0.4 % of the address space, port 22 ~0.0015 % of the
    // ports: keyed by HOME_NET every private packet nominated them.
    const auto home = list({v4(0x0A000000, 8), v4(0xAC100000, 12), v4(0xC0A80000, 16)});
    rules::PortSpec ssh;
    ssh.any = false;
    ssh.include.push_back({22, 22});
    Engine e({with(rule(1, {}, rules::Proto::kTcp), [&](auto& r) {
                  r.dst = home;
                  r.dst_ports = ssh;
              }),
              with(rule(2, {}, rules::Proto::kUdp), [&](auto& r) {
                  r.dst = home;
                  r.dst_ports = ssh;  // UDP packets carry ports too
              })});
    const auto& g = e.db->group(GroupId::kTcpNoStream);
    CHECK(g.addr_index.port_keyed() == 1);
    CHECK(e.db->group(GroupId::kUdp).addr_index.port_keyed() == 1);
    PacketInfo p = tcp_info();
    p.src = ip(0x0A000001);
    p.dst = ip(0x0A000002);  // inside HOME_NET, port 80
    const auto before = e.scanner->counters().candidates;
    CHECK(e.packet("x", p).empty());
    CHECK(e.scanner->counters().candidates == before);  // not nominated
    p.dst_port = 22;
    CHECK(e.packet("x", p) == Sids{1});
    std::swap(p.src_port, p.dst_port);  // the reply, from port 22: the rule is one-directional
    std::swap(p.src, p.dst);
    CHECK(e.packet("x", p).empty());
}

TEST_CASE("a port list broader than the address list leaves the rule keyed by address", "[detect][addr_index]") {
    rules::PortSpec high;
    high.any = false;
    high.include.push_back({1024, 65535});
    std::vector<CompiledRule> rules(1);
    rules[0].dst = list({v4(0xC0000201, 32)});  // one host
    rules[0].dst_ports = high;
    AddrIndex idx;
    std::vector<uint32_t> v6;
    CHECK(idx.build(rules, {0}, v6, true).empty());
    CHECK(idx.port_keyed() == 0);
    CHECK(idx.lookup(0xC0000201).size() == 1);
    CHECK(idx.lookup_port(2000).empty());
    // Without ports in the group (ICMP, other IP), never by port.
    rules[0].dst = list({v4(0x0A000000, 8)});
    rules::PortSpec one;
    one.any = false;
    one.include.push_back({22, 22});
    rules[0].dst_ports = one;
    AddrIndex no_ports;
    CHECK(no_ports.build(rules, {0}, v6, false).empty());
    CHECK(no_ports.port_keyed() == 0);
    AddrIndex with_ports;
    CHECK(with_ports.build(rules, {0}, v6, true).empty());
    CHECK(with_ports.port_keyed() == 1);
    CHECK(with_ports.lookup_port(22).size() == 1);
    CHECK(with_ports.lookup_port(23).empty());
}

TEST_CASE("detect header-only IPv6 list rules are nominated by address, not on every IPv6 packet",
          "[detect][addr_index]") {
    rules::Cidr host{6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}, 128};  // 2001:db8::5
    Engine e({with(rule(1, {}, rules::Proto::kIp), [&](auto& r) { r.src = list({host}); })});
    CHECK(e.db->group(GroupId::kTcpNoStream).always_v6.empty());
    auto v6 = [](std::array<uint8_t, 16> b) {
        IpAddr a;
        a.family = 6;
        a.bytes = b;
        return a;
    };
    PacketInfo p = tcp_info();
    p.src = v6(host.addr);
    p.dst = v6({0x20, 0x01, 0x0d, 0xb8, 1});
    CHECK(e.packet("x", p) == Sids{1});
    auto other = host.addr;
    other[15] = 6;  // same /64: nominated, the header check says no
    p.src = v6(other);
    CHECK(e.packet("x", p).empty());
    other[3] = 0xb9;  // 2001:db9::6: not even nominated
    p.src = v6(other);
    const auto before = e.scanner->counters().candidates;
    CHECK(e.packet("x", p).empty());
    CHECK(e.scanner->counters().candidates == before);
}

TEST_CASE("interval tables answer like a brute-force scan across the whole key space, IPv6 ends at 2^64 included",
          "[detect][addr_index]") {
    using U128 = unsigned __int128;
    std::mt19937_64 rng(99);
    struct Range {
        U128 lo, end;
    };
    std::vector<Range> ranges;
    IntervalTable<uint64_t> t6;
    for (uint32_t r = 0; r < 400; r++) {
        const unsigned len = 16 + rng() % 49;  // /16../64 of the first 64 bits
        const U128 size = static_cast<U128>(1) << (64 - len);
        const U128 lo = static_cast<U128>(rng()) & ~(size - 1);
        ranges.push_back({lo, lo + size});
    }
    ranges.push_back({static_cast<U128>(0xffffull << 48), static_cast<U128>(1) << 64});  // ffff::/16: ends at 2^64
    ranges.push_back({0, static_cast<U128>(1) << 48});                                    // ::/16
    for (uint32_t r = 0; r < ranges.size(); r++) t6.add(r, ranges[r].lo, ranges[r].end);
    t6.build(static_cast<U128>(1) << 64);
    std::vector<uint64_t> keys = {0, ~0ull, 0xffff000000000000ull, 0xfffeffffffffffffull};
    for (const auto& r : ranges) {
        keys.push_back(static_cast<uint64_t>(r.lo));
        keys.push_back(static_cast<uint64_t>(r.end - 1));
        if (r.end < (static_cast<U128>(1) << 64)) keys.push_back(static_cast<uint64_t>(r.end));
    }
    for (int i = 0; i < 20000; i++) keys.push_back(rng());
    for (uint64_t k : keys) {
        std::vector<uint32_t> want;
        for (uint32_t r = 0; r < ranges.size(); r++)
            if (ranges[r].lo <= k && k < ranges[r].end) want.push_back(r);
        auto got_span = t6.lookup(k);
        std::vector<uint32_t> got(got_span.begin(), got_span.end());
        std::sort(got.begin(), got.end());
        INFO("key " << std::hex << k);
        REQUIRE(got == want);
    }

    IntervalTable<uint32_t> ports;  // a 16-bit key space: buckets of 16 ports
    ports.add(0, 22, 23);
    ports.add(1, 0, 1024);
    ports.add(2, 65535, 65536);
    ports.build(uint64_t{1} << 16);
    CHECK(ports.lookup(22).size() == 2);
    CHECK(ports.lookup(23).size() == 1);
    CHECK(ports.lookup(1023).size() == 1);
    CHECK(ports.lookup(1024).empty());
    CHECK(ports.lookup(65535).size() == 1);
    CHECK(ports.lookup(65534).empty());
}

TEST_CASE("interval tables skip empty /16 blocks without losing an address next to one, IPv4 over the whole space",
          "[detect][addr_index]") {
    // Sparse lists (ET's are a few thousand hosts over all of IPv4): most
    // keys fall in blocks no range meets and are answered by the occupancy
    // bits; the keys at each range's edges and at the edges of its /16
    // blocks must still find the range.
    std::mt19937 rng(7);
    struct Range {
        uint64_t lo, end;
    };
    std::vector<Range> ranges;
    IntervalTable<uint32_t> t4;
    for (uint32_t r = 0; r < 500; r++) {
        const unsigned len = 8 + rng() % 25;  // /8../32
        const uint64_t size = uint64_t{1} << (32 - len);
        const uint64_t lo = uint64_t{rng()} & ~(size - 1);
        ranges.push_back({lo, lo + size});
    }
    ranges.push_back({0xffffffffull, uint64_t{1} << 32});  // the last address
    ranges.push_back({0, 1});                              // the first
    ranges.push_back({0x0a01ffffull, 0x0a020001ull});      // straddles two /16 blocks by one address each
    for (uint32_t r = 0; r < ranges.size(); r++) t4.add(r, ranges[r].lo, ranges[r].end);
    t4.build(uint64_t{1} << 32);
    std::vector<uint32_t> keys;
    for (const auto& r : ranges) {
        for (uint64_t k : {r.lo, r.end - 1, r.end, r.lo - 1, r.lo & ~uint64_t{0xffff}, (r.end - 1) | uint64_t{0xffff}})
            if (k < (uint64_t{1} << 32)) keys.push_back(static_cast<uint32_t>(k));
    }
    for (int i = 0; i < 50000; i++) keys.push_back(rng());
    size_t hits = 0;
    for (uint32_t k : keys) {
        std::vector<uint32_t> want;
        for (uint32_t r = 0; r < ranges.size(); r++)
            if (ranges[r].lo <= k && k < ranges[r].end) want.push_back(r);
        auto got_span = t4.lookup(k);
        std::vector<uint32_t> got(got_span.begin(), got_span.end());
        std::sort(got.begin(), got.end());
        INFO("key " << std::hex << k);
        REQUIRE(got == want);
        hits += !want.empty();
    }
    CHECK(hits > 1000);  // both answers exercised
    CHECK(hits < keys.size() - 10000);
}
