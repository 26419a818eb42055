// IPv4 and IPv6 reassembly: fragments in and out of order, overlaps (first copy
// wins), timeouts, a full table, hostile fragments, and the datagram
// frame handed back (headers fixed, payload whole).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "flow/defrag.hpp"
#include "tests/flow/frag_frames.hpp"

using namespace vtap;
using namespace vtap::flow;
using test::Ep;
using test::Pkt;
using test::frag;
using test::frag_bytes;

namespace {

constexpr uint64_t kSec = 1'000'000'000;
const Ep kCli{{10, 0, 0, 1}, 40000};
const Ep kSrv{{10, 0, 0, 2}, 53};

std::unique_ptr<Defrag> make_defrag(DefragConfig cfg = {}) {
    auto d = Defrag::create(cfg);
    REQUIRE(d.has_value());
    return std::move(*d);
}

// A UDP datagram with 40 payload bytes: 48 bytes of IP payload.
Pkt whole_udp() { return test::udp(kCli, kSrv, "0123456789abcdefghijklmnopqrstuvwxyzABCD"); }

const Reassembled* add(Defrag& d, const Pkt& p, uint64_t now = kSec) {
    return d.add(p.frame.data(), static_cast<uint32_t>(p.frame.size()), p.meta, now);
}

// The reassembled frame equals the original one but for the IP checksum
// (the original's is 0), which must be valid.
void check_whole(const Reassembled* r, const Pkt& w) {
    REQUIRE(r != nullptr);
    REQUIRE(r->len == w.frame.size());
    std::vector<uint8_t> got(r->frame, r->frame + r->len);
    uint32_t sum = 0;
    for (int i = 14; i < 34; i += 2) sum += uint32_t(got[i] << 8 | got[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    CHECK(sum == 0xffff);
    got[24] = got[25] = 0;
    std::vector<uint8_t> want = w.frame;
    test::put16(want, 18, 7);  // the fragments' IP id
    CHECK(got == want);
    CHECK(r->meta.vni == 27);
    CHECK(r->meta.tap_src == 0x0100a8c0);
}

}  // namespace

TEST_CASE("defrag: fragments in order make the datagram once the last arrives", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 0, 16, true)) == nullptr);
    CHECK(add(*d, frag(w, 16, 16, true)) == nullptr);
    CHECK(d->in_progress() == 1);
    check_whole(add(*d, frag(w, 32, 16, false)), w);
    CHECK(d->in_progress() == 0);
    CHECK(d->counters().fragments == 3);
    CHECK(d->counters().reassembled == 1);
    CHECK(d->counters().invalid == 0);
}

TEST_CASE("defrag: fragments out of order, the first one last", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 32, 16, false)) == nullptr);
    CHECK(add(*d, frag(w, 16, 16, true)) == nullptr);
    check_whole(add(*d, frag(w, 0, 16, true)), w);
    CHECK(d->counters().reassembled == 1);
}

TEST_CASE("defrag: duplicates do not complete early and overlaps keep the first copy", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 0, 16, true)) == nullptr);
    CHECK(add(*d, frag(w, 0, 16, true)) == nullptr);  // a duplicate adds no byte
    // Bytes 8..24: 8..16 already arrived (kept), 16..24 are new (taken).
    CHECK(add(*d, frag_bytes(w, 8, "XXXXXXXXYYYYYYYY", true)) == nullptr);
    const Reassembled* r = add(*d, frag(w, 16, 32, false));  // its 16..24 lose to the Ys
    REQUIRE(r != nullptr);
    std::string payload(reinterpret_cast<const char*>(r->frame) + 34, r->len - 34);
    std::string want(reinterpret_cast<const char*>(w.frame.data()) + 34, w.frame.size() - 34);
    want.replace(16, 8, "YYYYYYYY");
    CHECK(payload == want);
    CHECK(d->counters().reassembled == 1);
}

