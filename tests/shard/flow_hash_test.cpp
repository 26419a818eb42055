// Properties of the symmetric flow hash over frames built by hand (no EAL):
// symmetry, sensitivity to every field, spread over workers, fragments.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "shard/shard.hpp"
#include "tests/shard/frame_builder.hpp"

using namespace vtap;
using namespace vtap::shard;
using vtap::test::Endpoint;
using vtap::test::Frag;
using vtap::test::Tuple;

namespace {

struct Frame {
    std::array<uint8_t, test::kMaxTestFrame> buf;
    PktMeta meta;

    explicit Frame(const Tuple& t) { test::build_frame(t, buf.data(), meta); }
    uint32_t hash() const { return flow_hash(buf.data(), meta); }
    FlowKey key() const {
        FlowKey k;
        flow_key(buf.data(), meta, k);
        return k;
    }
};

// Raw generator bits only (no std::*_distribution): identical on every platform.
struct Rng {
    std::mt19937_64 gen;
    explicit Rng(uint64_t seed) : gen(seed) {}
    uint32_t below(uint32_t n) { return static_cast<uint32_t>((uint64_t{static_cast<uint32_t>(gen())} * n) >> 32); }
    uint16_t u16() { return static_cast<uint16_t>(gen()); }
    uint16_t vlan_id() { return static_cast<uint16_t>(1 + below(4094)); }
};

constexpr uint8_t kV4Protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_SCTP};
constexpr uint8_t kV6Protos[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_SCTP};

Endpoint random_endpoint(Rng& r, L3Type family) {
    Endpoint e;
    const size_t len = family == L3Type::kIpv4 ? 4 : 16;
    for (size_t i = 0; i < len; i++) e.addr[i] = static_cast<uint8_t>(r.gen());
    e.port = r.u16();
    return e;
}

// Random tuple; a tenth share one address (loopback-like talk between two
// ports of one host), a twentieth one port, a third carry one or two VLANs.
Tuple random_tuple(Rng& r, L3Type family, uint8_t proto) {
    Tuple t;
    t.family = family;
    t.proto = proto;
    t.src = random_endpoint(r, family);
    t.dst = random_endpoint(r, family);
    if (r.below(10) == 0) t.dst.addr = t.src.addr;
    if (r.below(20) == 0) t.dst.port = t.src.port;
    switch (r.below(3)) {
        case 1: t.vlan[0] = r.vlan_id(); break;
        case 2: t.vlan[0] = r.vlan_id(); t.vlan[1] = r.vlan_id(); break;
        default: break;
    }
    return t;
}

Tuple random_any(Rng& r, uint64_t i) {
    const bool v4 = i % 2 == 0;
    const size_t which = (i / 2) % 4;
    const uint8_t proto = v4 ? kV4Protos[which] : kV6Protos[which];
    return random_tuple(r, v4 ? L3Type::kIpv4 : L3Type::kIpv6, proto);
}

// Chi-square statistic of `counts` against a uniform spread.
double chi_square(const std::vector<uint64_t>& counts, uint64_t total) {
    const double expected = static_cast<double>(total) / counts.size();
    double chi = 0;
    for (uint64_t c : counts) chi += (c - expected) * (c - expected) / expected;
    return chi;
}

// Far above what a uniform hash produces (mean dof, sd sqrt(2 dof)): the
// test fails on a biased hash, not on an unlucky seed.
double chi_square_bound(size_t buckets) {
    const double dof = static_cast<double>(buckets - 1);
    return dof + 6 * std::sqrt(2 * dof) + 10;
}

}  // namespace

TEST_CASE("both directions of random IPv4 and IPv6 flows hash and key alike", "[shard]") {
    Rng r(0x5eed0001);
    constexpr uint64_t kFlows = 120'000;
    uint64_t hash_mismatch = 0, key_mismatch = 0, with_vlan = 0;
    for (uint64_t i = 0; i < kFlows; i++) {
        const Tuple t = random_any(r, i);
        Frame fwd(t);
        Frame rev(test::reversed(t));
        // The reverse direction comes from another tap source and VNI.
        rev.meta.tap_src = 0x0a000002;
        rev.meta.vni = 77;
        if (fwd.hash() != rev.hash()) hash_mismatch++;
        if (!(fwd.key() == rev.key())) key_mismatch++;
        if (t.vlan[0]) with_vlan++;
    }
    REQUIRE(hash_mismatch == 0);
    REQUIRE(key_mismatch == 0);
    REQUIRE(with_vlan > kFlows / 2);  // the VLAN cases were really exercised
}

