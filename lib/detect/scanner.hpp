// Hot path: one Scanner per worker. It owns the Hyperscan scratch, the pcre2
// match data and the per-scan candidate arrays, so scanning never allocates,
// locks or throws. Hyperscan nominates candidates (the callback only
// appends); each candidate then passes the header checks and the inspection
// engine before it reaches the MatchSink. A rule fires at most once per
// scan_packet call and at most once per scan_stream call (Suricata: once per
// packet, and a stream rule once per inspected stream chunk).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <hs/hs.h>

#include "core/block_pool.hpp"
#include "core/result.hpp"
#include "detect/database.hpp"
#include "detect/inspect.hpp"
#include "detect/packet_info.hpp"

namespace vtap::detect {

struct ScannerOptions {
    // Stream bytes kept per TCP direction so a candidate can be confirmed
    // against what came before the current chunk. Matches whose keywords
    // reach further back than this are missed. Counted as per-flow memory.
    // A window starts at kMinWindow bytes and doubles as its stream grows,
    // up to this: 44 % of the TCP directions with payload in the ndpi
    // capture carry at most 512 bytes, and they no longer hold 4 KiB each.
    uint32_t window_bytes = 4096;
    // Largest chunk confirmed together with the window; a bigger chunk is
    // confirmed on its own (counted in detect.chunk_too_big).
    uint32_t max_chunk = 65536;
    // Closed streams' Hyperscan state kept for reuse; 0: up to max_streams,
    // all of them, so opening a stream mallocs only when more streams are
    // live than ever before and no stream is freed while the worker runs, as
    // windows (a BlockPool) are kept. A smaller pool frees the surplus when
    // the live count falls by more than it, and mallocs it again as it rises.
    uint32_t stream_pool = 0;
    // Streams made at create(), before any packet: Hyperscan stream state for
    // each stream database and a window of every size class each (~2 x
    // window_bytes per stream), the windows' pages written then. Up to this
    // many TCP directions with payload can be live without
    // the worker calling malloc or taking a page fault for them; beyond it
    // opening a stream mallocs its Hyperscan state and takes a window from a
    // new 2 MiB huge-page chunk (detect.stream_allocs). At most stream_pool.
    uint32_t stream_prealloc = 0;
    // Streams live at once, at most: a stream opened beyond it runs without
    // one (detect.stream_open_failed). Bounds the window pool's memory, which
    // is its peak (windows are reused, not freed). Two per tracked flow.
    uint32_t max_streams = 1u << 20;
};

// Per-worker, single writer. Names as in stats: detect.<field>.
struct ScanCounters {
    uint64_t packet_scans = 0;
    uint64_t stream_scans = 0;
    uint64_t bytes = 0;            // payload bytes scanned, packets and streams
    uint64_t stream_bytes = 0;     // of which in stream mode
    uint64_t gated = 0;            // scans skipped: no rule of the group accepts these ports
    uint64_t candidates = 0;       // rules nominated (Hyperscan, pending, always)
    uint64_t header_passed = 0;    // candidates whose header checks passed (payload inspected)
    uint64_t matches = 0;          // confirmed, pushed or not
    uint64_t sink_full = 0;        // confirmed but the MatchSink was full
    uint64_t hs_errors = 0;        // Hyperscan scan calls that failed
    uint64_t chunk_too_big = 0;
    uint64_t pending_evicted = 0;
    uint64_t retries_skipped = 0;  // re-tried candidates whose contents are absent from the new chunk
    uint64_t streams_opened = 0;
    uint64_t streams_closed = 0;   // streams given back (pooled or freed): active = opened - closed
    uint64_t streams_peak = 0;     // most streams live at once since start (size stream_prealloc by it)
    uint64_t stream_open_failed = 0;
    uint64_t stream_allocs = 0;    // opens and window growths that took memory not prefaulted (beyond stream_prealloc)
    uint64_t window_grows = 0;     // windows moved to the next size class (or further) as their stream grew
    uint64_t window_grow_failed = 0;  // no bigger window (max_streams out): the stream kept its smaller one
    uint64_t flowbits_full = 0;    // flowbit sets refused: the flow already holds FlowBits::kMax bits
    uint64_t readers_not_kept = 0; // begin_packet found more anchored readers than it keeps: confirmed at once