TEST_CASE("defrag: a datagram missing a fragment times out and is counted", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 0, 16, true), 1 * kSec) == nullptr);
    CHECK(add(*d, frag(w, 32, 16, false), 2 * kSec) == nullptr);
    d->expire(30 * kSec);
    CHECK(d->in_progress() == 1);  // 60 s from the first fragment
    d->expire(62 * kSec);
    CHECK(d->in_progress() == 0);
    CHECK(d->counters().timeouts == 1);
    // The late middle fragment starts a new datagram that cannot complete.
    CHECK(add(*d, frag(w, 16, 16, true), 63 * kSec) == nullptr);
    CHECK(d->counters().reassembled == 0);
    // A timed-out datagram is also reclaimed when its fragments come back.
    CHECK(add(*d, frag(w, 0, 16, true), 200 * kSec) == nullptr);
    CHECK(d->counters().timeouts == 2);
}

TEST_CASE("defrag: datagrams time out on elapsed time when the input clock steps back", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 0, 16, true, 7), 1'000'000 * kSec) == nullptr);
    // A capture taken 11 days earlier follows: another datagram starts.
    CHECK(add(*d, frag(w, 0, 16, true, 8), 100 * kSec) == nullptr);
    CHECK(d->in_progress() == 2);
    d->expire(159 * kSec);
    CHECK(d->in_progress() == 2);
    // 60 s of the new capture on, both have waited longer than the timeout
    // (the first used to wait until the capture's time passed its own).
    d->expire(161 * kSec);
    CHECK(d->in_progress() == 0);
    CHECK(d->counters().timeouts == 2);
}

TEST_CASE("defrag: a full table evicts its oldest datagram and counts it", "[flow][defrag]") {
    auto d = make_defrag(DefragConfig{.max_datagrams = 2});
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 0, 16, true, 1), 1 * kSec) == nullptr);
    CHECK(add(*d, frag(w, 0, 16, true, 2), 2 * kSec) == nullptr);
    CHECK(add(*d, frag(w, 0, 16, true, 3), 3 * kSec) == nullptr);
    CHECK(d->counters().evicted == 1);
    CHECK(d->in_progress() == 2);
    // id 1 lost its first fragment; id 3 completes.
    CHECK(add(*d, frag(w, 16, 32, false, 1), 4 * kSec) == nullptr);
    CHECK(d->counters().evicted == 2);  // id 1's new slot took id 2's
    const Reassembled* r = add(*d, frag(w, 16, 32, false, 3), 5 * kSec);
    REQUIRE(r != nullptr);
    CHECK(r->len == w.frame.size());
}

TEST_CASE("defrag: thousands of datagrams in flight, fragments in random order, each completes once",
          "[flow][defrag]") {
    // Exercises the key index: inserts, lookups and deletions in random
    // order (a lookup that stopped short after a deletion would start a
    // second datagram for the same key and never complete the first).
    auto d = make_defrag(DefragConfig{.max_datagrams = 4096});
    const Pkt w = whole_udp();
    constexpr uint32_t kN = 3000;
    std::vector<std::pair<uint32_t, bool>> events;  // (datagram, last fragment?)
    for (uint32_t i = 0; i < kN; i++) events.push_back({i, false}), events.push_back({i, true});
    std::mt19937 rng(7);
    std::shuffle(events.begin(), events.end(), rng);
    std::vector<int> seen(kN, 0);
    uint32_t done = 0;
    for (const auto& [i, last] : events) {
        const uint16_t id = static_cast<uint16_t>(1 + i % 60000);
        const uint32_t vni = 27 + i / 60000;
        const Pkt f = last ? frag(w, 16, 32, false, id, vni) : frag(w, 0, 16, true, id, vni);
        const Reassembled* r = add(*d, f, kSec);
        INFO("datagram " << i << (last ? " last" : " first") << " fragment, its " << seen[i] + 1 << ". one");
        CHECK((r != nullptr) == (++seen[i] == 2));
        done += r != nullptr;
    }
    CHECK(done == kN);
    CHECK(d->counters().reassembled == kN);
    CHECK(d->counters().evicted == 0);
    CHECK(d->in_progress() == 0);
}

