// FlowTable without TCP reassembly: one flow per conversation, client and
// server orientation, counters, flow ids, eviction, timeouts, the close hook,
// index integrity under churn and the memory a large table reports.
#include <catch2/catch.hpp>

#include <deque>
#include <set>

#include "flow/flow_table.hpp"
#include "tests/flow/flow_frames.hpp"

using namespace vtap;
using namespace vtap::flow;
using test::Ep;

namespace {

constexpr uint8_t kSyn = kTcpSyn;
constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;
constexpr uint8_t kAck = kTcpAck;
constexpr uint64_t kSec = 1'000'000'000;

std::unique_ptr<FlowTable> make_table(FlowConfig cfg = {}) {
    if (cfg.capacity == 65536) cfg.capacity = 1024;
    if (cfg.segment_pool_bytes == (16u << 20)) cfg.segment_pool_bytes = 64 * 1024;
    auto t = FlowTable::create(cfg);
    REQUIRE(t.has_value());
    return std::move(*t);
}

Ep host(uint8_t last, uint16_t port) { return Ep{{198, 18, 0, last}, port}; }

struct CloseLog {
    std::vector<std::pair<uint64_t, CloseReason>> closed;
    static void hook(void* ctx, Flow& f, CloseReason why) noexcept {
        static_cast<CloseLog*>(ctx)->closed.emplace_back(f.flow_id, why);
    }
};

}  // namespace

TEST_CASE("flow table maps both directions of a TCP connection to one flow, client from the SYN", "[flow]") {
    auto t = make_table();
    // Both address orders: the client may sort above or below the server.
    for (const auto& [client, server] : {std::pair{host(10, 40000), host(20, 80)},
                                         std::pair{host(30, 40000), host(20, 80)}}) {
        const test::Pkt s = test::tcp(client, server, 100, 0, kSyn);
        const Lookup syn = t->lookup_or_create(s.frame.data(), s.meta, kSec);
        const test::Pkt sa = test::tcp(server, client, 500, 101, kSynAck);
        const Lookup back = t->lookup_or_create(sa.frame.data(), sa.meta, kSec);
        REQUIRE(syn.flow != nullptr);
        CHECK(syn.created);
        CHECK(syn.dir == Direction::kToServer);
        CHECK(back.flow == syn.flow);
        CHECK_FALSE(back.created);
        CHECK(back.dir == Direction::kToClient);
        CHECK(syn.flow->proto == IPPROTO_TCP);
    }
    CHECK(t->counters().created.get() == 2);
    CHECK(t->counters().active.get() == 2);
    CHECK(t->counters().midstream_pickups.get() == 0);
}

TEST_CASE("flow table makes a SYN/ACK's sender the server when the SYN was missed", "[flow]") {
    auto t = make_table();
    test::Driver d{*t};
    const Lookup sa = d.feed(test::tcp(host(20, 80), host(10, 40000), 500, 101, kSynAck));
    CHECK(sa.dir == Direction::kToClient);
    const Lookup ack = d.feed(test::tcp(host(10, 40000), host(20, 80), 101, 501, kAck));
    CHECK(ack.flow == sa.flow);
    CHECK(ack.dir == Direction::kToServer);
    CHECK(sa.flow->state == FlowState::kEstablished);
    CHECK(t->counters().midstream_pickups.get() == 0);
}

