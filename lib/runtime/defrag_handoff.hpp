// Reassembled datagrams handed from worker to worker. shard keys every
// fragment on its addresses only (a later fragment has no ports), so a
// datagram is put back together on the worker its address pair hashes to,
// while the unfragmented packets of its 5-tuple go to the worker the 5-tuple
// hashes to. With more than one worker these differ, and the datagram must
// join its flow there (stream, flowbits, established state) — VPP's
// reassembly handoff. Fragments are rare, so the datagram is copied into a
// pool object and passed through the owner's inbox ring; nothing here runs
// for unfragmented packets.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/pkt_meta.hpp"
#include "core/result.hpp"
#include "flow/defrag.hpp"
#include "shard/shard.hpp"

struct rte_mempool;
struct rte_ring;

namespace vtap::runtime {

// One datagram in flight: its frame, as Defrag built it, and the meta of
// the new parse (flow_hash: the 5-tuple's).
struct HandoffItem {
    PktMeta meta;
    uint32_t len;
    uint64_t now_ns;  // the clock of the fragment that completed it
    uint8_t frame[flow::Defrag::kHeadRoom + flow::Defrag::kMaxIp];
};

class DefragHandoff {
public:
    // Datagrams in flight at once, per worker: the pool holds workers x this.
    static constexpr unsigned kPerWorker = 64;

    // An inbox ring per worker (any worker enqueues, its owner dequeues) and
    // one pool of items shared by all (multi-producer, multi-consumer).
    static Result<std::unique_ptr<DefragHandoff>> create(uint16_t workers, int socket);
    ~DefragHandoff();
    DefragHandoff(const DefragHandoff&) = delete;
    DefragHandoff& operator=(const DefragHandoff&) = delete;

    uint16_t workers() const noexcept { return workers_; }

    // Copies the datagram for worker `to`. False when no item is free or the
    // inbox is full (the caller counts the drop); never blocks.
    bool send(uint16_t to, const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns) noexcept;

    // Hands each datagram waiting in `self`'s inbox to fn(const HandoffItem&),
    // then returns the items to the pool. Returns how many.
    template <class Fn>
    unsigned receive(uint16_t self, Fn&& fn) noexcept {
        HandoffItem* items[kBurst];
        const unsigned n = dequeue(self, items);
        for (unsigned i = 0; i < n; i++) fn(static_cast<const HandoffItem&>(*items[i]));
        release(items, n);
        return n;
    }

    // Bytes of the pool and the rings, for sizing.
    uint64_t memory_bytes() const noexcept;

private:
    static constexpr unsigned kBurst = 32;
    DefragHandoff() = default;
    unsigned dequeue(uint16_t self, HandoffItem** items) noexcept;
    void release(HandoffItem** items, unsigned n) noexcept;

    uint16_t workers_ = 0;
    rte_mempool* pool_ = nullptr;
    std::array<rte_ring*, shard::kMaxWorkers> inbox_{};
};

}  // namespace vtap::runtime
