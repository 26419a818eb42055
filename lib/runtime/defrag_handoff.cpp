#include "runtime/defrag_handoff.hpp"

#include <cstring>
#include <string>

#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>

namespace vtap::runtime {

Result<std::unique_ptr<DefragHandoff>> DefragHandoff::create(uint16_t workers, int socket) {
    if (workers < 2 || workers > shard::kMaxWorkers)
        return fail("defrag handoff", "needs 2.." + std::to_string(shard::kMaxWorkers) + " workers, got " +
                                          std::to_string(workers));
    auto h = std::unique_ptr<DefragHandoff>(new DefragHandoff());
    h->workers_ = workers;
    const unsigned items = kPerWorker * workers;
    // No per-lcore cache: items are taken on one worker and returned on
    // another, and the pool is only touched per reassembled datagram.
    h->pool_ = rte_mempool_create("vtap_defrag_handoff", items, sizeof(HandoffItem), 0, 0, nullptr, nullptr,
                                  nullptr, nullptr, socket, 0);
    if (!h->pool_)
        return fail("defrag handoff", "cannot create a pool of " + std::to_string(items) + " datagrams of " +
                                          std::to_string(sizeof(HandoffItem)) + " bytes: " + rte_strerror(rte_errno));
    for (uint16_t w = 0; w < workers; w++) {
        // Holds every item of the pool: an inbox is never full before the pool is empty.
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
        while (rte_ring_dequeue(r, &obj) == 0) rte_mempool_put(pool_, obj);
        rte_ring_free(r);
    }
    if (pool_) rte_mempool_free(pool_);
}

bool DefragHandoff::send(uint16_t to, const uint8_t* frame, uint32_t len, const PktMeta& m,
                         uint64_t now_ns) noexcept {
    void* obj;
    if (to >= workers_ || len > sizeof(HandoffItem::frame) || rte_mempool_get(pool_, &obj) != 0) return false;
    auto* it = static_cast<HandoffItem*>(obj);
    it->meta = m;
    it->len = len;
    it->now_ns = now_ns;
    std::memcpy(it->frame, frame, len);
    if (rte_ring_enqueue(inbox_[to], it) != 0) {
        rte_mempool_put(pool_, it);
        return false;
    }
    return true;
}

unsigned DefragHandoff::dequeue(uint16_t self, HandoffItem** items) noexcept {
    return rte_ring_dequeue_burst(inbox_[self], reinterpret_cast<void**>(items), kBurst, nullptr);
}

void DefragHandoff::release(HandoffItem** items, unsigned n) noexcept {
    if (n) rte_mempool_put_bulk(pool_, reinterpret_cast<void* const*>(items), n);
}

uint64_t DefragHandoff::memory_bytes() const noexcept {
    uint64_t b = uint64_t{kPerWorker} * workers_ * sizeof(HandoffItem);
    for (uint16_t w = 0; w < workers_; w++) b += rte_ring_get_memsize(rte_ring_get_size(inbox_[w]));
    return b;
}

}  // namespace vtap::runtime