TEST_CASE("flow table picks up a mid-stream TCP flow with the lower port as the server", "[flow]") {
    auto t = make_table();
    test::Driver d{*t};
    // First packet seen is the server's answer: 443 -> 51000.
    const Lookup a = d.feed(test::tcp(host(20, 443), host(10, 51000), 7000, 3000, kAck | kTcpPsh, "HTTP/1.1 200"));
    CHECK(a.created);
    CHECK(a.dir == Direction::kToClient);
    CHECK((a.flow->flags & kFlowMidstream) != 0);
    CHECK(a.flow->state == FlowState::kEstablished);
    const Lookup b = d.feed(test::tcp(host(10, 51000), host(20, 443), 3000, 7012, kAck, "GET"));
    CHECK(b.flow == a.flow);
    CHECK(b.dir == Direction::kToServer);
    // Both ephemeral: the lower one still serves.
    const Lookup c = d.feed(test::tcp(host(11, 40000), host(21, 50000), 1, 1, kAck));
    CHECK(c.dir == Direction::kToClient);
    CHECK(t->counters().midstream_pickups.get() == 2);
    // Mid-stream pick-up delivers from the first byte seen.
    CHECK(d.out.to_client() == "HTTP/1.1 200");
    CHECK(d.out.to_server() == "GET");
}

TEST_CASE("flow table with mid-stream pick-up off tracks but does not reassemble a SYN-less flow", "[flow]") {
    FlowConfig cfg;
    cfg.midstream = false;
    auto t = make_table(cfg);
    test::Driver d{*t};
    const Lookup a = d.feed(test::tcp(host(10, 51000), host(20, 443), 3000, 7000, kAck, "GET /"));
    REQUIRE(a.flow != nullptr);
    CHECK((a.flow->flags & kFlowUntracked) != 0);
    CHECK(d.out.to_server().empty());
    CHECK(t->counters().untracked_segments.get() == 1);
    CHECK(t->counters().midstream_pickups.get() == 0);
    CHECK(t->counters().reassembled_bytes.get() == 0);
}

TEST_CASE("flow table orients UDP by ports and ICMP by message type", "[flow]") {
    auto t = make_table();
    // A DNS answer seen before its query: port 53 serves.
    const test::Pkt ans = test::udp(host(53, 53), host(10, 51000));
    const Lookup u = t->lookup_or_create(ans.frame.data(), ans.meta, kSec);
    CHECK(u.dir == Direction::kToClient);
    CHECK(u.flow->cls == TimeoutClass::kUdp);
    const test::Pkt q = test::udp(host(10, 51000), host(53, 53));
    CHECK(t->lookup_or_create(q.frame.data(), q.meta, kSec).dir == Direction::kToServer);
    // An echo reply seen first: its sender is the server.
    const test::Pkt reply = test::icmp(host(20, 7), host(10, 7), 0);
    const Lookup i = t->lookup_or_create(reply.frame.data(), reply.meta, kSec);
    CHECK(i.dir == Direction::kToClient);
    CHECK(i.flow->cls == TimeoutClass::kIcmp);
    const test::Pkt req = test::icmp(host(10, 7), host(20, 7), 8);
    const Lookup i2 = t->lookup_or_create(req.frame.data(), req.meta, kSec);
    CHECK(i2.flow == i.flow);
    CHECK(i2.dir == Direction::kToServer);
}

TEST_CASE("flow table counts packets and IP bytes per direction", "[flow]") {
    auto t = make_table();
    test::Driver d{*t};
    d.feed(test::tcp(host(10, 40000), host(20, 80), 100, 0, kSyn));                  // 40 IP bytes
    d.feed(test::tcp(host(20, 80), host(10, 40000), 500, 101, kSynAck));             // 40
    const Lookup l = d.feed(test::tcp(host(10, 40000), host(20, 80), 101, 501, kAck, "hello"));  // 45
    CHECK(l.flow->dir[0].packets == 2);
    CHECK(l.flow->dir[0].bytes == 85);
    CHECK(l.flow->dir[1].packets == 1);
    CHECK(l.flow->dir[1].bytes == 40);
}

TEST_CASE("flow table gives IPv6 flows one entry for both directions", "[flow]") {
    auto t = make_table();
    test::Driver d{*t};
    const Lookup a = d.feed(test::tcp(host(10, 40000), host(20, 80), 1, 0, kSyn, {}, true));
    const Lookup b = d.feed(test::tcp(host(20, 80), host(10, 40000), 9, 2, kSynAck, {}, true));
    CHECK(a.flow == b.flow);
    CHECK(a.dir == Direction::kToServer);
    CHECK(b.dir == Direction::kToClient);
    CHECK(a.flow->key.family == 6);
}