TEST_CASE("defrag: a flood of first fragments evicts the oldest, one probe each", "[flow][defrag]") {
    auto d = make_defrag(DefragConfig{.max_datagrams = 4096});
    const Pkt w = whole_udp();
    constexpr uint32_t kN = 10000;
    auto key = [](uint32_t i) { return std::pair<uint16_t, uint32_t>(static_cast<uint16_t>(1 + i % 50000), 100 + i); };
    for (uint32_t i = 0; i < kN; i++) {
        auto [id, vni] = key(i);
        CHECK(add(*d, frag(w, 0, 16, true, id, vni), kSec + i) == nullptr);
    }
    CHECK(d->counters().evicted == kN - 4096);
    CHECK(d->in_progress() == 4096);
    // The newest datagram is still there and completes...
    auto [nid, nvni] = key(kN - 1);
    CHECK(add(*d, frag(w, 16, 32, false, nid, nvni), 2 * kSec) != nullptr);
    // ...the oldest was evicted: its last fragment starts a new datagram.
    auto [oid, ovni] = key(0);
    CHECK(add(*d, frag(w, 16, 32, false, oid, ovni), 2 * kSec) == nullptr);
    CHECK(d->in_progress() == 4096);
    // After the timeout every one goes, oldest first.
    d->expire(100 * kSec);
    CHECK(d->in_progress() == 0);
    CHECK(d->counters().timeouts == 4096);
}

TEST_CASE("defrag: datagrams of other VNIs or IP ids are kept apart", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    CHECK(add(*d, frag(w, 0, 16, true, 7, 27)) == nullptr);
    CHECK(add(*d, frag(w, 16, 32, false, 7, 28)) == nullptr);
    CHECK(add(*d, frag(w, 16, 32, false, 8, 27)) == nullptr);
    CHECK(d->in_progress() == 3);
    check_whole(add(*d, frag(w, 16, 32, false, 7, 27)), w);
}

TEST_CASE("defrag: hostile fragments are rejected and counted", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp();
    SECTION("ending past 65,535 bytes of datagram") {
        CHECK(add(*d, frag_bytes(w, 8191 * 8, "0123456789", false)) == nullptr);
        CHECK(d->counters().invalid == 1);
        CHECK(d->in_progress() == 0);
    }
    SECTION("zero length") {
        CHECK(add(*d, frag_bytes(w, 8, "", true)) == nullptr);
        CHECK(d->counters().invalid == 1);
        CHECK(d->in_progress() == 0);
    }
    SECTION("a second last fragment with another total; the first total stands") {
        CHECK(add(*d, frag(w, 32, 16, false)) == nullptr);
        CHECK(add(*d, frag_bytes(w, 48, "01234567", false)) == nullptr);  // total 56
        CHECK(add(*d, frag(w, 24, 16, false)) == nullptr);                // total 40
        CHECK(d->counters().invalid == 2);
        CHECK(add(*d, frag(w, 0, 16, true)) == nullptr);
        check_whole(add(*d, frag(w, 16, 16, true)), w);
    }
    SECTION("a fragment past a known total") {
        CHECK(add(*d, frag(w, 32, 16, false)) == nullptr);
        CHECK(add(*d, frag_bytes(w, 40, "0123456789abcdef", true)) == nullptr);
        CHECK(d->counters().invalid == 1);
    }
    SECTION("a fragment whose copy is cut short") {
        Pkt f = frag(w, 0, 16, true);
        f.frame.resize(f.frame.size() - 4);
        CHECK(add(*d, f) == nullptr);
        CHECK(d->counters().invalid == 1);
    }
    CHECK(d->counters().reassembled == (d->counters().invalid == 2 ? 1u : 0u));
}

TEST_CASE("defrag: create checks its limits", "[flow][defrag]") {
    CHECK_FALSE(Defrag::create(DefragConfig{.max_datagrams = 0}).has_value());
    CHECK_FALSE(Defrag::create(DefragConfig{.max_datagrams = 5000}).has_value());
    CHECK_FALSE(Defrag::create(DefragConfig{.max_datagrams = 4, .timeout_ns = 0}).has_value());
    auto d = Defrag::create(DefragConfig{.max_datagrams = 4});
    REQUIRE(d.has_value());
    CHECK((*d)->memory_bytes() >= 4u * 65535u);
}