TEST_CASE("changing any single field of a flow changes its key and hash, and moves it between two workers about half the time",
          "[shard]") {
    enum class Field { kSrcAddr, kDstAddr, kSrcPort, kDstPort, kProto, kOuterVlan, kInnerVlan };
    const Field field = GENERATE(Field::kSrcAddr, Field::kDstAddr, Field::kSrcPort, Field::kDstPort,
                                 Field::kProto, Field::kOuterVlan, Field::kInnerVlan);
    const L3Type family = GENERATE(L3Type::kIpv4, L3Type::kIpv6);
    CAPTURE(static_cast<int>(field), static_cast<int>(family));

    Rng r(0x5eed0002 + static_cast<uint64_t>(field) * 16 + static_cast<uint64_t>(family));
    constexpr uint8_t kPorted[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP};
    constexpr uint64_t kFlows = 20'000;
    uint64_t same_key = 0, same_hash = 0, moved = 0;
    for (uint64_t i = 0; i < kFlows; i++) {
        Tuple t = random_tuple(r, family, kPorted[i % 3]);
        t.vlan[0] = r.vlan_id();
        t.vlan[1] = r.below(2) ? r.vlan_id() : 0;
        Tuple u = t;
        const size_t addr_len = family == L3Type::kIpv4 ? 4 : 16;
        switch (field) {
            case Field::kSrcAddr: while (u.src.addr == t.src.addr) u.src.addr[r.below(addr_len)] = static_cast<uint8_t>(r.gen()); break;
            case Field::kDstAddr: while (u.dst.addr == t.dst.addr) u.dst.addr[r.below(addr_len)] = static_cast<uint8_t>(r.gen()); break;
            case Field::kSrcPort: while (u.src.port == t.src.port) u.src.port = r.u16(); break;
            case Field::kDstPort: while (u.dst.port == t.dst.port) u.dst.port = r.u16(); break;
            case Field::kProto: u.proto = kPorted[(i + 1 + r.below(2)) % 3]; break;
            case Field::kOuterVlan: while (u.vlan[0] == t.vlan[0]) u.vlan[0] = r.vlan_id(); break;
            case Field::kInnerVlan: while (u.vlan[1] == t.vlan[1]) u.vlan[1] = r.vlan_id(); break;
        }
        const Frame a(t), b(u);
        same_key += a.key() == b.key();
        same_hash += a.hash() == b.hash();
        moved += worker_of(a.hash(), 2) != worker_of(b.hash(), 2);
    }
    REQUIRE(same_key == 0);
    REQUIRE(same_hash <= kFlows / 1000);
    // CRC32C is linear: a change of protocol XORs one of only three fixed
    // values into the hash, so how often it moves a flow says nothing about
    // spread. Every other field takes thousands of values.
    if (field != Field::kProto) {
        REQUIRE(moved > kFlows * 45 / 100);
        REQUIRE(moved < kFlows * 55 / 100);
    }
}

TEST_CASE("worker_of stays below n_workers and spreads random flows evenly", "[shard]") {
    REQUIRE(worker_of(0, 7) == 0);
    REQUIRE(worker_of(0xffffffffu, 7) == 6);
    REQUIRE(worker_of(0xffffffffu, kMaxWorkers) == kMaxWorkers - 1);
    for (uint16_t n_workers = 1; n_workers <= kMaxWorkers; n_workers++)
        for (uint32_t h : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu})
            REQUIRE(worker_of(h, n_workers) < n_workers);

    Rng r(0x5eed0003);
    constexpr uint64_t kFlows = 64'000;
    std::vector<uint32_t> hashes;
    hashes.reserve(kFlows);
    for (uint64_t i = 0; i < kFlows; i++) hashes.push_back(Frame(random_any(r, i)).hash());

    for (uint16_t n_workers : {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 31, 32, 63, 64}) {
        CAPTURE(n_workers);
        std::vector<uint64_t> counts(n_workers);
        uint16_t out_of_range = 0;
        for (uint32_t h : hashes) {
            const uint16_t w = worker_of(h, n_workers);
            if (w >= n_workers) out_of_range++;
            else counts[w]++;
        }
        REQUIRE(out_of_range == 0);
        if (n_workers > 1) REQUIRE(chi_square(counts, kFlows) < chi_square_bound(n_workers));
    }
}