TEST_CASE("flow table ids are distinct, stable and carry the worker", "[flow]") {
    FlowConfig cfg;
    cfg.worker = 3;
    auto t = make_table(cfg);
    std::set<uint64_t> ids;
    for (uint16_t p = 1; p <= 100; p++) {
        const test::Pkt u = test::udp(host(10, static_cast<uint16_t>(40000 + p)), host(20, 53));
        const Lookup l = t->lookup_or_create(u.frame.data(), u.meta, kSec);
        CHECK(l.flow->flow_id >> 46 == 3);
        CHECK(l.flow->flow_id < (uint64_t{1} << 53));
        ids.insert(l.flow->flow_id);
        const Lookup again = t->lookup_or_create(u.frame.data(), u.meta, 2 * kSec);
        CHECK(again.flow->flow_id == l.flow->flow_id);
    }
    CHECK(ids.size() == 100);
}

TEST_CASE("flow table evicts the least recently seen flow when full", "[flow]") {
    FlowConfig cfg;
    cfg.capacity = 4;
    CloseLog log;  // outlives the table: its destructor calls the hook
    auto t = make_table(cfg);
    t->set_close_hook(&CloseLog::hook, &log);
    std::vector<test::Pkt> pk;
    std::vector<uint64_t> id;
    for (uint16_t i = 0; i < 5; i++) pk.push_back(test::udp(host(10, static_cast<uint16_t>(1000 + i)), host(20, 53)));
    for (int i = 0; i < 4; i++) id.push_back(t->lookup_or_create(pk[i].frame.data(), pk[i].meta, (1 + i) * kSec).flow->flow_id);
    // Flow 0 is seen again, so flow 1 becomes the oldest idle one.
    CHECK_FALSE(t->lookup_or_create(pk[0].frame.data(), pk[0].meta, 5 * kSec).created);
    const Lookup fifth = t->lookup_or_create(pk[4].frame.data(), pk[4].meta, 6 * kSec);
    REQUIRE(fifth.flow != nullptr);
    CHECK(fifth.created);
    CHECK(t->counters().evicted.get() == 1);
    REQUIRE(log.closed.size() == 1);
    CHECK(log.closed[0].first == id[1]);
    CHECK(log.closed[0].second == CloseReason::kEvicted);
    CHECK(t->active() == 4);
    // Flows 0, 2, 3 are still there.
    for (int i : {0, 2, 3})
        CHECK_FALSE(t->lookup_or_create(pk[i].frame.data(), pk[i].meta, 7 * kSec).created);
    CHECK(t->counters().table_full.get() == 0);
}

namespace {
// A table and three UDP conversations to fill it.
struct UdpFlows {
    std::unique_ptr<FlowTable> t;
    const test::Pkt a = test::udp(host(10, 1000), host(20, 53));
    const test::Pkt b = test::udp(host(10, 1001), host(20, 53));
    const test::Pkt c = test::udp(host(10, 1002), host(20, 53));
    explicit UdpFlows(const FlowConfig& cfg) : t(make_table(cfg)) {}
    Lookup feed(const test::Pkt& p, uint64_t now_ns) { return t->lookup_or_create(p.frame.data(), p.meta, now_ns); }
};

// Two flows, and only a flow idle for 10 s is evicted.
FlowConfig two_slots() {
    FlowConfig cfg;
    cfg.capacity = 2;
    cfg.evict_min_idle_ns = 10 * kSec;
    return cfg;
}

FlowConfig udp_timeout(uint64_t ns) {
    FlowConfig cfg;
    cfg.timeouts.udp = ns;
    return cfg;
}
}  // namespace

