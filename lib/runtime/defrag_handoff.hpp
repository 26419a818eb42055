// Reassembled datagrams handed from worker to worker. shard keys every
// fragment on its addresses only (a later fragment has no ports), so a
// datagram is put back together on the worker its address pair hashes to,
// while the unfragmented packets of its 5-tuple go to the worker the 5-tuple
// hashes to. With more than one worker these differ, and the datagram must
// join its flow there (stream, flowbits, established state) — VPP's
// reassembly handoff. Fragments are rare, so the datagram is copied into a
// pool object and passed through the owner's inbox ring; nothing here runs
// for unfragmented packets but one store per packet (shard/arrival.hpp).
//
// Order. The receiver runs a datagram where a single worker would have: after
// its own packets that arrived (on the same RX lcore) before the fragment
// that completed it. Its earlier packets may still sit in its ring, or not
// even be enqueued (RX enqueues a burst worker by worker), when the datagram
// lands in its inbox; handing it straight to the flow then made a
// connection's data precede its handshake. So the receiver holds a datagram
// until it reaches, in its own packets, one that arrived later, or until it
// is idle and RX has delivered everything up to the fragment (the RX
// watermark, published after each burst, and an empty ring). A datagram can
// still run after the receiver's packets that arrived later, when the
// assembler is slower than the receiver; TCP reassembly orders those bytes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>

#include "core/pkt_meta.hpp"
#include "core/result.hpp"
#include "flow/defrag.hpp"
#include "shard/arrival.hpp"
#include "shard/shard.hpp"

struct rte_mempool;
struct rte_ring;

namespace vtap::runtime {

// One datagram in flight: its frame, as Defrag built it (right after this
// header, as long as the item's size class allows), and the meta of the new
// parse (flow_hash: the 5-tuple's).
struct HandoffItem {
    PktMeta meta;
    uint32_t len;
    shard::Arrival arrival;  // of the fragment that completed it
    uint64_t now_ns;         // the clock of that fragment
    bool large;              // from the large pool (DefragHandoff::kLargeFrame)
    const uint8_t* frame() const noexcept { return reinterpret_cast<const uint8_t*>(this + 1); }
    uint8_t* frame() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }
};
static_assert(sizeof(HandoffItem) % 8 == 0);

class DefragHandoff {
public:
    // Two size classes. A datagram is fragmented because it is larger than
    // an MTU, so nearly all are a few KiB (a 1,500-byte MTU and up to six
    // fragments, or one jumbo frame); sizing every item for 64 KiB made the
    // pool ~66 KB x 64 per worker (270 MB at 64 workers). Small items take
    // frames up to kSmallFrame bytes, large ones anything Defrag builds; a
    // small datagram takes a large item when no small one is free.
    static constexpr uint32_t kSmallFrame = flow::Defrag::kHeadRoom + 9216;
    static constexpr uint32_t kLargeFrame = flow::Defrag::kHeadRoom + flow::Defrag::kMaxIp;
    // Datagrams in flight at once, per worker: each pool holds workers x this.
    static constexpr unsigned kPerWorker = 64;
    static constexpr unsigned kLargePerWorker = 8;

    // An inbox ring per worker (any worker enqueues, its owner dequeues) and
    // two pools of items shared by all (multi-producer, multi-consumer).
    // worker_rings[w] is the ring RX fills for worker w, read (never
    // dequeued) to tell whether w has taken everything RX delivered.
    static Result<std::unique_ptr<DefragHandoff>> create(std::span<rte_ring* const> worker_rings, int socket);
    ~DefragHandoff();
    DefragHandoff(const DefragHandoff&) = delete;
    DefragHandoff& operator=(const DefragHandoff&) = delete;

    uint16_t workers() const noexcept { return workers_; }

    // RX lcore `rx` publishes here, after each burst, the number of the
    // first packet it has not yet delivered (shard::stamp_arrivals's `next`).
    std::atomic<uint64_t>& rx_watermark(uint8_t rx) noexcept { return watermarks_[rx].next; }

    // Copies the datagram for worker `to`. False when no item of its size is
    // free or the inbox is full (the caller counts the drop); never blocks.
    bool send(uint16_t to, const uint8_t* frame, uint32_t len, const PktMeta& m, shard::Arrival a,
              uint64_t now_ns) noexcept;