TEST_CASE("worker_of spreads the clients of one server evenly", "[shard]") {
    // The realistic skew: 16 clients in one /28, sequential ephemeral ports,
    // one server port; only a few low-order bits vary.
    constexpr uint64_t kPortsPerClient = 4096;
    std::vector<uint32_t> hashes;
    for (uint8_t client = 1; client <= 16; client++)
        for (uint16_t port = 32768; port < 32768 + kPortsPerClient; port++) {
            Tuple t;
            t.src = test::ipv4(198, 18, 1, client, port);
            t.dst = test::ipv4(198, 19, 0, 10, 443);
            hashes.push_back(Frame(t).hash());
        }
    for (uint16_t n_workers : {2, 3, 4, 6, 8, 16, 64}) {
        CAPTURE(n_workers);
        std::vector<uint64_t> counts(n_workers);
        for (uint32_t h : hashes) counts[worker_of(h, n_workers)]++;
        REQUIRE(chi_square(counts, hashes.size()) < chi_square_bound(n_workers));
    }
}

TEST_CASE("every fragment of one datagram hashes alike whatever bytes follow the IP header", "[shard]") {
    const L3Type family = GENERATE(L3Type::kIpv4, L3Type::kIpv6);
    const uint8_t proto = GENERATE(uint8_t{IPPROTO_TCP}, uint8_t{IPPROTO_UDP});
    CAPTURE(static_cast<int>(family), static_cast<int>(proto));
    Rng r(0x5eed0004);
    for (int i = 0; i < 1000; i++) {
        Tuple t = random_tuple(r, family, proto);
        t.fragment_id = static_cast<uint32_t>(r.gen());
        t.frag = Frag::kFirst;
        const Frame first(t);
        REQUIRE((first.meta.flags & kFlagL4Header) != 0);
        const uint32_t h = first.hash();
        const FlowKey k = first.key();
        REQUIRE(k.lo_port == 0);
        REQUIRE(k.hi_port == 0);

        for (Frag f : {Frag::kMiddle, Frag::kLast}) {
            t.frag = f;
            Frame later(t);
            REQUIRE(later.hash() == h);
            REQUIRE(later.key() == k);
            REQUIRE(Frame(test::reversed(t)).hash() == h);
            // A decap that pointed l4_off at the payload and claimed an L4
            // header must not put the payload into the hash.
            later.meta.l4_off = later.meta.payload_off - 16;
            later.meta.flags |= kFlagL4Header;
            REQUIRE(later.hash() == h);
            // IPv6: an extension header after the fragment header hides the
            // upper-layer protocol from later fragments (RFC 8200 s4.5).
            if (family == L3Type::kIpv6) {
                later.meta.l4_proto = IPPROTO_DSTOPTS;
                REQUIRE(later.hash() == h);
            }
        }
        // Another datagram between the same hosts on other ports meets it too.
        Tuple other = t;
        other.frag = Frag::kFirst;
        other.src.port ^= 0x1234;
        other.fragment_id++;
        REQUIRE(Frame(other).hash() == h);
    }
}