TEST_CASE("flow table refuses a new flow rather than evict one busier than evict_min_idle", "[flow]") {
    UdpFlows s(two_slots());
    s.feed(s.a, 1 * kSec);
    s.feed(s.b, 2 * kSec);
    const Lookup refused = s.feed(s.c, 5 * kSec);
    CHECK(refused.flow == nullptr);
    CHECK(s.t->counters().table_full.get() == 1);
    CHECK(s.t->counters().evicted.get() == 0);
    const Lookup later = s.feed(s.c, 11 * kSec);
    CHECK(later.flow != nullptr);
    CHECK(s.t->counters().evicted.get() == 1);
}

TEST_CASE("flow table expires flows by their state's timeout, at most budget per call", "[flow]") {
    FlowConfig cfg;
    cfg.timeouts.tcp_new = 5 * kSec;
    cfg.timeouts.tcp_established = 100 * kSec;
    cfg.timeouts.udp = 10 * kSec;
    CloseLog log;  // outlives the table: its destructor calls the hook
    auto t = make_table(cfg);
    t->set_close_hook(&CloseLog::hook, &log);
    test::Driver d{*t};
    d.now_ns = 0;
    const Lookup syn = d.feed(test::tcp(host(10, 40000), host(20, 80), 1, 0, kSyn));
    const Lookup est = d.feed(test::tcp(host(11, 40000), host(20, 80), 1, 1, kAck, "x"));
    for (uint16_t i = 0; i < 5; i++) d.feed(test::udp(host(12, static_cast<uint16_t>(2000 + i)), host(20, 53)));
    CHECK(est.flow->cls == TimeoutClass::kTcpEstablished);
    CHECK(t->active() == 7);

    CHECK(t->expire(4 * kSec, 100) == 0);
    CHECK(t->expire(6 * kSec, 100) == 1);  // the SYN-only flow
    REQUIRE(log.closed.size() == 1);
    CHECK(log.closed[0].second == CloseReason::kTimeout);
    (void)syn;
    CHECK(t->expire(11 * kSec, 2) == 2);   // UDP, budget-limited
    CHECK(t->expire(11 * kSec, 2) == 2);
    CHECK(t->expire(11 * kSec, 2) == 1);
    CHECK(t->expire(99 * kSec, 100) == 0);
    CHECK(t->active() == 1);
    CHECK(t->expire(100 * kSec, 100) == 1);
    CHECK(t->counters().timed_out.get() == 7);
    CHECK(t->counters().active.get() == 0);
}

TEST_CASE("flow table keeps an idle flow that keeps getting packets", "[flow]") {
    FlowConfig cfg;
    cfg.timeouts.udp = 10 * kSec;
    auto t = make_table(cfg);
    const test::Pkt a = test::udp(host(10, 1000), host(20, 53));
    for (uint64_t s = 0; s <= 50; s += 5) {
        t->lookup_or_create(a.frame.data(), a.meta, s * kSec);
        CHECK(t->expire(s * kSec + 9 * kSec, 10) == 0);
    }
    CHECK(t->counters().created.get() == 1);
}

// Captures merged from several taken at different times (the ndpi mix steps
// back 64 times) and NTP steps on a live collector feed times that go back.
TEST_CASE("flow table ages flows on elapsed time when the input clock steps back", "[flow]") {
    UdpFlows s(udp_timeout(10 * kSec));
    s.feed(s.a, 1'000'000 * kSec);
    // The next capture was taken 11 days earlier.
    const uint64_t t1 = 50 * kSec;
    s.feed(s.b, t1);
    CHECK(s.t->counters().clock_steps_back.get() == 1);
    CHECK(s.t->expire(t1 + 9 * kSec, 10) == 0);
    // 10 s of the new capture later both are idle past the timeout: b was
    // seen 10 s ago, a 10 s before the step. Without the elapsed clock a,
    // "seen in the future", held expiry of everything behind it.
    CHECK(s.t->expire(t1 + 10 * kSec, 10) == 2);
    CHECK(s.t->counters().timed_out.get() == 2);
    CHECK(s.t->active() == 0);
}