// IPv6 (RFC 8200 s4.5): the same datagram, fragmented behind a fragment
// header whose 32-bit identification keys it.
using test::frag6;
using test::frag6_bytes;

namespace {

const Ep kCli6{{10, 0, 0, 1}, 40000};  // 2001:db8::a00:1
const Ep kSrv6{{10, 0, 0, 2}, 53};

// A UDP datagram with 40 payload bytes: 48 bytes of fragmentable part.
Pkt whole_udp6() { return test::udp6(kCli6, kSrv6, "0123456789abcdefghijklmnopqrstuvwxyzABCD"); }

// The reassembled frame equals the unfragmented one byte for byte: no
// fragment header left, next header and payload length as they were. With
// `hbh`, the first fragment's hop-by-hop header stays in front of the
// payload, naming UDP.
void check_whole6(const Reassembled* r, const Pkt& w, bool hbh = false) {
    REQUIRE(r != nullptr);
    std::vector<uint8_t> want = w.frame;
    if (hbh) {
        const uint8_t h[8] = {17, 0, 1, 4, 0, 0, 0, 0};
        want.insert(want.begin() + test::kIpv6Payload, h, h + 8);
        want[14 + 6] = 0;
        test::put16(want, 14 + 4, static_cast<uint16_t>(want.size() - test::kIpv6Payload));
    }
    std::vector<uint8_t> got(r->frame, r->frame + r->len);
    CHECK(got == want);
    CHECK(r->meta.vni == 27);
    CHECK(r->meta.tap_src == 0x0100a8c0);
    CHECK(r->meta.l3 == static_cast<uint8_t>(L3Type::kIpv6));
}

}  // namespace

TEST_CASE("defrag: IPv6 fragments in order make the packet once the last arrives", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp6();
    CHECK(add(*d, frag6(w, 0, 16, true)) == nullptr);
    CHECK(add(*d, frag6(w, 16, 16, true)) == nullptr);
    CHECK(d->in_progress() == 1);
    check_whole6(add(*d, frag6(w, 32, 16, false)), w);
    CHECK(d->in_progress() == 0);
    CHECK(d->counters().fragments == 3);
    CHECK(d->counters().reassembled == 1);
    CHECK(d->counters().invalid == 0);
}

TEST_CASE("defrag: IPv6 fragments out of order, the first one last", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp6();
    CHECK(add(*d, frag6(w, 32, 16, false)) == nullptr);
    CHECK(add(*d, frag6(w, 16, 16, true)) == nullptr);
    check_whole6(add(*d, frag6(w, 0, 16, true)), w);
    CHECK(d->counters().reassembled == 1);
}

TEST_CASE("defrag: IPv6 overlaps keep the first copy", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp6();
    CHECK(add(*d, frag6(w, 0, 16, true)) == nullptr);
    CHECK(add(*d, frag6(w, 0, 16, true)) == nullptr);  // a duplicate adds no byte
    CHECK(add(*d, frag6_bytes(w, 8, "XXXXXXXXYYYYYYYY", true)) == nullptr);
    const Reassembled* r = add(*d, frag6(w, 16, 32, false));  // its 16..24 lose to the Ys
    REQUIRE(r != nullptr);
    const size_t at = test::kIpv6Payload;
    std::string payload(reinterpret_cast<const char*>(r->frame) + at, r->len - at);
    std::string want(reinterpret_cast<const char*>(w.frame.data()) + at, w.frame.size() - at);
    want.replace(16, 8, "YYYYYYYY");
    CHECK(payload == want);
    CHECK(d->counters().reassembled == 1);
}

