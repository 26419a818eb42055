// The per-flow record of a worker's FlowTable and the types around it:
// direction, TCP state, per-direction stream state, configuration and the
// table's counters. A Flow lives in one preallocated array slot from its
// creation to its close; pointers to it stay valid until then (the close
// hook is the last moment the user may touch it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/counters.hpp"
#include "shard/shard.hpp"

namespace vtap::flow {

// Direction of a packet relative to the flow's orientation (EVE `direction`).
enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };

constexpr unsigned index(Direction d) noexcept { return static_cast<unsigned>(d); }
constexpr Direction opposite(Direction d) noexcept {
    return d == Direction::kToServer ? Direction::kToClient : Direction::kToServer;
}

// TCP follows new -> established -> closing -> closed; other protocols stay
// kNew (their timeout depends on the protocol, not on the state).
enum class FlowState : uint8_t { kNew, kEstablished, kClosing, kClosed };

// Each class has its own idle timeout and its own LRU list, so the head of
// each list is always the next flow of that class to time out.
enum class TimeoutClass : uint8_t { kTcpNew, kTcpEstablished, kTcpClosing, kUdp, kIcmp, kOther };
inline constexpr unsigned kTimeoutClassCount = 6;

// Why a flow left the table; passed to the close hook.
enum class CloseReason : uint8_t {
    kTimeout,   // idle longer than its class's timeout (flow.timed_out)
    kEvicted,   // oldest idle flow, reclaimed for a new one (flow.evicted)
    kReused,    // a closed TCP flow's 5-tuple opened a new connection (SYN)
    kTeardown,  // the table is being cleared or destroyed
};

inline constexpr uint32_t kNoIndex = 0xffffffffu;

// One direction of a TCP byte stream. Sequence numbers are mod 2^32.
// Invariant: every buffered out-of-order piece starts strictly after
// next_seq, pieces are sorted and never overlap.
struct Stream {
    uint64_t delivered = 0;      // stream bytes handed to sinks (incl. bytes after gaps)
    uint64_t hole_since_ns = 0;  // when the current hole began (OOO list non-empty)
    uint32_t next_seq = 0;       // next byte to deliver; valid once kSeqKnown
    uint32_t isn = 0;            // the SYN's sequence number, or one before a picked-up stream's first byte
    uint32_t fin_seq = 0;        // sequence number the FIN occupies; valid once kFinSeen
    uint32_t ooo_head = kNoIndex;  // first buffered piece (segment pool index)
    uint32_t ooo_tail = kNoIndex;  // last buffered piece: appends skip the walk
    uint32_t ooo_bytes = 0;      // payload bytes buffered now (<= FlowConfig::ooo_max_bytes)
    uint8_t flags = 0;           // kStream* bits
    uint8_t pad[3] = {};
};
inline constexpr uint8_t kStreamSeqKnown = 1u << 0;  // next_seq initialised (SYN or first segment)
inline constexpr uint8_t kStreamSynSeen = 1u << 1;
inline constexpr uint8_t kStreamFinSeen = 1u << 2;

// Every byte before the direction's FIN has been delivered: its FIN is the
// next sequence number.
inline bool fin_is_next(const Stream& st) noexcept {
    return (st.flags & kStreamFinSeen) && st.fin_seq == st.next_seq;
}

struct DirCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;  // inner IP datagram bytes as the IP header states them
};

// Flow::flags
inline constexpr uint8_t kFlowClientIsLo = 1u << 0;    // the client is key.lo_*
inline constexpr uint8_t kFlowMidstream = 1u << 1;     // TCP picked up without a SYN
inline constexpr uint8_t kFlowUntracked = 1u << 2;     // midstream off and no SYN: no reassembly

// 256 bytes, four cache lines. The first line holds everything a lookup and
// an LRU touch read or write. Fields the table owns must not be written by
// the user; user[] and user_flow are the user's.
struct alignas(kCacheLine) Flow {
    // line 0: lookup + LRU
    shard::FlowKey key;
    uint32_t hash = 0;           // PktMeta::flow_hash of the flow
    uint32_t lru_prev = kNoIndex;
    uint32_t lru_next = kNoIndex;  // also links the free list
    uint64_t last_seen_ns = 0;
    // line 1
    uint64_t flow_id = 0;        // stable for the flow's life; EVE flow_id (< 2^53)
    uint64_t first_seen_ns = 0;
    DirCounters dir[2];          // indexed by Direction
    FlowState state = FlowState::kNew;
    uint8_t proto = 0;           // IPPROTO_* (key.proto)
    TimeoutClass cls = TimeoutClass::kOther;
    uint8_t flags = 0;           // kFlow* bits
    uint8_t pad[4] = {};
    void* user_flow = nullptr;   // opaque, for the detection engine (per-flow state)
    // lines 2-3
    void* user[2] = {nullptr, nullptr};  // opaque per direction (Hyperscan stream state)
    Stream stream[2];            // indexed by Direction
    uint64_t lru_queued_ns = 0;  // when the flow last moved to its LRU tail (<= last_seen_ns)