TEST_CASE("flow table still evicts for a new flow after the input clock stepped back", "[flow]") {
    UdpFlows s(two_slots());
    s.feed(s.a, 1'000'000 * kSec);
    s.feed(s.b, 100 * kSec);  // stepped back
    CHECK(s.feed(s.c, 105 * kSec).flow == nullptr);  // both busier than 10 s
    const Lookup later = s.feed(s.c, 111 * kSec);
    REQUIRE(later.flow != nullptr);  // a, idle longest, made room
    CHECK(s.t->counters().evicted.get() == 1);
    CHECK_FALSE(s.feed(s.b, 112 * kSec).created);
}

TEST_CASE("flow table's clock does not run ahead when packets arrive slightly out of time order", "[flow]") {
    // Two RX queues' packets interleaved, one queue 0.5 s behind the other:
    // small steps back are no progress, not a rebase each (which would add
    // 0.5 s per reorder and time the flow out after ~20 s of real time).
    UdpFlows s(udp_timeout(60 * kSec));
    const uint64_t t0 = 1000 * kSec;
    s.feed(s.b, t0);
    for (uint64_t ms = 0; ms <= 50'000; ms += 100) {
        s.feed(s.a, t0 + ms * 1'000'000);
        s.feed(s.a, t0 + ms * 1'000'000 - kSec / 2);
    }
    CHECK(s.t->counters().clock_steps_back.get() == 0);
    // 59 s after b's only packet: not yet idle for its 60 s.
    CHECK(s.t->expire(t0 + 59 * kSec, 10) == 0);
    CHECK(s.t->expire(t0 + 60 * kSec, 10) == 1);
}

TEST_CASE("flow table hands every flow and its user slots to the close hook at teardown", "[flow]") {
    int freed = 0;
    struct Ctx {
        int* freed;
        static void hook(void* c, Flow& f, CloseReason why) noexcept {
            if (why != CloseReason::kTeardown) return;
            for (void*& u : f.user)
                if (u) { delete static_cast<int*>(u); (*static_cast<Ctx*>(c)->freed)++; }
        }
    } ctx{&freed};
    {
        auto t = make_table();
        t->set_close_hook(&Ctx::hook, &ctx);
        for (uint16_t i = 0; i < 3; i++) {
            const test::Pkt u = test::udp(host(10, static_cast<uint16_t>(1000 + i)), host(20, 53));
            Flow* f = t->lookup_or_create(u.frame.data(), u.meta, kSec).flow;
            f->user[0] = new int(1);
            f->user[1] = new int(2);
        }
    }
    CHECK(freed == 6);
}

TEST_CASE("flow table reopens a closed TCP flow as a new one when its tuple sends a SYN", "[flow]") {
    CloseLog log;  // outlives the table: its destructor calls the hook
    auto t = make_table();
    t->set_close_hook(&CloseLog::hook, &log);
    test::Driver d{*t};
    const Lookup a = d.feed(test::tcp(host(10, 40000), host(20, 80), 100, 0, kSyn));
    const uint64_t first_id = a.flow->flow_id;
    d.feed(test::tcp(host(20, 80), host(10, 40000), 0, 101, kTcpRst | kAck));
    CHECK(a.flow->state == FlowState::kClosed);
    const Lookup b = d.feed(test::tcp(host(10, 40000), host(20, 80), 9000, 0, kSyn));
    CHECK(b.created);
    CHECK(b.flow->flow_id != first_id);
    CHECK(b.flow->state == FlowState::kNew);
    REQUIRE(log.closed.size() == 1);
    CHECK(log.closed[0].second == CloseReason::kReused);
    CHECK(t->active() == 1);
}

