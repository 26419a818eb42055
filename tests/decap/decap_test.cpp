// decap_burst on real mbufs from a real mempool (EAL --no-huge --in-memory).
// Every test checks the accounting invariant: received = delivered + drops,
// and that every dropped mbuf went back to the pool.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include "core/pkt_meta.hpp"
#include "decap/decap.hpp"
#include "support/frames.hpp"
#include "support/mbufs.hpp"

using namespace vtap;
using namespace vtap::test;

namespace {

decap::DecapConfig lab_config() {
    decap::DecapConfig c;
    c.n_sources = 1;
    c.sources[0] = {ip4(198, 18, 0, 0), 15};
    return c;
}

rte_mempool* pool() {
    static rte_mempool* mp = make_pool("decap_test", 2047, 10240 + RTE_PKTMBUF_HEADROOM);
    return mp;
}

struct Run {
    std::vector<rte_mbuf*> out;
    RxCounters ctr;
};

// Runs one burst and checks the invariants every test relies on.
std::unique_ptr<Run> run(const std::vector<std::vector<uint8_t>>& frames, const decap::DecapConfig& cfg,
                         decap::ExceptionHook exc = {}) {
    const unsigned before = rte_mempool_avail_count(pool());
    auto r = std::make_unique<Run>();
    rte_mbuf* pkts[kMaxBurst];
    REQUIRE(frames.size() <= kMaxBurst);
    for (size_t i = 0; i < frames.size(); i++) pkts[i] = make_mbuf(pool(), frames[i]);
    const auto n = static_cast<uint16_t>(frames.size());
    r->ctr.packets.add(n);
    const uint16_t kept = decap::decap_burst(pkts, n, cfg, r->ctr, exc);
    r->ctr.delivered.add(kept);
    r->out.assign(pkts, pkts + kept);
    REQUIRE(r->ctr.packets.get() == r->ctr.delivered.get() + r->ctr.drops_total());
    const unsigned diverted = exc.sink ? exc.sink->n : 0;
    REQUIRE(rte_mempool_avail_count(pool()) == before - kept - diverted);
    return r;
}

void free_all(Run& r) {
    for (auto* m : r.out) rte_pktmbuf_free(m);
    r.out.clear();
}

}  // namespace

TEST_CASE("decap strips the outer stack in place and keeps the tap source and VNI", "[decap][eal]") {
    auto in = inner_frame({.payload = 100});
    auto r = run({vtap_frame(in, {.vni = 0xABCDEF})}, lab_config());
    REQUIRE(r->out.size() == 1);
    rte_mbuf* m = r->out[0];
    CHECK(mbuf_bytes(m) == in);  // exactly the tapped VM's frame
    const PktMeta& meta = pkt_meta(m);
    CHECK(meta.tap_src == htonl(ip4(198, 18, 1, 4)));
    CHECK(meta.tap_dst == htonl(ip4(198, 18, 0, 1)));
    CHECK(meta.vni == 0xABCDEF);
    CHECK(meta.l3 == static_cast<uint8_t>(L3Type::kIpv4));
    CHECK(meta.l3_off == 14);
    CHECK(meta.l4_off == 34);
    CHECK(meta.payload_off == 54);
    CHECK(meta.l4_proto == 6);
    CHECK(meta.flags == kFlagL4Header);
    free_all(*r);
}