TEST_CASE("defrag: an IPv6 hop-by-hop header before the fragment header stays, naming the payload",
          "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp6();
    // Only the first fragment's unfragmentable part counts: later ones may
    // carry none.
    CHECK(add(*d, frag6(w, 32, 16, false)) == nullptr);
    CHECK(add(*d, frag6(w, 16, 16, true, 0x10007, 27, true)) == nullptr);
    const Reassembled* r = add(*d, frag6(w, 0, 16, true, 0x10007, 27, true));
    check_whole6(r, w, true);
    // And the frame parses as the UDP packet it was.
    wire::InnerInfo in;
    DropReason why;
    REQUIRE(wire::parse_inner(r->frame, r->len, r->len, in, why) == wire::Verdict::kPass);
    CHECK(in.l4_proto == 17);
    CHECK(in.l4_off == test::kIpv6Payload + 8);
    CHECK(!(in.flags & kFlagFragment));
    CHECK(in.end == r->len);
}

TEST_CASE("defrag: IPv6 datagrams of other identifications, VNIs or families are kept apart", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp6();
    CHECK(add(*d, frag6(w, 0, 16, true, 0x10007)) == nullptr);
    CHECK(add(*d, frag6(w, 16, 32, false, 0x20007)) == nullptr);  // same low 16 bits
    CHECK(add(*d, frag6(w, 16, 32, false, 0x10007, 28)) == nullptr);
    // An IPv4 datagram whose addresses and id share the first bytes.
    const Pkt w4 = whole_udp();
    CHECK(add(*d, frag(w4, 16, 32, false, 7)) == nullptr);
    CHECK(d->in_progress() == 4);
    check_whole6(add(*d, frag6(w, 16, 32, false, 0x10007)), w);
}

TEST_CASE("defrag: hostile IPv6 fragments are rejected and counted", "[flow][defrag]") {
    auto d = make_defrag();
    const Pkt w = whole_udp6();
    SECTION("ending past 65,535 bytes of fragmentable part") {
        CHECK(add(*d, frag6_bytes(w, 8191 * 8, "0123456789", false)) == nullptr);
        CHECK(d->counters().invalid == 1);
        CHECK(d->in_progress() == 0);
    }
    SECTION("zero length") {
        CHECK(add(*d, frag6_bytes(w, 8, "", true)) == nullptr);
        CHECK(d->counters().invalid == 1);
        CHECK(d->in_progress() == 0);
    }
    SECTION("a non-last fragment whose length is not a multiple of 8") {
        CHECK(add(*d, frag6(w, 0, 12, true)) == nullptr);
        CHECK(d->counters().invalid == 1);
        CHECK(d->in_progress() == 0);
        // The same length is fine on the last fragment.
        CHECK(add(*d, frag6(w, 0, 16, true)) == nullptr);
        CHECK(add(*d, frag6(w, 16, 16, true)) == nullptr);
        check_whole6(add(*d, frag6(w, 32, 16, false)), w);
    }
    SECTION("a second last fragment with another total; the first total stands") {
        CHECK(add(*d, frag6(w, 32, 16, false)) == nullptr);
        CHECK(add(*d, frag6_bytes(w, 48, "01234567", false)) == nullptr);  // total 56
        CHECK(add(*d, frag6(w, 24, 16, false)) == nullptr);                // total 40
        CHECK(d->counters().invalid == 2);
        CHECK(add(*d, frag6(w, 0, 16, true)) == nullptr);
        check_whole6(add(*d, frag6(w, 16, 16, true)), w);
    }
    SECTION("a fragment past a known total") {
        CHECK(add(*d, frag6(w, 32, 16, false)) == nullptr);
        CHECK(add(*d, frag6_bytes(w, 40, "0123456789abcdef", true)) == nullptr);
        CHECK(d->counters().invalid == 1);
    }
    SECTION("a fragment whose copy is cut short") {
        Pkt f = frag6(w, 0, 16, true);
        f.frame.resize(f.frame.size() - 4);
        CHECK(add(*d, f) == nullptr);
        CHECK(d->counters().invalid == 1);
    }
    SECTION("no fragment header where the flags say fragment") {
        Pkt f = frag6(w, 0, 16, true);
        f.frame[14 + 6] = 60;  // destination options, whose own next header (17) ends the chain
        CHECK(add(*d, f) == nullptr);
        CHECK(d->counters().invalid == 1);
    }
}