    // Calls f("detect.<field>", value) for every counter, in declaration
    // order: stats export them all (a counted drop must be visible).
    template <class F>
    void visit(F&& f) const {
        f("detect.packet_scans", packet_scans);
        f("detect.stream_scans", stream_scans);
        f("detect.bytes", bytes);
        f("detect.stream_bytes", stream_bytes);
        f("detect.gated", gated);
        f("detect.candidates", candidates);
        f("detect.header_passed", header_passed);
        f("detect.matches", matches);
        f("detect.sink_full", sink_full);
        f("detect.hs_errors", hs_errors);
        f("detect.chunk_too_big", chunk_too_big);
        f("detect.pending_evicted", pending_evicted);
        f("detect.retries_skipped", retries_skipped);
        f("detect.streams_opened", streams_opened);
        f("detect.streams_closed", streams_closed);
        f("detect.streams_peak", streams_peak);
        f("detect.stream_open_failed", stream_open_failed);
        f("detect.stream_allocs", stream_allocs);
        f("detect.window_grows", window_grows);
        f("detect.window_grow_failed", window_grow_failed);
        f("detect.flowbits_full", flowbits_full);
        f("detect.readers_not_kept", readers_not_kept);
    }
};

// Detection state of one TCP direction. Lives in the flow entry; opened and
// closed through the Scanner that scans it (and only that one).
struct StreamHandle {
    static constexpr uint32_t kMaxPending = 8;
    enum class State : uint8_t { kNew, kActive, kIdle, kFailed };

    // A rule whose anchor matched but whose other keywords did not (yet): it
    // is re-tried on later chunks while the anchor is still in the window.
    // 8 bytes: the anchor's end is kept as the low 32 bits of its stream
    // offset. Entries leave when their anchor leaves the window, so every
    // stored end lies less than 2^32 bytes behind any later stream position
    // `ref`, and anchor_end() recovers the full offset from it.
    struct Pending {
        uint32_t rule = 0;
        uint32_t anchor_end_lo = 0;  // low 32 bits of the stream offset just past the anchor match
        uint64_t anchor_end(uint64_t ref) const noexcept {
            return ref - static_cast<uint32_t>(static_cast<uint32_t>(ref) - anchor_end_lo);
        }
    };

    hs_stream_t* hs = nullptr;
    uint8_t* window = nullptr;  // ring of the class's capacity: stream byte x at x % capacity
    uint64_t offset = 0;        // stream bytes scanned so far
    uint32_t window_len = 0;
    State state = State::kNew;  // kIdle: no rule can fire here (ports, empty group)
    GroupId group = GroupId::kStreamToServer;
    uint8_t npending = 0;
    uint8_t window_class = 0;   // Scanner::window_capacity(window_class) bytes
    Pending pending[kMaxPending];
};

class Scanner {
public:
    static Result<Scanner> create(std::shared_ptr<const Database> db, const ScannerOptions& opts = {});

    Scanner(Scanner&&) noexcept;
    Scanner& operator=(Scanner&&) noexcept;
    Scanner(const Scanner&) = delete;
    Scanner& operator=(const Scanner&) = delete;
    ~Scanner();

    // Block mode over one packet's payload: UDP, ICMP, other IP, and TCP
    // packet-level rules (plus TCP stream rules when !info.stream_added).
    // Returns the number of matches confirmed.
    uint32_t scan_packet(const PacketInfo& info, std::span<const uint8_t> payload, MatchSink& sink) noexcept;

    // The same in two halves, for a TCP packet whose payload also goes to
    // its stream: begin_packet confirms every candidate but the flowbit
    // readers and keeps those; the caller then scans the stream chunks the
    // packet released, and finish_packet confirms the kept readers, so they
    // see the bits the packet's stream matches set (Suricata runs all of a
    // packet's setters, packet or stream, before its readers). `info` and
    // `payload` must be the same in both calls.
    uint32_t begin_packet(const PacketInfo& info, std::span<const uint8_t> payload, MatchSink& sink) noexcept;
    uint32_t finish_packet(const PacketInfo& info, std::span<const uint8_t> payload, MatchSink& sink) noexcept;