TEST_CASE("decap counts one drop per reason for a burst of malformed frames", "[decap][eal]") {
    auto in = inner_frame({});
    auto arp = in;
    arp[12] = 0x08; arp[13] = 0x06;
    std::vector<std::vector<uint8_t>> frames = {
        vtap_frame(in),                                            // good
        vtap_frame(in, {.ether_type = 0x0806}),                    // decap.not_ipv4
        vtap_frame(in, {.ip_vihl = 0x44}),                         // decap.outer_bad_ip
        vtap_frame(in, {.ip_frag = 0x2000}),                       // decap.outer_fragment
        vtap_frame(in, {.proto = 6}),                              // decap.not_udp
        vtap_frame(in, {.dport = 8472}),                           // decap.wrong_port
        vtap_frame(in, {.udp_len_delta = 3}),                      // decap.bad_udp_length
        vtap_frame(in, {.vxlan_flags = 0}),                        // decap.bad_vxlan_flags
        vtap_frame(in, {.src = ip4(203, 0, 113, 9)}),              // decap.source_denied
        vtap_frame(in, {.ip_len_delta = 40}),                      // decap.outer_truncated
        vtap_frame(arp),                                           // decap.inner_not_ip
        vtap_frame(inner_frame({.tcp_doff_words = 4})),            // decap.inner_bad_l4
        vtap_frame({in.begin(), in.begin() + 30}),                 // decap.inner_truncated
        vtap_frame(inner_frame({.vlans = {1}, .ipv6 = true})),     // good
    };
    auto bad_ip = in;
    bad_ip[14] = 0x46;
    bad_ip[16] = 0; bad_ip[17] = 10;                               // total length < IHL
    frames.push_back(vtap_frame(bad_ip));                          // decap.inner_bad_ip
    auto r = run(frames, lab_config());
    CHECK(r->out.size() == 2);
    for (DropReason why : {DropReason::kNotIpv4, DropReason::kOuterBadIpHeader, DropReason::kOuterFragment,
                           DropReason::kNotUdp, DropReason::kWrongPort, DropReason::kBadUdpLength,
                           DropReason::kBadVxlanFlags, DropReason::kSourceDenied, DropReason::kOuterTruncated,
                           DropReason::kInnerNotIp, DropReason::kInnerBadL4Header, DropReason::kInnerTruncated,
                           DropReason::kInnerBadIpHeader}) {
        INFO(drop_reason_name(why));
        CHECK(r->ctr.drops[index(why)].get() == 1);
    }
    CHECK(r->ctr.drops_total() == frames.size() - 2);
    free_all(*r);
}

TEST_CASE("decap drops VNIs outside the configured list", "[decap][eal]") {
    auto cfg = lab_config();
    cfg.n_vnis = 2;
    cfg.vnis[0] = 27;
    cfg.vnis[1] = 4242;
    auto in = inner_frame({});
    auto r = run({vtap_frame(in, {.vni = 27}), vtap_frame(in, {.vni = 4242}), vtap_frame(in, {.vni = 28})}, cfg);
    CHECK(r->out.size() == 2);
    CHECK(r->ctr.drop(DropReason::kVniDenied).get() == 1);
    free_all(*r);
}

TEST_CASE("decap denies every source when the allow-list is empty", "[decap][eal]") {
    decap::DecapConfig cfg;  // n_sources = 0
    auto r = run({vtap_frame(inner_frame({}))}, cfg);
    CHECK(r->out.empty());
    CHECK(r->ctr.drop(DropReason::kSourceDenied).get() == 1);
}

TEST_CASE("decap checks every tap source of an interleaved burst, not just the first", "[decap][eal]") {
    // decap remembers the last allowed source within a burst; a denied
    // source between two allowed ones, and 0.0.0.0, must still be caught.
    auto cfg = lab_config();
    auto in = inner_frame({});
    const uint32_t ok = ip4(198, 18, 0, 9), denied = ip4(203, 0, 113, 9);
    auto r = run({vtap_frame(in, {.src = ok}), vtap_frame(in, {.src = ok}), vtap_frame(in, {.src = denied}),
                  vtap_frame(in, {.src = ok}), vtap_frame(in, {.src = 0}), vtap_frame(in, {.src = denied}),
                  vtap_frame(in, {.src = ip4(198, 19, 255, 1)})},
                 cfg);
    CHECK(r->out.size() == 4);
    CHECK(r->ctr.drop(DropReason::kSourceDenied).get() == 3);
    for (auto* m : r->out) CHECK(ntohl(pkt_meta(m).tap_src) >> 17 == ip4(198, 18, 0, 0) >> 17);
    free_all(*r);
}

TEST_CASE("decap counts VXLAN reserved bits and drops them only when strict", "[decap][eal]") {
    auto frame = vtap_frame(inner_frame({}), {.vxlan_flags = 0x88});
    auto permissive = run({frame}, lab_config());
    REQUIRE(permissive->out.size() == 1);
    CHECK(permissive->ctr.reserved_set.get() == 1);
    CHECK((pkt_meta(permissive->out[0]).flags & kFlagVxlanReserved));
    free_all(*permissive);

    auto cfg = lab_config();
    cfg.reserved_bits = decap::ReservedBits::kStrict;
    auto strict = run({frame}, cfg);
    CHECK(strict->out.empty());
    CHECK(strict->ctr.drop(DropReason::kVxlanReserved).get() == 1);
}