    bool client_is_lo() const noexcept { return flags & kFlowClientIsLo; }
};
static_assert(sizeof(Flow) == 256, "Flow is four cache lines; keep it so");

// Idle timeouts per TimeoutClass, nanoseconds. Defaults follow Suricata's
// flow-timeouts for TCP (new 60 s, established 600 s, closed 60 s).
struct Timeouts {
    uint64_t tcp_new = 60'000'000'000;
    uint64_t tcp_established = 600'000'000'000;
    uint64_t tcp_closing = 60'000'000'000;  // FIN or RST seen
    uint64_t udp = 120'000'000'000;
    uint64_t icmp = 30'000'000'000;
    uint64_t other = 60'000'000'000;

    uint64_t of(TimeoutClass c) const noexcept {
        switch (c) {
            case TimeoutClass::kTcpNew: return tcp_new;
            case TimeoutClass::kTcpEstablished: return tcp_established;
            case TimeoutClass::kTcpClosing: return tcp_closing;
            case TimeoutClass::kUdp: return udp;
            case TimeoutClass::kIcmp: return icmp;
            case TimeoutClass::kOther: return other;
        }
        return other;
    }
};

struct FlowConfig {
    uint32_t capacity = 65536;         // flows; all preallocated at create
    uint16_t worker = 0;               // < 128; folded into flow_id so ids are unique per process
    bool midstream = true;             // pick up TCP flows whose SYN was not seen
    Timeouts timeouts;
    uint64_t evict_min_idle_ns = 0;    // only evict a flow idle at least this long (0: always)
    // A packet moves its flow to the LRU tail only if the last move is older
    // than this: a busy flow costs one list move per interval, not one per
    // packet (each move writes three other flows' cache lines). Expiry and
    // eviction order are exact to within this interval.
    uint64_t lru_resolution_ns = 1'000'000'000;
    uint32_t ooo_max_bytes = 256 * 1024;     // buffered out-of-order payload per direction
    uint64_t segment_pool_bytes = 16u << 20; // out-of-order pool per table (512-byte pieces)
    uint64_t gap_timeout_ns = 2'000'000'000; // a hole older than this is skipped
    uint32_t max_seq_ahead = 64u << 20;      // data / ACKs further ahead are out of window
};

// Written by the worker that owns the table; read by the control thread.
struct alignas(kCacheLine) FlowCounters {
    Counter active;             // flow.active: flows in the table now (gauge)
    Counter created;            // flow.created
    Counter evicted;            // flow.evicted: oldest idle flow reclaimed when full
    Counter timed_out;          // flow.timed_out
    Counter table_full;         // flow.table_full: packet got no flow (nothing evictable)
    Counter gaps;               // flow.gaps: holes skipped in a TCP stream
    Counter ooo_bytes;          // flow.ooo_bytes: payload bytes buffered out of order
    Counter overlap_bytes;      // flow.overlap_bytes: retransmitted bytes dropped (first copy wins)
    Counter reassembled_bytes;  // flow.reassembled_bytes: in-order bytes delivered to sinks
    Counter midstream_pickups;  // flow.midstream_pickups: TCP flows created without a SYN
    Counter ooo_discarded;      // flow.ooo_discarded_bytes: buffered bytes freed undelivered at close
    Counter out_of_window;      // flow.out_of_window: segments beyond max_seq_ahead, not reassembled
    Counter untracked_segments; // flow.untracked_segments: TCP payload of flows not reassembled
    Counter clock_steps_back;   // flow.clock_steps_back: input time stepped back > 1 s (ElapsedClock rebased)

    // Calls f(name, value) for every counter, in declaration order.
    template <class F>
    void visit(F&& f) const {
        f("flow.active", active.get());
        f("flow.created", created.get());
        f("flow.evicted", evicted.get());
        f("flow.timed_out", timed_out.get());
        f("flow.table_full", table_full.get());
        f("flow.gaps", gaps.get());
        f("flow.ooo_bytes", ooo_bytes.get());
        f("flow.overlap_bytes", overlap_bytes.get());
        f("flow.reassembled_bytes", reassembled_bytes.get());
        f("flow.midstream_pickups", midstream_pickups.get());
        f("flow.ooo_discarded_bytes", ooo_discarded.get());
        f("flow.out_of_window", out_of_window.get());
        f("flow.untracked_segments", untracked_segments.get());
        f("flow.clock_steps_back", clock_steps_back.get());
    }
};

}  // namespace vtap::flow
