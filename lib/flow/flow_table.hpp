// FlowTable: one worker's flows (hot path; never shared, no locks). All
// memory is allocated and touched in create(): a Flow array, an open-
// addressing index keyed by PktMeta::flow_hash, and a pool of 512-byte
// pieces for out-of-order TCP data. After create nothing allocates; a full
// table evicts its oldest idle flow, a full pool forces a counted gap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/pkt_meta.hpp"
#include "core/result.hpp"
#include "flow/elapsed_clock.hpp"
#include "flow/flow.hpp"
#include "flow/probe_index.hpp"
#include "flow/tcp.hpp"

namespace vtap::flow {

namespace detail {
struct Piece;  // out-of-order segment pool unit
}  // namespace detail

struct Lookup {
    Flow* flow = nullptr;  // null: no entry could be had (flow.table_full)
    Direction dir = Direction::kToServer;
    bool created = false;
};

// Called when a flow leaves the table, before its slot is reused: the user
// frees what user[] / user_flow point to, and may call tcp_flush() to get
// buffered out-of-order bytes delivered first. Must not call lookup_or_create
// or expire.
using CloseFn = void (*)(void* ctx, Flow& flow, CloseReason why) noexcept;

class FlowTable {
public:
    static Result<std::unique_ptr<FlowTable>> create(const FlowConfig& cfg);
    ~FlowTable();  // closes every live flow with kTeardown
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    void set_close_hook(CloseFn fn, void* ctx) noexcept { close_fn_ = fn; close_ctx_ = ctx; }

    // now_ns, here and in tcp_segment and expire: capture time offline, the
    // wall clock live. The table ages flows on an ElapsedClock of it, so a
    // time that steps back neither stalls expiry nor blocks eviction.
    //
    // Finds the frame's flow (both directions map to one) or creates it,
    // deciding client and server (see README: SYN, ICMP type, ports).
    // Touches the flow: last_seen, LRU position, the direction's counters.
    // Needs m.flow_hash (shard sets it) and the offsets decap leaves.
    Lookup lookup_or_create(const uint8_t* frame, const PktMeta& m, uint64_t now_ns) noexcept;

    // Prefetch hints for a packet a few places ahead in a burst, as DPDK's
    // rte_hash bulk lookup does: with tens of thousands of flows the index
    // entry and the Flow are each a cache miss, one after the other, and
    // the burst's earlier packets hide them. First the index line where
    // the hash starts probing; once it has arrived, the Flow it names
    // (returned; nullptr when none of the line's first entries carries the
    // hash). A hint only: the key is not compared, nothing is written.
    void prefetch_index(uint32_t hash) const noexcept { __builtin_prefetch(&slots_[hash & slot_mask_]); }
    const Flow* prefetch_flow(uint32_t hash) const noexcept;

    // TCP tracking and reassembly of one segment of f travelling in dir:
    // state (handshake, mid-stream pick-up, FIN/RST), then the payload's
    // in-order bytes to sink (several chunks when a hole fills), out-of-order
    // bytes buffered, retransmitted bytes dropped (first copy wins), holes
    // skipped (a kGap chunk) when the buffer is full, the peer ACKs past the
    // hole, or the hole is older than gap_timeout_ns.
    void tcp_segment(Flow& f, Direction dir, const TcpSegment& seg, uint64_t now_ns,
                     Sink sink) noexcept;

    // Delivers everything buffered for dir, skipping holes (each a kGap).
    void tcp_flush(Flow& f, Direction dir, Sink sink) noexcept;

    // Closes at most budget flows whose idle time reached their class's
    // timeout; call between bursts. Returns how many it closed.
    uint32_t expire(uint64_t now_ns, uint32_t budget) noexcept;

    // Closes every flow (kTeardown).
    void clear() noexcept;

    const FlowCounters& counters() const noexcept { return ctr_; }
    const FlowConfig& config() const noexcept { return cfg_; }
    uint32_t active() const noexcept { return active_; }
    uint32_t capacity() const noexcept { return cfg_.capacity; }

    // vtapd state per flow: the Flow record plus its share of the index.
    size_t bytes_per_flow() const noexcept;
    // Everything create() allocated: flows + index + segment pool.
    size_t memory_bytes() const noexcept;
    size_t segment_pool_bytes() const noexcept;
    uint32_t pieces_free() const noexcept { return pieces_free_; }

private:
    using Slot = probe::Entry;  // index entry: hash + flow index
    using Piece = detail::Piece;
    struct Lru {
        uint32_t head = kNoIndex;  // oldest
        uint32_t tail = kNoIndex;  // most recent
    };
    struct Mem;    // owns the three arrays

    explicit FlowTable(const FlowConfig& cfg);

    Flow* find(const shard::FlowKey& key, uint32_t hash, uint32_t& slot) noexcept;
    uint32_t take_entry(uint64_t now_ns) noexcept;
    void init_flow(Flow& f, const uint8_t* frame, const PktMeta& m, const shard::FlowKey& key,
                   uint64_t now_ns) noexcept;
    void close(uint32_t idx, CloseReason why) noexcept;
    void index_erase(uint32_t idx) noexcept;
    void lru_unlink(uint32_t idx) noexcept;
    void lru_append(uint32_t idx) noexcept;
    void set_class(Flow& f, TimeoutClass c) noexcept;
    uint32_t index_of(const Flow& f) const noexcept;

    // tcp_stream.cpp
    void tcp_track(Flow& f, Direction dir, const TcpSegment& seg, Sink sink) noexcept;
    void accept_data(Flow& f, Direction dir, uint32_t seq, std::span<const uint8_t> data,
                     uint64_t now_ns, Sink sink) noexcept;
    void deliver_in_order(Flow& f, Direction dir, uint32_t seq, std::span<const uint8_t> data,
                          Sink sink) noexcept;
    bool buffer_ooo(Flow& f, Direction dir, uint32_t seq, std::span<const uint8_t> data,
                    uint64_t now_ns) noexcept;
    void skip_to(Flow& f, Direction dir, uint32_t seq, Sink sink) noexcept;
    void ack_past_hole(Flow& f, Direction dir, uint32_t ack, Sink sink) noexcept;
    void drain(Flow& f, Direction dir, Sink sink) noexcept;
    void emit(Flow& f, Direction dir, std::span<const uint8_t> data, Sink sink) noexcept;
    void pop_piece(Stream& st) noexcept;
    void release_pieces(Stream& st) noexcept;

    FlowConfig cfg_;
    FlowCounters ctr_;
    std::unique_ptr<Mem> mem_;
    Flow* flows_ = nullptr;
    Slot* slots_ = nullptr;
    Piece* pieces_ = nullptr;
    uint32_t slot_mask_ = 0;
    uint32_t n_pieces_ = 0;
    uint32_t free_flow_ = kNoIndex;
    uint32_t free_piece_ = kNoIndex;
    uint32_t pieces_free_ = 0;
    uint32_t active_ = 0;
    uint64_t next_id_ = 1;
    uint64_t now_ns_ = 0;  // of the segment being processed: stamps new holes
    // Every time the table keeps (last seen, LRU order, holes) is on this
    // clock, fed the callers' now_ns: it never runs backwards.
    ElapsedClock clock_;
    uint64_t tick(uint64_t input_ns) noexcept {
        if (clock_.advance(input_ns)) ctr_.clock_steps_back.add();
        return clock_.now();
    }
    Lru lru_[kTimeoutClassCount];
    CloseFn close_fn_ = nullptr;
    void* close_ctx_ = nullptr;
};

}  // namespace vtap::flow