TEST_CASE("decap hands non-VTAP frames to the exception hook when one is attached", "[decap][eal]") {
    auto in = inner_frame({});
    Burst sink;
    auto r = run({vtap_frame(in, {.ether_type = 0x0806}), vtap_frame(in, {.proto = 6}),
                  vtap_frame(in, {.dport = 8472}), vtap_frame(in, {.vxlan_flags = 0}), vtap_frame(in)},
                 lab_config(), {&sink});
    CHECK(r->out.size() == 1);
    CHECK(sink.n == 3);  // ARP, TCP health probe, other UDP; a bad VXLAN frame is not for the kernel
    CHECK(r->ctr.diverted.get() == 3);
    CHECK(r->ctr.drop(DropReason::kNotIpv4).get() == 1);
    CHECK(r->ctr.drop(DropReason::kBadVxlanFlags).get() == 1);
    rte_pktmbuf_free_bulk(sink.pkts, sink.n);
    free_all(*r);
}

TEST_CASE("decap delivers a 9000-byte inner frame and rejects one above max_inner_frame", "[decap][eal]") {
    auto jumbo = inner_frame({.payload = 9000 - 54});
    auto r = run({vtap_frame(jumbo)}, lab_config());
    REQUIRE(r->out.size() == 1);
    CHECK(r->out[0]->pkt_len == 9000);
    CHECK(mbuf_bytes(r->out[0]) == jumbo);
    free_all(*r);

    auto cfg = lab_config();
    cfg.max_inner_frame = 1514;
    auto small = run({vtap_frame(jumbo)}, cfg);
    CHECK(small->out.empty());
    CHECK(small->ctr.drop(DropReason::kInnerOversize).get() == 1);
}

TEST_CASE("decap trims inner padding so the frame ends with the IP packet", "[decap][eal]") {
    auto padded = inner_frame({.payload = 2, .pad = 6});
    auto r = run({vtap_frame(padded)}, lab_config());
    REQUIRE(r->out.size() == 1);
    CHECK(r->out[0]->pkt_len == padded.size() - 6);
    free_all(*r);
}

TEST_CASE("decap drops frames whose header stack spans two segments and reads a chained payload", "[decap][eal]") {
    const unsigned before = rte_mempool_avail_count(pool());
    auto frame = vtap_frame(inner_frame({.payload = 3000}));
    rte_mbuf* split = make_mbuf(pool(), frame, 40);        // outer stack cut at byte 40
    rte_mbuf* tail_chain = make_mbuf(pool(), frame, 200);  // headers whole, payload chained
    REQUIRE(split->nb_segs >= 2);
    REQUIRE(tail_chain->nb_segs >= 2);
    rte_mbuf* pkts[2] = {split, tail_chain};
    RxCounters ctr;
    uint16_t kept = decap::decap_burst(pkts, 2, lab_config(), ctr);
    REQUIRE(kept == 1);
    CHECK(pkts[0] == tail_chain);
    CHECK(ctr.drop(DropReason::kSegmentedHeaders).get() == 1);
    CHECK(pkts[0]->pkt_len == frame.size() - 50);
    rte_pktmbuf_free(pkts[0]);
    CHECK(rte_mempool_avail_count(pool()) == before);
}

TEST_CASE("decap survives every truncation of a VTAP frame as a real mbuf", "[decap][eal]") {
    auto frame = vtap_frame(inner_frame({.vlans = {5}, .ipv6 = true, .v6_ext = {0}, .payload = 10}));
    for (size_t cut = 1; cut <= frame.size(); cut++) {
        std::vector<uint8_t> part(frame.begin(), frame.begin() + cut);
        auto r = run({part}, lab_config());
        INFO("cut at " << cut);
        CHECK(r->out.size() == (cut == frame.size() ? 1u : 0u));
        free_all(*r);
    }
}

