// Worker -> output hand-off: one AlertQueue per worker, an SP/SC rte_ring
// whose slots are AlertRecords themselves (rte_ring_create_elem), not
// pointers to pool objects. publish() is the worker's only call: one copy
// into the ring, never blocks, never allocates; a full ring is a counted drop.
// drain() runs on a control thread and hands each record to a callback.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "alert/alert_record.hpp"
#include "core/counters.hpp"
#include "core/result.hpp"

struct rte_ring;

namespace vtap::alert {

// Producer counters (the worker writes) and the consumer counter (the control
// thread writes) live on separate cache lines: one writer per line.
struct QueueCounters {
    struct alignas(kCacheLine) Producer {
        Counter published;  // alert.published: records enqueued
        Counter dropped;    // alert.dropped: ring full, record discarded
    } producer;
    struct alignas(kCacheLine) Consumer {
        Counter drained;    // records handed to a drain callback
    } consumer;
};

class AlertQueue {
public:
    static constexpr unsigned kDrainBatch = 32;

    // A ring holding exactly `capacity` records (RING_F_EXACT_SZ) on NUMA
    // `socket_id` (SOCKET_ID_ANY for any). Needs a running EAL. `name` must be
    // unique among rings in the process and at most 28 characters.
    // A moved-from queue may only be destroyed or assigned to.
    static Result<AlertQueue> create(std::string_view name, uint32_t capacity, int socket_id);

    AlertQueue(AlertQueue&&) noexcept;
    AlertQueue& operator=(AlertQueue&&) noexcept;
    AlertQueue(const AlertQueue&) = delete;
    AlertQueue& operator=(const AlertQueue&) = delete;
    ~AlertQueue();

    // Worker side (single producer). Copies the record into the ring; false
    // (and alert.dropped + 1) when the ring is full.
    bool publish(const AlertRecord& rec) noexcept;

    // Control side (single consumer). Dequeues up to `max` records in batches
    // and calls fn(const AlertRecord&) for each, in publish order. Returns the
    // number handed over. fn must not call drain() on the same queue.
    // At most one ring's worth per call (max = 0 means that bound): a worker
    // that publishes as fast as the control thread formats would otherwise
    // hold it in here for ever, deaf to SIGTERM, SIGHUP and its own outputs.
    template <class Fn>
    size_t drain(Fn&& fn, size_t max = 0) {
        if (max == 0 || max > capacity()) max = capacity();
        size_t done = 0;
        while (done < max) {
            const size_t want = max - done < kDrainBatch ? max - done : kDrainBatch;
            const unsigned n = dequeue(static_cast<unsigned>(want));
            for (unsigned i = 0; i < n; i++) fn(static_cast<const AlertRecord&>(batch_[i]));
            counters_->consumer.drained.add(n);
            done += n;
            if (n < want) break;
        }
        return done;
    }

    uint32_t capacity() const noexcept;
    uint32_t count() const noexcept;  // records waiting (approximate while a worker runs)
    const std::string& name() const noexcept { return name_; }
    const QueueCounters& counters() const noexcept { return *counters_; }

private:
    AlertQueue(rte_ring* ring, std::string name);
    unsigned dequeue(unsigned n) noexcept;

    rte_ring* ring_ = nullptr;
    std::string name_;
    std::unique_ptr<QueueCounters> counters_;   // stable address, own lines
    std::unique_ptr<AlertRecord[]> batch_;      // consumer-side staging, kDrainBatch records
};

}  // namespace vtap::alert
