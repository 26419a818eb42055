// exception_burst with real mbufs and a real ring: decap's non-VTAP frames
// are queued for the kernel when the forward table matches, freed and
// counted when it does not, when they are our own transmissions, or when
// the ring is full.
#include <catch2/catch.hpp>

#include <cstring>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "runtime/exception_path.hpp"
#include "support/mbufs.hpp"

using namespace vtap;
using vtap::config::ForwardKind;

namespace {

const uint8_t kOwnMac[6] = {0x02, 0, 0, 0, 0, 0x99};

// dst broadcast, src `src_last` as the MAC's last byte, EtherType, then 46
// bytes of IPv4 (protocol `proto`, TCP/UDP destination port `dport`).
std::vector<uint8_t> frame(uint16_t type, uint8_t proto = 0, uint16_t dport = 0, uint8_t src_last = 0x01) {
    std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, src_last,
                              uint8_t(type >> 8), uint8_t(type)};
    std::vector<uint8_t> ip(46, 0);
    ip[0] = 0x45;
    ip[9] = proto;
    ip[22] = uint8_t(dport >> 8);
    ip[23] = uint8_t(dport);
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

struct Fixture {
    rte_mempool* pool = test::make_pool("exc_burst_pool", 255);
    rte_ring* ring = rte_ring_create("exc_burst_ring", 4, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    runtime::ForwardTable table = runtime::ForwardTable::from(
        {{ForwardKind::kEtherType, 0x0806, "arp"}, {ForwardKind::kTcpPort, 8081, "tcp:8081"}});
    runtime::ExceptionRx x;

    Fixture() {
        std::memcpy(table.own_mac, kOwnMac, 6);
        x.ring = ring;
        x.table = &table;
    }
    ~Fixture() {
        void* m;
        while (rte_ring_dequeue(ring, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(ring);
        rte_mempool_free(pool);
    }
    void push(Burst& b, const std::vector<uint8_t>& f) { b.push(test::make_mbuf(pool, f)); }
};

}  // namespace

TEST_CASE("exception_burst queues matching frames and frees the others, counting each", "[runtime][exception][eal]") {
    Fixture fx;
    Burst sink;
    sink.n = 0;
    fx.push(sink, frame(0x0806));                   // ARP: queued
    fx.push(sink, frame(0x0800, 6, 8081));          // the health probe: queued
    fx.push(sink, frame(0x0800, 6, 80));            // TCP to another port: freed
    fx.push(sink, frame(0x0806, 0, 0, 0x99));       // our own ARP seen again: freed
    runtime::exception_burst(sink, fx.x);
    CHECK(sink.n == 0);
    CHECK(rte_ring_count(fx.ring) == 2);
    CHECK(fx.x.ctr.queued.get() == 2);
    CHECK(fx.x.ctr.matched[0].get() == 1);
    CHECK(fx.x.ctr.matched[1].get() == 1);
    CHECK(fx.x.ctr.not_forwarded.get() == 1);
    CHECK(fx.x.ctr.own_frames.get() == 1);
    CHECK(fx.x.ctr.ring_full.get() == 0);
    // Two mbufs sit in the ring; the freed two are back in the pool.
    CHECK(rte_mempool_in_use_count(fx.pool) == 2);
}

TEST_CASE("exception_burst frees and counts what a full ring cannot take", "[runtime][exception][eal]") {
    Fixture fx;  // ring of 4 holds 3
    Burst sink;
    sink.n = 0;
    for (int i = 0; i < 5; i++) fx.push(sink, frame(0x0806));
    runtime::exception_burst(sink, fx.x);
    CHECK(fx.x.ctr.queued.get() == 3);
    CHECK(fx.x.ctr.ring_full.get() == 2);
    CHECK(rte_mempool_in_use_count(fx.pool) == 3);
}