TEST_CASE("decap in ethernet mode takes plain frames as they are, with zero tap fields, and counts them",
          "[decap][eal]") {
    decap::DecapConfig cfg;  // no tap sources: they do not apply to plain frames
    cfg.mode = decap::DecapMode::kEthernet;
    auto plain = inner_frame({.payload = 100, .pad = 0});
    auto padded = inner_frame({.payload = 2, .pad = 6});
    auto vxlan = vtap_frame(inner_frame({.payload = 10}));  // a VTAP copy is just a UDP frame here
    auto r = run({plain, padded, vxlan}, cfg);
    REQUIRE(r->out.size() == 3);
    CHECK(r->ctr.untunneled.get() == 3);
    CHECK(mbuf_bytes(r->out[0]) == plain);
    const PktMeta& m0 = pkt_meta(r->out[0]);
    CHECK(m0.tap_src == 0);
    CHECK(m0.tap_dst == 0);
    CHECK(m0.vni == 0);
    CHECK(m0.flags == (kFlagUntunneled | kFlagL4Header));
    CHECK(m0.l3_off == 14);
    CHECK(m0.payload_off == 54);
    CHECK(r->out[1]->pkt_len == padded.size() - 6);  // padding trimmed as for inner frames
    CHECK(pkt_meta(r->out[2]).l4_proto == 17);
    free_all(*r);

    cfg.max_inner_frame = 100;
    auto small = run({plain}, cfg);
    CHECK(small->out.empty());
    CHECK(small->ctr.drop(DropReason::kInnerOversize).get() == 1);
    CHECK(small->ctr.untunneled.get() == 0);
}

TEST_CASE("decap in ip mode gives bare IPv4 and IPv6 packets an Ethernet header and drops what is not IP",
          "[decap][eal]") {
    decap::DecapConfig cfg;
    cfg.mode = decap::DecapMode::kIp;
    auto v4 = inner_frame({.payload = 100, .pad = 0});
    auto v6 = inner_frame({.ipv6 = true, .payload = 30, .pad = 0});
    const std::vector<uint8_t> bare4(v4.begin() + 14, v4.end());
    const std::vector<uint8_t> bare6(v6.begin() + 14, v6.end());
    std::vector<uint8_t> not_ip = bare4;
    not_ip[0] = 0x55;  // version 5
    auto r = run({bare4, bare6, not_ip, {}}, cfg);
    REQUIRE(r->out.size() == 2);
    CHECK(r->ctr.untunneled.get() == 2);
    CHECK(r->ctr.drop(DropReason::kInnerBadIpHeader).get() == 1);
    CHECK(r->ctr.drop(DropReason::kInnerTruncated).get() == 1);
    // The frame now starts with zero MACs and the EtherType of its version,
    // then the packet byte for byte.
    std::vector<uint8_t> want4(12, 0);
    want4.insert(want4.end(), {0x08, 0x00});
    want4.insert(want4.end(), bare4.begin(), bare4.end());
    CHECK(mbuf_bytes(r->out[0]) == want4);
    std::vector<uint8_t> want6(12, 0);
    want6.insert(want6.end(), {0x86, 0xdd});
    want6.insert(want6.end(), bare6.begin(), bare6.end());
    CHECK(mbuf_bytes(r->out[1]) == want6);
    const PktMeta& m0 = pkt_meta(r->out[0]);
    CHECK(m0.flags == (kFlagUntunneled | kFlagL4Header));
    CHECK(m0.l3_off == 14);
    CHECK(m0.payload_off == 54);
    CHECK(pkt_meta(r->out[1]).l3_off == 14);
    free_all(*r);

    // max_inner_frame bounds the frame with its Ethernet header.
    cfg.max_inner_frame = static_cast<uint16_t>(bare4.size() + 13);
    auto big = run({bare4}, cfg);
    CHECK(big->out.empty());
    CHECK(big->ctr.drop(DropReason::kInnerOversize).get() == 1);

    // A PMD that left no headroom: counted, not written before the buffer.
    const unsigned before = rte_mempool_avail_count(pool());
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    REQUIRE(m != nullptr);
    m->data_off = 0;
    auto* dst = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(bare4.size())));
    REQUIRE(dst != nullptr);
    std::memcpy(dst, bare4.data(), bare4.size());
    RxCounters ctr;
    CHECK(decap::decap_burst(&m, 1, cfg, ctr) == 0);
    CHECK(ctr.drop(DropReason::kNoHeadroom).get() == 1);
    CHECK(rte_mempool_avail_count(pool()) == before);
}
