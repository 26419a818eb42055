#include "runtime/defrag_handoff.hpp"

#include <cstring>
#include <string>

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

namespace vtap::runtime {

Result<std::unique_ptr<DefragHandoff>> DefragHandoff::create(std::span<rte_ring* const> worker_rings, int socket) {
    const size_t workers = worker_rings.size();
    if (workers < 2 || workers > shard::kMaxWorkers)
        return fail("defrag handoff", "needs 2.." + std::to_string(shard::kMaxWorkers) + " workers, got " +
                                          std::to_string(workers));
    auto h = std::unique_ptr<DefragHandoff>(new DefragHandoff());
    h->workers_ = static_cast<uint16_t>(workers);
    const unsigned items = (kPerWorker + kLargePerWorker) * h->workers_;
    h->items_ = items;
    // No per-lcore cache: items are taken on one worker and returned on
    // another, and the pools are only touched per reassembled datagram.
    auto pool = [&](const char* name, unsigned n, uint32_t frame) -> Result<rte_mempool*> {
        rte_mempool* mp = rte_mempool_create(name, n, sizeof(HandoffItem) + frame, 0, 0, nullptr, nullptr, nullptr,
                                             nullptr, socket, 0);
        if (!mp)
            return fail("defrag handoff", std::string("cannot create ") + name + ", " + std::to_string(n) +
                                              " datagrams of " + std::to_string(frame) + " bytes: " +
                                              rte_strerror(rte_errno));
        return mp;
    };
    auto small = pool("vtap_handoff_small", kPerWorker * h->workers_, kSmallFrame);
    if (!small) return std::unexpected(small.error());
    h->small_ = *small;
    auto large = pool("vtap_handoff_large", kLargePerWorker * h->workers_, kLargeFrame);
    if (!large) return std::unexpected(large.error());
    h->large_ = *large;
    h->receivers_ = std::make_unique<Receiver[]>(workers);
    for (uint16_t w = 0; w < workers; w++) {
        if (!worker_rings[w]) return fail("defrag handoff", "worker " + std::to_string(w) + " has no ring");
        h->worker_ring_[w] = worker_rings[w];
        h->receivers_[w].held = std::make_unique<HandoffItem*[]>(items);
        // Holds every item of both pools: an inbox is never full before they are empty.
        const std::string name = "vtap_handoff_w" + std::to_string(w);
        h->inbox_[w] = rte_ring_create(name.c_str(), items, socket, RING_F_SC_DEQ | RING_F_EXACT_SZ);
        if (!h->inbox_[w])
            return fail("defrag handoff", "cannot create ring " + name + ": " + rte_strerror(rte_errno));
    }
    return h;
}

DefragHandoff::~DefragHandoff() {
    for (rte_ring* r : inbox_) {
        if (!r) continue;
        void* obj;
        while (rte_ring_dequeue(r, &obj) == 0) release(reinterpret_cast<HandoffItem**>(&obj), 1);
        rte_ring_free(r);
    }
    if (receivers_)
        for (uint16_t w = 0; w < workers_; w++) release(receivers_[w].held.get(), receivers_[w].held_n);
    if (small_) rte_mempool_free(small_);
    if (large_) rte_mempool_free(large_);
}

bool DefragHandoff::send(uint16_t to, const uint8_t* frame, uint32_t len, const PktMeta& m, shard::Arrival a,
                         uint64_t now_ns) noexcept {
    void* obj;
    if (to >= workers_ || len > kLargeFrame) return false;
    bool large = len > kSmallFrame;
    if (!large && rte_mempool_get(small_, &obj) != 0) large = true;
    if (large && rte_mempool_get(large_, &obj) != 0) return false;
    auto* it = static_cast<HandoffItem*>(obj);
    it->large = large;
    it->meta = m;
    it->len = len;
    it->arrival = a;
    it->now_ns = now_ns;
    std::memcpy(it->frame(), frame, len);
    if (rte_ring_enqueue(inbox_[to], it) != 0) {
        release(&it, 1);
        return false;
    }
    return true;
}

void DefragHandoff::take_inbox(uint16_t self, Receiver& r) noexcept {
    // held has room for every item of both pools, so the inbox always fits.
    const unsigned n = rte_ring_dequeue_burst(inbox_[self], reinterpret_cast<void**>(r.held.get() + r.held_n),
                                              items_ - r.held_n, nullptr);
    // Insertion by arrival: each sender's datagrams come in order, so the
    // new ones rarely move far.
    for (unsigned i = r.held_n; i < r.held_n + n; i++) {
        HandoffItem* it = r.held[i];
        unsigned j = i;
        for (; j > 0 && r.held[j - 1]->arrival.seq > it->arrival.seq; j--) r.held[j] = r.held[j - 1];
        r.held[j] = it;
    }
    r.held_n += n;
}

bool DefragHandoff::inbox_empty(uint16_t self) const noexcept { return rte_ring_empty(inbox_[self]); }

bool DefragHandoff::delivered(uint16_t self, shard::Arrival a) const noexcept {
    // The watermark first: its acquire pairs with RX's release after the
    // burst's enqueues, so an empty ring read afterwards means this worker
    // has dequeued (and, being idle, processed) every packet RX numbered
    // below the watermark.
    return watermarks_[a.rx].next.load(std::memory_order_acquire) > a.seq && rte_ring_empty(worker_ring_[self]);
}

void DefragHandoff::release(HandoffItem** items, unsigned n) noexcept {
    for (unsigned i = 0; i < n; i++) rte_mempool_put(items[i]->large ? large_ : small_, items[i]);
}

uint64_t DefragHandoff::memory_bytes() const noexcept {
    uint64_t b = uint64_t{workers_} * (kPerWorker * (sizeof(HandoffItem) + kSmallFrame) +
                                       kLargePerWorker * (sizeof(HandoffItem) + kLargeFrame));
    for (uint16_t w = 0; w < workers_; w++)
        b += rte_ring_get_memsize(rte_ring_get_size(inbox_[w])) + sizeof(Receiver) + items_ * sizeof(HandoffItem*);
    return b;
}

}  // namespace vtap::runtime
