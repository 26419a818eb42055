// The worker stage that does detection: per packet, find the flow
// (lib/flow), scan the packet (lib/detect block mode), feed TCP payload to
// reassembly and the in-order bytes to the direction's Hyperscan stream, and
// publish every confirmed match as an AlertRecord (lib/alert) without
// blocking. One instance per worker; nothing shared but the immutable
// compiled Database.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alert/alert_queue.hpp"
#include "core/prefaulted.hpp"
#include "alert/alert_record.hpp"
#include "detect/alert_filter.hpp"
#include "detect/database.hpp"
#include "detect/scanner.hpp"
#include "flow/defrag.hpp"
#include "flow/flow_table.hpp"
#include "runtime/defrag_handoff.hpp"
#include "runtime/worker_stage.hpp"

namespace vtap::runtime {

// classtype name -> (description, priority), from classification.config.
using ClassMap = std::map<std::string, std::pair<std::string, uint8_t>>;

class DetectStage final : public WorkerStage {
public:
    static Result<std::unique_ptr<DetectStage>> create(uint16_t worker, const flow::FlowConfig& fc,
                                                       std::shared_ptr<const detect::Database> db,
                                                       const ClassMap* classes, alert::AlertQueue* alerts,
                                                       uint16_t port, uint64_t rx_timestamp_ns_per_unit,
                                                       const detect::AlertFilterOptions& limits = {},
                                                       const detect::ScannerOptions& scan = {},
                                                       const flow::DefragConfig& defrag = {});
    ~DetectStage() override;
    void on_burst(rte_mbuf** pkts, uint16_t n, WorkerCounters& ctr) noexcept override;
    void on_idle(WorkerCounters& ctr) noexcept override;
    bool on_stopped(WorkerCounters& ctr) noexcept override;
    // With more than one worker: a datagram reassembled here whose 5-tuple
    // hashes to another worker is sent there, and those sent to this worker
    // are processed in arrival order among its packets (DefragHandoff; RX
    // must stamp arrivals). Null (one worker, run to completion): every
    // datagram is processed where it was reassembled.
    void connect_handoff(DefragHandoff* h) noexcept { handoff_ = h; }
    void append_stats(const std::string& prefix, StatList& out) const override;
    const detect::ScanCounters& scan_counters() const noexcept { return scanner_->counters(); }

    // Counters of this stage (single writer: the worker).
    struct Counters {
        uint64_t alerts = 0;           // alert.generated: matches turned into records
        uint64_t alerts_dropped = 0;   // alert.dropped: queue full
        uint64_t no_stream_handle = 0; // detect.stream_handles_exhausted
        uint64_t l4_invalid = 0;       // detect.l4_invalid: L4 header past the IP payload, IP rules only
        uint64_t multi_segment = 0;    // detect.multi_segment: payload past the first mbuf segment not scanned
        uint64_t defrag_parse_failed = 0;  // reassembled datagram the inner parse rejects (in defrag.invalid)
        uint64_t handed_off = 0;        // defrag.handed_off: datagrams sent to their 5-tuple's worker
        uint64_t handoff_received = 0;  // defrag.handoff_received: datagrams other workers sent here
        uint64_t handoff_dropped = 0;   // defrag.handoff_dropped: no free handoff item (not processed)
    };

private:
    struct Packet;  // the packet being processed (for the stream sink callback)
    DetectStage() = default;
    void process(rte_mbuf* m, uint64_t now_ns) noexcept;
    void prefetch_ahead(rte_mbuf** pkts, uint16_t n, int i) noexcept;
    void process_reassembled(const flow::Reassembled& r, shard::Arrival a, uint64_t now_ns) noexcept;
    void process_frame(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns) noexcept;
    void process_handed(const HandoffItem& it) noexcept;
    auto handed() noexcept {
        return [this](const HandoffItem& it) { process_handed(it); };
    }
    void publish(const Packet& p, const detect::Match& match) noexcept;
    detect::StreamHandle* handle(flow::Flow& f, flow::Direction d) noexcept;
    detect::FlowBits* flowbits(flow::Flow& f) noexcept;
    static void on_chunk(void* ctx, flow::Flow& f, flow::Direction d, const flow::StreamChunk& c) noexcept;
    static void on_close(void* ctx, flow::Flow& f, flow::CloseReason why) noexcept;
    void release_stream(flow::Flow& f, flow::Direction d) noexcept;
    void release_finished_streams(flow::Flow& f) noexcept;

    uint16_t worker_ = 0;
    uint16_t port_ = 0;
    std::unique_ptr<flow::FlowTable> flows_;
    std::unique_ptr<flow::Defrag> defrag_;  // IPv4 and IPv6 fragments of this worker's address pairs
    DefragHandoff* handoff_ = nullptr;      // shared by the workers; null with one
    std::unique_ptr<detect::Scanner> scanner_;
    std::unique_ptr<detect::AlertFilter> filter_;  // thresholds and packet_alert_max, before publish
    std::shared_ptr<const detect::Database> db_;
    const ClassMap* classes_ = nullptr;
    alert::AlertQueue* alerts_ = nullptr;
    detect::MatchSink sink_;
    // Per-flow state behind Flow's user pointers, allocated at create() and
    // handed out through a free list of indexes: no allocation per flow.
    template <class T>
    struct Pool {
        PrefaultedVector<T> items;
        std::vector<uint32_t> free;
        void init(size_t n) {
            items.resize(n);
            free.reserve(n);
            for (size_t i = n; i-- > 0;) free.push_back(static_cast<uint32_t>(i));
        }
        T* take() noexcept {  // nullptr when every item is in use
            if (free.empty()) return nullptr;
            T* t = &items[free.back()];
            free.pop_back();
            return t;
        }
        void give(T* t) noexcept { free.push_back(static_cast<uint32_t>(t - items.data())); }
    };
    // Stream handles for the flows' two directions: flow capacity x 2.
    Pool<detect::StreamHandle> handles_;
    // flowbits per flow (Flow::user_flow), when the rule set uses any: one
    // per flow-table slot, so taking one never fails (empty otherwise).
    Pool<detect::FlowBits> bits_;
    const Packet* current_ = nullptr;
    WorkerCounters* wctr_ = nullptr;  // the worker's counters, for the burst in progress
    uint64_t last_now_ns_ = 0;
    int ts_offset_ = -1;      // rte_mbuf timestamp dynfield (net_pcap: capture time), -1 = none
    uint64_t ts_flag_ = 0;
    uint64_t ts_scale_ = 0;   // ns per timestamp unit; 0 = ignore PMD timestamps
    Counters ctr_;
};

}  // namespace vtap::runtime
