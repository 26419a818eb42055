// AlertQueue: an rte_ring of AlertRecord-sized slots.
//
// Why slots and not pointers into a per-worker mempool: a record is filled on
// the worker's stack either way, so a pool costs a get (worker) and a put
// (control thread) on a second ring per alert plus pointer chasing on the
// consumer, to save one copy on the cold side. With slots the worker does one
// enqueue (one 704-byte copy into memory the consumer reads next), the
// capacity is exactly the ring size, a full ring is the only way to drop, and
// there is one allocation per worker. The consumer copies records out in
// batches of kDrainBatch into its own staging array, off the hot path.
#include "alert/alert_queue.hpp"

#include <cstring>
#include <utility>

#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

namespace vtap::alert {

namespace {
constexpr size_t kMaxName = RTE_RING_NAMESIZE - 1;  // its memzone is "RG_<name>", 32 bytes with the NUL
}

Result<AlertQueue> AlertQueue::create(std::string_view name, uint32_t capacity, int socket_id) {
    const std::string where = "alert queue '" + std::string(name) + "'";
    if (name.empty() || name.size() > kMaxName)
        return fail(where, "name must be 1.." + std::to_string(kMaxName) + " characters");
    if (capacity == 0 || capacity > RTE_RING_SZ_MASK)
        return fail(where, "capacity " + std::to_string(capacity) + " is out of range 1.." +
                               std::to_string(RTE_RING_SZ_MASK));
    rte_ring* r = rte_ring_create_elem(std::string(name).c_str(), sizeof(AlertRecord), capacity,
                                       socket_id, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (r == nullptr)
        return fail(where, "rte_ring_create_elem(" + std::to_string(capacity) + " x " +
                               std::to_string(sizeof(AlertRecord)) +
                               " bytes) failed: " + rte_strerror(rte_errno));
    return AlertQueue(r, std::string(name));
}

AlertQueue::AlertQueue(rte_ring* ring, std::string name)
    : ring_(ring), name_(std::move(name)), counters_(std::make_unique<QueueCounters>()),
      batch_(std::make_unique<AlertRecord[]>(kDrainBatch)) {}

AlertQueue::AlertQueue(AlertQueue&& o) noexcept
    : ring_(std::exchange(o.ring_, nullptr)), name_(std::move(o.name_)),
      counters_(std::move(o.counters_)), batch_(std::move(o.batch_)) {}

AlertQueue& AlertQueue::operator=(AlertQueue&& o) noexcept {
    if (this != &o) {
        rte_ring_free(ring_);
        ring_ = std::exchange(o.ring_, nullptr);
        name_ = std::move(o.name_);
        counters_ = std::move(o.counters_);
        batch_ = std::move(o.batch_);
    }
    return *this;
}

AlertQueue::~AlertQueue() { rte_ring_free(ring_); }

bool AlertQueue::publish(const AlertRecord& rec) noexcept {
    // The elem API takes a non-const pointer but only reads from it on enqueue.
    if (rte_ring_sp_enqueue_elem(ring_, const_cast<AlertRecord*>(&rec), sizeof(AlertRecord)) == 0) {
        counters_->producer.published.add();
        return true;
    }
    counters_->producer.dropped.add();
    return false;
}

unsigned AlertQueue::dequeue(unsigned n) noexcept {
    return rte_ring_sc_dequeue_burst_elem(ring_, batch_.get(), sizeof(AlertRecord), n, nullptr);
}

uint32_t AlertQueue::capacity() const noexcept { return rte_ring_get_capacity(ring_); }
uint32_t AlertQueue::count() const noexcept { return rte_ring_count(ring_); }

}  // namespace vtap::alert