TEST_CASE("flow table finds every live flow after heavy churn through a small index", "[flow]") {
    FlowConfig cfg;
    cfg.capacity = 64;  // 128 slots: long probe runs, many backward shifts
    auto t = make_table(cfg);
    std::deque<test::Pkt> live;
    uint64_t now = kSec;
    for (uint32_t i = 0; i < 5000; i++) {
        const Ep src{{10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 1}, static_cast<uint16_t>(1024 + i % 7)};
        live.push_back(test::udp(src, host(20, 53)));
        const Lookup l = t->lookup_or_create(live.back().frame.data(), live.back().meta, ++now);
        REQUIRE(l.created);
        if (live.size() > 64) live.pop_front();
        if (i % 97 == 0) {
            // Lookups touch the flows in insertion order, keeping the LRU order.
            for (const test::Pkt& p : live) REQUIRE_FALSE(t->lookup_or_create(p.frame.data(), p.meta, ++now).created);
        }
    }
    CHECK(t->counters().evicted.get() == 5000 - 64);
    CHECK(t->active() == 64);
}

TEST_CASE("flow table of one million flows reports its memory per flow", "[flow][memory]") {
    FlowConfig cfg;
    cfg.capacity = 1u << 20;
    cfg.segment_pool_bytes = 64u << 20;
    auto t = FlowTable::create(cfg);
    REQUIRE(t.has_value());
    const FlowTable& tab = **t;
    WARN("1M-flow table: " << tab.bytes_per_flow() << " bytes/flow, "
         << (tab.memory_bytes() - tab.segment_pool_bytes()) / (1 << 20) << " MiB flows+index, "
         << tab.segment_pool_bytes() / (1 << 20) << " MiB segment pool");
    CHECK(tab.bytes_per_flow() <= 512);
    CHECK(tab.bytes_per_flow() == sizeof(Flow) + 16);
    CHECK(tab.memory_bytes() == (size_t{1} << 20) * (sizeof(Flow) + 16) + (64u << 20));
    CHECK(tab.pieces_free() == (64u << 20) / 512);
}

TEST_CASE("flow table rejects a configuration it cannot honour", "[flow]") {
    FlowConfig cfg;
    cfg.capacity = 0;
    auto a = FlowTable::create(cfg);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error().what.find("capacity") != std::string::npos);
    cfg.capacity = 10;
    cfg.worker = 200;
    CHECK_FALSE(FlowTable::create(cfg).has_value());
    cfg.worker = 0;
    cfg.max_seq_ahead = 0x80000000u;
    CHECK_FALSE(FlowTable::create(cfg).has_value());
}

TEST_CASE("flow table prefetch hint names the packet's flow, or none for an unseen hash", "[flow]") {
    auto t = make_table();
    std::vector<test::Pkt> pkts;
    for (uint8_t i = 0; i < 200; i++) pkts.push_back(test::udp(host(i, 5000 + i), host(250, 53)));
    std::vector<const Flow*> flows;
    for (const test::Pkt& p : pkts) flows.push_back(t->lookup_or_create(p.frame.data(), p.meta, kSec).flow);
    size_t named = 0;
    for (size_t i = 0; i < pkts.size(); i++) {
        const Flow* hint = t->prefetch_flow(pkts[i].meta.flow_hash);
        // A hint compares hashes, not keys, and looks at a few slots only:
        // when it names a flow, that flow carries the hash.
        if (hint) {
            CHECK(hint->hash == pkts[i].meta.flow_hash);
            named += hint == flows[i];
        }
    }
    // 200 flows in 2,048 slots: nearly every flow sits in its home slot or the next.
    CHECK(named >= 190);
    uint32_t unseen = 0x9e3779b9u;
    for (const test::Pkt& p : pkts) CHECK(p.meta.flow_hash != unseen);
    CHECK(t->prefetch_flow(unseen) == nullptr);
}