TEST_CASE("flow key orders endpoints by address then port and zero-pads IPv4 addresses", "[shard]") {
    Tuple t;
    t.src = test::ipv4(198, 18, 0, 2, 80);
    t.dst = test::ipv4(198, 18, 0, 1, 5000);
    t.vlan[0] = 0x2000 | 100;  // PCP 1, VID 100
    Frame f(t);
    f.meta.vlan[0] = t.vlan[0];  // as if decap had kept the priority bits
    const FlowKey k = f.key();
    const uint8_t lo[16] = {198, 18, 0, 1};
    const uint8_t hi[16] = {198, 18, 0, 2};
    REQUIRE(std::memcmp(k.lo_addr, lo, 16) == 0);
    REQUIRE(std::memcmp(k.hi_addr, hi, 16) == 0);
    REQUIRE(k.lo_port == htons(5000));
    REQUIRE(k.hi_port == htons(80));
    REQUIRE(k.vlan[0] == 100);
    REQUIRE(k.vlan[1] == 0);
    REQUIRE(k.proto == IPPROTO_TCP);
    REQUIRE(k.family == 4);

    // Same address on both sides: the lower port is `lo`.
    t.dst = test::ipv4(198, 18, 0, 2, 79);
    const FlowKey same = Frame(t).key();
    REQUIRE(same.lo_port == htons(79));
    REQUIRE(same.hi_port == htons(80));
    // Port order is numeric, not memory order: 256 (01 00) sorts above 2 (00 02).
    t.src.port = 256;
    t.dst.port = 2;
    REQUIRE(Frame(t).key().lo_port == htons(2));
}

TEST_CASE("flow hash reads IPv4 ports at l4_off when IP options are present", "[shard]") {
    Tuple plain;
    plain.src = test::ipv4(198, 18, 0, 1, 40000);
    plain.dst = test::ipv4(198, 18, 0, 2, 443);
    Tuple with_options = plain;
    with_options.ip_options = true;
    const Frame a(plain), b(with_options);
    REQUIRE(b.meta.l4_off == a.meta.l4_off + 4);
    REQUIRE(a.hash() == b.hash());
    REQUIRE(a.key() == b.key());
    with_options.src.port = 40001;
    REQUIRE(Frame(with_options).hash() != b.hash());
}

TEST_CASE("flow hash ignores outer fields, the stored hash and VLAN priority bits", "[shard]") {
    Tuple t;
    t.src = test::ipv4(198, 18, 0, 1, 1234);
    t.dst = test::ipv4(198, 18, 0, 2, 53);
    t.proto = IPPROTO_UDP;
    t.vlan[0] = 10;
    Frame f(t);
    const uint32_t h = f.hash();
    f.meta.tap_src = 0xc6120063;
    f.meta.tap_dst = 0xc6120064;
    f.meta.vni = 0xffffff;
    f.meta.flow_hash = 0xdeadbeef;
    f.meta.flags |= kFlagVxlanReserved;
    f.meta.vlan[0] = 0xe000 | 10;
    REQUIRE(f.hash() == h);
}

TEST_CASE("ICMP flows hash on addresses and protocol only", "[shard]") {
    const bool v4 = GENERATE(true, false);
    Rng r(0x5eed0005);
    Tuple t = random_tuple(r, v4 ? L3Type::kIpv4 : L3Type::kIpv6, v4 ? uint8_t{IPPROTO_ICMP} : uint8_t{IPPROTO_ICMPV6});
    const Frame echo(t);
    REQUIRE((echo.meta.flags & kFlagL4Header) != 0);
    t.src.port ^= 0xffff;  // another echo identifier
    REQUIRE(Frame(t).hash() == echo.hash());
    REQUIRE(echo.key().lo_port == 0);
    t.proto = IPPROTO_UDP;
    t.src.port = t.dst.port = 0;
    REQUIRE(Frame(t).hash() != echo.hash());  // same addresses, other protocol
}

TEST_CASE("same_key is FlowKey equality, whichever byte differs", "[shard]") {
    FlowKey a{};
    for (size_t i = 0; i < 16; i++) a.lo_addr[i] = static_cast<uint8_t>(i), a.hi_addr[i] = static_cast<uint8_t>(100 + i);
    a.lo_port = 53, a.hi_port = 4242, a.vlan[0] = 7, a.proto = 17, a.family = 6;
    FlowKey b = a;
    REQUIRE(same_key(a, b));
    for (size_t i = 0; i < sizeof(FlowKey); i++) {
        FlowKey c = a;
        reinterpret_cast<uint8_t*>(&c)[i] ^= 0x01;
        INFO("byte " << i);
        REQUIRE_FALSE(same_key(a, c));
        REQUIRE((a == c) == same_key(a, c));
    }
}