    // Stream mode: `data` are the next in-order bytes of one TCP direction;
    // `info` describes the packet that carried them. The direction (and so
    // the database) is fixed by the first call's info.to_client.
    StreamHandle open_stream() noexcept { return StreamHandle{}; }
    uint32_t scan_stream(StreamHandle& h, std::span<const uint8_t> data, const PacketInfo& info, MatchSink& sink) noexcept;
    void close_stream(StreamHandle& h) noexcept;

    // Memory one open stream costs at most beyond its flow entry: Hyperscan
    // stream state (largest of the two directions) + a full window.
    size_t stream_bytes() const noexcept;
    // Hyperscan state of one stream (largest of the two directions).
    size_t stream_state_bytes() const noexcept;
    // Bytes of the windows open streams hold now (detect.stream_memory_bytes).
    uint64_t window_bytes_in_use() const noexcept;
    // Window classes: kMinWindow, doubling, up to window_bytes.
    static constexpr uint32_t kMinWindow = 256;
    static constexpr uint32_t kMaxWindowClasses = 10;  // 256 .. 65536 and one more
    uint32_t window_classes() const noexcept { return nclasses_; }
    uint32_t window_capacity(uint8_t window_class) const noexcept { return caps_[window_class]; }

    const ScanCounters& counters() const noexcept { return counters_; }
    // Memory the window pools hold, at its peak (for sizing; detect.stream_window_mapped_bytes).
    size_t window_mapped_bytes() const noexcept;
    const Database& database() const noexcept { return *db_; }

private:
    Scanner() = default;
    void release() noexcept;
    void begin_scan(const Group& g) noexcept;
    void nominate(uint32_t rule, uint64_t end) noexcept;
    void nominate_pattern(unsigned id, uint64_t end) noexcept;
    void nominate_unanchored(const Group& g, const PacketInfo& info) noexcept;
    void nominate_by_flowbits(const Group& g, const PacketInfo& info) noexcept;
    bool start_stream(StreamHandle& h, const PacketInfo& info) noexcept;
    void remember(StreamHandle& h, uint32_t rule, uint64_t anchor_end, uint64_t chunk_end) noexcept;
    static void forget(StreamHandle& h, uint32_t rule) noexcept;
    void push(uint32_t rule, bool from_stream, const PacketInfo& info, MatchSink& sink) noexcept;
    uint32_t scan_packet_candidates(const Group& g, const PacketInfo& info, std::span<const uint8_t> payload) noexcept;
    uint32_t confirm_packet(uint32_t pass, const Group& g, const PacketInfo& info, std::span<const uint8_t> payload,
                            MatchSink& sink) noexcept;
    // 2 when some rule tests flowbits: those are confirmed in a second pass.
    uint32_t confirm_passes() const noexcept { return db_->stats().flowbit_check_rules ? 2 : 1; }

    static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void* ctx);

    std::shared_ptr<const Database> db_;
    ScannerOptions opts_;
    hs_scratch_t* scratch_ = nullptr;
    InspectScratch inspect_;
    const Group* group_ = nullptr;  // group of the scan in progress (for the callback)
    uint32_t epoch_ = 0;
    std::vector<uint32_t> seen_;    // per rule: epoch it was nominated in
    std::vector<uint32_t> slot_;    // per rule: index in cand_ for that epoch
    std::vector<uint32_t> cand_;
    std::vector<uint64_t> cand_end_;  // anchor end offset (0: not from an anchor)
    uint32_t ncand_ = 0;
    std::vector<uint8_t> confirm_;    // window + chunk, contiguous
    // begin_packet's readers for finish_packet: rule, anchor end (0: none).
    static constexpr uint32_t kMaxKeptReaders = 64;
    struct KeptReader {
        uint32_t rule;
        uint64_t end;
    };
    KeptReader kept_[kMaxKeptReaders];
    uint32_t nkept_ = 0;
    const Group* kept_group_ = nullptr;  // nullptr: no begin_packet pending (or its readers ran at once)
    std::vector<hs_stream_t*> free_streams_[2];
    void grow_window(StreamHandle& h, uint64_t need) noexcept;
    BlockPool windows_[kMaxWindowClasses];  // one per class, caps_[class] bytes each
    uint32_t caps_[kMaxWindowClasses] = {};
    uint32_t nclasses_ = 0;
    ScanCounters counters_;
};

}  // namespace vtap::detect