    // The receiving side, each called by worker `self` only.
    //
    // Before `self` processes its packet `a`: runs fn(const HandoffItem&) on
    // each held datagram completed before `a` on a's RX lcore, oldest first.
    template <class Fn>
    unsigned before_packet(uint16_t self, shard::Arrival a, Fn&& fn) noexcept {
        Receiver& r = receivers_[self];
        r.passed[a.rx] = a.seq;
        return r.held_n ? run_due(self, r, fn, false) : 0;
    }
    // Takes what the inbox holds and runs every held datagram that is due.
    // `idle`: the worker has processed everything it dequeued and just found
    // its ring empty, so a datagram whose fragment RX has delivered is due
    // too. At the start of a burst (not idle) the taken datagrams wait for
    // before_packet.
    template <class Fn>
    unsigned poll(uint16_t self, bool idle, Fn&& fn) noexcept {
        Receiver& r = receivers_[self];
        take_inbox(self, r);
        return r.held_n ? run_due(self, r, fn, idle) : 0;
    }
    // Once every lcore has stopped: runs the oldest `max` datagrams held or
    // in the inbox. Returns how many ran; the caller drains the alerts
    // those raised and calls again while pending().
    template <class Fn>
    unsigned flush(uint16_t self, unsigned max, Fn&& fn) noexcept {
        Receiver& r = receivers_[self];
        take_inbox(self, r);
        const unsigned n = r.held_n < max ? r.held_n : max;
        for (unsigned i = 0; i < n; i++) fn(static_cast<const HandoffItem&>(*r.held[i]));
        release(r.held.get(), n);
        for (unsigned i = n; i < r.held_n; i++) r.held[i - n] = r.held[i];
        r.held_n -= n;
        return n;
    }
    // Datagrams for `self`, held or still in its inbox.
    bool pending(uint16_t self) const noexcept { return receivers_[self].held_n != 0 || !inbox_empty(self); }
    // Datagrams `self` holds, waiting for their turn.
    unsigned held(uint16_t self) const noexcept { return receivers_[self].held_n; }

    // Bytes of the pools, the rings and the receivers' lists, for sizing.
    uint64_t memory_bytes() const noexcept;

private:
    // What one worker knows of the order (its own cache lines; only it writes).
    struct alignas(64) Receiver {
        std::unique_ptr<HandoffItem*[]> held;  // sorted by arrival, room for every item
        unsigned held_n = 0;
        // Per RX lcore: every packet numbered below this that was sent to
        // this worker has been processed.
        std::array<uint64_t, shard::kMaxRxLcores> passed{};
    };
    struct alignas(64) Watermark {
        std::atomic<uint64_t> next{0};
    };

    DefragHandoff() = default;
    void take_inbox(uint16_t self, Receiver& r) noexcept;
    bool inbox_empty(uint16_t self) const noexcept;
    bool delivered(uint16_t self, shard::Arrival a) const noexcept;
    void release(HandoffItem** items, unsigned n) noexcept;

    // Runs the held datagrams that are due, in arrival order, and keeps the
    // rest. When idle, one is also due once RX has delivered its fragment's
    // arrival and this worker's ring is empty.
    template <class Fn>
    unsigned run_due(uint16_t self, Receiver& r, Fn& fn, bool idle) noexcept {
        unsigned kept = 0, ran = 0;
        for (unsigned i = 0; i < r.held_n; i++) {
            HandoffItem* it = r.held[i];
            const bool due = it->arrival.seq < r.passed[it->arrival.rx] || (idle && delivered(self, it->arrival));
            if (!due) {
                r.held[kept++] = it;
                continue;
            }
            fn(static_cast<const HandoffItem&>(*it));
            release(&it, 1);
            ran++;
        }
        r.held_n = kept;
        return ran;
    }

    uint16_t workers_ = 0;
    unsigned items_ = 0;
    rte_mempool* small_ = nullptr;
    rte_mempool* large_ = nullptr;
    std::array<rte_ring*, shard::kMaxWorkers> inbox_{};
    std::array<rte_ring*, shard::kMaxWorkers> worker_ring_{};
    std::unique_ptr<Receiver[]> receivers_;
    std::array<Watermark, shard::kMaxRxLcores> watermarks_{};
};

}  // namespace vtap::runtime
