#include "runtime/exception_path.hpp"

#include <cstring>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "drivers/kernel_iface.hpp"

namespace vtap::runtime {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr unsigned kControlBurst = 32;
constexpr unsigned kControlRounds = 8;  // bursts per direction per poll()

inline uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

ForwardTable ForwardTable::from(const std::vector<config::ForwardEntry>& fwd) {
    ForwardTable t;
    for (const auto& f : fwd) {
        if (t.n == kMaxForward) break;  // config refuses more
        t.e[t.n++] = {f.kind, f.value};
    }
    return t;
}

int classify(const uint8_t* f, uint32_t len, const ForwardTable& t) noexcept {
    if (len < 14) return -1;
    uint32_t l3 = 14;
    uint16_t type = be16(f + 12);
    if ((type == 0x8100 || type == 0x88A8) && len >= 18) {
        type = be16(f + 16);
        l3 = 18;
    }
    int proto = -1, dport = -1;
    if (type == kEtherIpv4 && len >= l3 + 20 && (f[l3] >> 4) == 4) {
        const uint32_t ihl = (f[l3] & 0xF) * 4u;
        proto = f[l3 + 9];
        const bool first_fragment = (be16(f + l3 + 6) & 0x1FFF) == 0;
        if (first_fragment && ihl >= 20 && len >= l3 + ihl + 4) dport = be16(f + l3 + ihl + 2);
    }
    for (uint8_t i = 0; i < t.n; i++) {
        const auto& e = t.e[i];
        switch (e.kind) {
            case config::ForwardKind::kEtherType:
                if (type == e.value) return i;
                break;
            case config::ForwardKind::kIpProto:
                if (proto == e.value) return i;
                break;
            case config::ForwardKind::kTcpPort:
                if (proto == 6 && dport == e.value) return i;
                break;
            case config::ForwardKind::kUdpPort:
                if (proto == 17 && dport == e.value) return i;
                break;
        }
    }
    return -1;
}

void exception_burst(Burst& sink, ExceptionRx& x) noexcept {
    rte_mbuf* keep[kMaxBurst];
    rte_mbuf* drop[kMaxBurst];
    uint16_t nk = 0, nd = 0;
    for (uint16_t i = 0; i < sink.n; i++) {
        rte_mbuf* m = sink.pkts[i];
        const auto* f = rte_pktmbuf_mtod(m, const uint8_t*);
        if (m->data_len >= 12 && std::memcmp(f + 6, x.table->own_mac, 6) == 0) {
            x.ctr.own_frames.add();
            drop[nd++] = m;
            continue;
        }
        const int k = classify(f, m->data_len, *x.table);
        if (k < 0) {
            x.ctr.not_forwarded.add();
            drop[nd++] = m;
            continue;
        }
        x.ctr.matched[static_cast<size_t>(k)].add();
        keep[nk++] = m;
    }
    if (nk) {
        const unsigned q = rte_ring_enqueue_burst(x.ring, reinterpret_cast<void* const*>(keep), nk, nullptr);
        x.ctr.queued.add(q);
        for (unsigned i = q; i < nk; i++) drop[nd++] = keep[i];
        x.ctr.ring_full.add(nk - q);
    }
    if (nd) rte_pktmbuf_free_bulk(drop, nd);
    sink.n = 0;
}

Result<std::unique_ptr<ExceptionPath>> ExceptionPath::create(const config::ExceptionConfig& cfg, uint16_t data_port,
                                                              unsigned tap_index, rte_mempool* pool,
                                                              bool multi_producer, int socket) {
    std::unique_ptr<ExceptionPath> x(new ExceptionPath());
    x->cfg_ = cfg;
    x->data_port_ = data_port;
    x->table_ = ForwardTable::from(cfg.forward);
    rte_ether_addr mac{};
    if (int rc = rte_eth_macaddr_get(data_port, &mac); rc != 0)
        return fail("exception", "cannot read the data port's MAC: " + std::string(rte_strerror(-rc)));
    std::memcpy(x->table_.own_mac, mac.addr_bytes, 6);
    char mac_text[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac_text, sizeof mac_text, &mac);

    config::PortConfig pc;
    pc.driver = "tap";
    pc.name = "exception";
    pc.iface = cfg.tap_name;
    pc.mac = mac_text;
    pc.rx_queues = 1;
    pc.rx_descriptors = 256;
    auto h = drivers::open_port(pc, tap_index, pool);
    if (!h) return fail("exception tap '" + cfg.tap_name + "'", h.error().to_string());
    x->tap_ = *h;
    x->tap_open_ = true;
    if (!cfg.address.empty())
        if (auto r = drivers::set_kernel_ipv4(cfg.tap_name, cfg.address); !r)
            return fail("exception", r.error().to_string());

    const unsigned flags = RING_F_SC_DEQ | (multi_producer ? 0 : RING_F_SP_ENQ);
    x->ring_ = rte_ring_create("vtap_exception", cfg.ring_size, socket, flags);
    if (!x->ring_) return fail("exception", "cannot create ring: " + std::string(rte_strerror(rte_errno)));
    return x;
}

ExceptionPath::~ExceptionPath() {
    if (ring_) {
        void* m;
        while (rte_ring_dequeue(ring_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(ring_);
    }
    if (tap_open_) drivers::close_port(tap_);  // removes the kernel interface
}

void ExceptionPath::poll() noexcept {
    rte_mbuf* pkts[kControlBurst];
    for (unsigned round = 0; round < kControlRounds; round++) {
        const unsigned n = rte_ring_dequeue_burst(ring_, reinterpret_cast<void**>(pkts), kControlBurst, nullptr);
        if (n == 0) break;
        const uint16_t sent = rte_eth_tx_burst(tap_.port_id, 0, pkts, static_cast<uint16_t>(n));
        to_kernel_.add(sent);
        if (sent < n) {
            rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            to_kernel_dropped_.add(n - sent);
        }
    }
    for (unsigned round = 0; round < kControlRounds; round++) {
        const uint16_t n = rte_eth_rx_burst(tap_.port_id, 0, pkts, kControlBurst);
        if (n == 0) break;
        from_kernel_.add(n);
        const uint16_t sent = rte_eth_tx_burst(data_port_, 0, pkts, n);
        tx_.add(sent);
        if (sent < n) {
            rte_pktmbuf_free_bulk(pkts + sent, n - sent);
            tx_dropped_.add(n - sent);
        }
    }
}

void ExceptionPath::append_stats(StatsSnapshot& s, const std::vector<const ExceptionRxCounters*>& rx) const {
    ExceptionRxCounters sum;
    for (const auto* c : rx) {
        sum.queued.add(c->queued.get());
        sum.not_forwarded.add(c->not_forwarded.get());
        sum.own_frames.add(c->own_frames.get());
        sum.ring_full.add(c->ring_full.get());
        for (size_t i = 0; i < kMaxForward; i++) sum.matched[i].add(c->matched[i].get());
    }
    s.add("exception.queued", sum.queued.get());
    s.add("exception.not_forwarded", sum.not_forwarded.get());
    s.add("exception.own_frames", sum.own_frames.get());
    s.add("exception.ring_full", sum.ring_full.get());
    s.add("exception.to_kernel", to_kernel_.get());
    s.add("exception.to_kernel_dropped", to_kernel_dropped_.get());
    s.add("exception.from_kernel", from_kernel_.get());
    s.add("exception.tx", tx_.get());
    s.add("exception.tx_dropped", tx_dropped_.get());
    // "tcp:22" -> exception.forward.tcp_22 (telemetry allows no ':').
    for (size_t i = 0; i < cfg_.forward.size() && i < kMaxForward; i++) {
        std::string name = cfg_.forward[i].text;
        for (char& ch : name)
            if (ch == ':') ch = '_';
        s.add("exception.forward." + name, sum.matched[i].get());
    }
}

}  // namespace vtap::runtime
