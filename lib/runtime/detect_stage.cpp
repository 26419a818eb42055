// Hot path of detection on a worker. Read top to bottom: process() builds the
// packet's facts, scans it, hands TCP payload to reassembly (whose in-order
// chunks reach on_chunk -> scan_stream), then publishes the matches.
#include "runtime/detect_stage.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <netinet/in.h>

#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_mbuf_dyn.h>

#include "core/pkt_meta.hpp"
#include "decap/decap.hpp"
#include "flow/tcp.hpp"
#include "shard/shard.hpp"
#include "wire/parse.hpp"

namespace vtap::runtime {

struct DetectStage::Packet {
    const uint8_t* frame;
    uint32_t len;                // contiguous bytes at frame (first segment)
    const PktMeta* meta;
    flow::Flow* flow;
    flow::Direction dir;
    detect::PacketInfo info;
    std::span<const uint8_t> payload;
};

namespace {

uint64_t wall_ns() noexcept {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);  // vDSO: no syscall
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

void fill_addresses(const uint8_t* frame, const PktMeta& m, detect::PacketInfo& info) noexcept {
    const uint8_t* ip = frame + m.l3_off;
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv4)) {
        info.src.family = info.dst.family = 4;
        std::memcpy(info.src.bytes.data(), ip + 12, 4);
        std::memcpy(info.dst.bytes.data(), ip + 16, 4);
        info.ttl = ip[8];
    } else {
        info.src.family = info.dst.family = 6;
        std::memcpy(info.src.bytes.data(), ip + 8, 16);
        std::memcpy(info.dst.bytes.data(), ip + 24, 16);
        info.ttl = ip[7];
    }
}

void fill_l4(const uint8_t* frame, const PktMeta& m, detect::PacketInfo& info) noexcept {
    info.proto = m.l4_proto;
    // An L4 header longer than the IP payload: Suricata's L4 decode fails and
    // the packet keeps no transport protocol, so only `ip` rules can match.
    if (m.flags & kFlagL4Invalid) info.proto = 0;
    if (!(m.flags & kFlagL4Header)) return;
    const uint8_t* l4 = frame + m.l4_off;
    switch (m.l4_proto) {
    case IPPROTO_TCP:
        info.tcp_flags = l4[13];
        [[fallthrough]];
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
        info.src_port = uint16_t(l4[0] << 8 | l4[1]);
        info.dst_port = uint16_t(l4[2] << 8 | l4[3]);
        break;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        info.icmp_type = l4[0];
        info.icmp_code = l4[1];
        break;
    default:
        break;
    }
}

}  // namespace

Result<std::unique_ptr<DetectStage>> DetectStage::create(uint16_t worker, const flow::FlowConfig& fc,
                                                         std::shared_ptr<const detect::Database> db,
                                                         const ClassMap* classes, alert::AlertQueue* alerts,
                                                         uint16_t port, uint64_t rx_timestamp_ns_per_unit,
                                                         const detect::AlertFilterOptions& limits,
                                                         const detect::ScannerOptions& scan,
                                                         const flow::DefragConfig& defrag_cfg) {
    auto st = std::unique_ptr<DetectStage>(new DetectStage());
    st->worker_ = worker;
    st->port_ = port;
    flow::FlowConfig cfg = fc;
    cfg.worker = worker;
    auto table = flow::FlowTable::create(cfg);
    if (!table) return std::unexpected(table.error());
    st->flows_ = std::move(*table);
    st->flows_->set_close_hook(&DetectStage::on_close, st.get());
    auto defrag = flow::Defrag::create(defrag_cfg);
    if (!defrag) return std::unexpected(defrag.error());
    st->defrag_ = std::move(*defrag);
    auto sc = detect::Scanner::create(db, scan);
    if (!sc) return std::unexpected(sc.error());
    st->scanner_ = std::make_unique<detect::Scanner>(std::move(*sc));
    auto filter = detect::AlertFilter::create(limits);
    if (!filter) return std::unexpected(filter.error());
    st->filter_ = std::make_unique<detect::AlertFilter>(std::move(*filter));
    st->db_ = std::move(db);
    st->classes_ = classes;
    st->alerts_ = alerts;
    st->handles_.init(size_t{cfg.capacity} * 2);
    if (st->db_->stats().flowbit_names != 0) st->bits_.init(cfg.capacity);
    // net_pcap stamps each mbuf with the capture time (microseconds since the
    // epoch): detection then runs on the capture's clock (flow timeouts, EVE
    // timestamps), as Suricata does. Other PMDs stamp NIC clock ticks, which
    // are not wall time: those are ignored (scale 0).
    st->ts_scale_ = rx_timestamp_ns_per_unit;
    st->ts_offset_ = st->ts_scale_ ? rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr) : -1;
    int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
    st->ts_flag_ = bit >= 0 ? (uint64_t{1} << bit) : 0;
    return st;
}

DetectStage::~DetectStage() {
    flows_.reset();  // closes every flow: on_close releases its stream handles
}

detect::StreamHandle* DetectStage::handle(flow::Flow& f, flow::Direction d) noexcept {
    void*& slot = f.user[flow::index(d)];
    if (slot) return static_cast<detect::StreamHandle*>(slot);
    detect::StreamHandle* h = handles_.take();
    if (!h) {
        ctr_.no_stream_handle++;
        return nullptr;
    }
    *h = scanner_->open_stream();
    slot = h;
    return h;
}

detect::FlowBits* DetectStage::flowbits(flow::Flow& f) noexcept {
    if (f.user_flow) return static_cast<detect::FlowBits*>(f.user_flow);
    detect::FlowBits* b = bits_.take();
    if (!b) return nullptr;  // the rule set uses no flowbits
    b->clear();
    f.user_flow = b;
    return b;
}

void DetectStage::release_stream(flow::Flow& f, flow::Direction d) noexcept {
    void*& slot = f.user[flow::index(d)];
    if (!slot) return;
    auto* h = static_cast<detect::StreamHandle*>(slot);
    scanner_->close_stream(*h);
    handles_.give(h);
    slot = nullptr;
}

void DetectStage::on_close(void* ctx, flow::Flow& f, flow::CloseReason) noexcept {
    auto* self = static_cast<DetectStage*>(ctx);
    if (f.user_flow) {
        self->bits_.give(static_cast<detect::FlowBits*>(f.user_flow));
        f.user_flow = nullptr;
    }
    self->release_stream(f, flow::Direction::kToServer);
    self->release_stream(f, flow::Direction::kToClient);
}

// A direction whose stream can carry no more bytes gives its window and
// Hyperscan state back now, not when its flow times out (tcp_closing, 60 s
// later): nothing pending in it can complete any more. The flow stays for
// its packets, flowbits and thresholds.
void DetectStage::release_finished_streams(flow::Flow& f) noexcept {
    for (const flow::Direction d : {flow::Direction::kToServer, flow::Direction::kToClient})
        if (f.user[flow::index(d)] && flow::stream_finished(f, d)) release_stream(f, d);
}

void DetectStage::on_chunk(void* ctx, flow::Flow& f, flow::Direction d, const flow::StreamChunk& c) noexcept {
    auto* self = static_cast<DetectStage*>(ctx);
    const Packet& p = *self->current_;
    detect::StreamHandle* h = self->handle(f, d);
    if (!h) return;
    if (c.event == flow::StreamEvent::kGap) {
        // Bytes after a hole do not continue the stream: start a new one.
        self->scanner_->close_stream(*h);
        *h = self->scanner_->open_stream();
        return;
    }
    detect::PacketInfo info = p.info;
    if (d != p.dir) {  // an ACK released the other direction's buffered bytes
        std::swap(info.src, info.dst);
        std::swap(info.src_port, info.dst_port);
        info.to_server = d == flow::Direction::kToServer;
        info.to_client = !info.to_server;
    }
    self->scanner_->scan_stream(*h, c.bytes, info, self->sink_);
}

void DetectStage::publish(const Packet& p, const detect::Match& match) noexcept {
    alert::AlertRecord r;
    const PktMeta& m = *p.meta;
    r.ts_ns = p.info.ts_ns;
    r.flow_id = p.flow ? p.flow->flow_id : 0;
    if (p.info.src.family == 4) {
        r.family = 4;
        std::memcpy(r.src_addr.data(), p.info.src.bytes.data(), 4);
        std::memcpy(r.dst_addr.data(), p.info.dst.bytes.data(), 4);
    } else {
        r.set_ipv6(p.info.src.bytes.data(), p.info.dst.bytes.data());
    }
    const bool icmp = m.l4_proto == IPPROTO_ICMP || m.l4_proto == IPPROTO_ICMPV6;
    r.src_port = icmp ? p.info.icmp_type : p.info.src_port;
    r.dst_port = icmp ? p.info.icmp_code : p.info.dst_port;
    r.ip_proto = m.l4_proto;
    r.direction = !p.flow ? alert::Direction::kUnknown
                  : p.dir == flow::Direction::kToServer ? alert::Direction::kToServer
                                                         : alert::Direction::kToClient;
    r.tunneled = !(m.flags & kFlagUntunneled);
    r.vni = Vni(m.vni);
    r.tap_src = m.tap_src;
    r.tap_dst = m.tap_dst;
    r.gid = match.gid;
    r.sid = match.sid;
    r.rev = match.rev;
    r.worker = WorkerId(worker_);
    r.port = PortId(port_);
    const rules::Rule& rule = db_->source(match.rule);
    r.priority = rule.priority;
    r.msg.set(rule.msg);
    r.class_name.set(rule.classtype);
    if (classes_) {
        if (auto it = classes_->find(rule.classtype); it != classes_->end()) r.class_desc.set(it->second.first);
    }
    r.payload.set(p.payload.data(), p.payload.size());
    ctr_.alerts++;
    if (!alerts_ || !alerts_->publish(r)) ctr_.alerts_dropped++;
}

void DetectStage::process(rte_mbuf* mb, uint64_t now_ns) noexcept {
    const uint8_t* frame = rte_pktmbuf_mtod(mb, const uint8_t*);
    const PktMeta& m = pkt_meta(mb);
    shard::Arrival arrival{};
    if (handoff_) {
        // Datagrams other workers completed before this packet arrived come first.
        arrival = shard::arrival_of(mb);
        ctr_.handoff_received += handoff_->before_packet(worker_, arrival, handed());
    }
    if (mb->nb_segs > 1) ctr_.multi_segment++;
    if (ts_offset_ >= 0 && (mb->ol_flags & ts_flag_))
        now_ns = *RTE_MBUF_DYNFIELD(mb, ts_offset_, const uint64_t*) * ts_scale_;
    last_now_ns_ = now_ns;
    if (m.flags & kFlagFragment) {
        // IPv4 or IPv6. Not scanned alone (no rule, not even an `ip` one,
        // sees a lone fragment): the datagram is scanned once it is whole.
        const flow::Reassembled* r = defrag_->add(frame, mb->data_len, m, now_ns);
        if (r) process_reassembled(*r, arrival, now_ns);
        return;
    }
    process_frame(frame, mb->data_len, m, now_ns);
}

void DetectStage::process_reassembled(const flow::Reassembled& r, shard::Arrival a, uint64_t now_ns) noexcept {
    PktMeta m = r.meta;
    if (!decap::reparse_datagram(r.frame, r.len, m)) {
        ctr_.defrag_parse_failed++;
        return;
    }
    m.flow_hash = shard::flow_hash(r.frame, m);  // the fragments' hash keyed on addresses only
    if (handoff_) {
        // Its flow lives where shard sends the 5-tuple's unfragmented packets.
        const uint16_t owner = shard::worker_of(m.flow_hash, handoff_->workers());
        if (owner != worker_) {
            if (handoff_->send(owner, r.frame, r.len, m, a, now_ns)) ctr_.handed_off++;
            else ctr_.handoff_dropped++;
            return;
        }
    }
    process_frame(r.frame, r.len, m, now_ns);
}

void DetectStage::process_handed(const HandoffItem& it) noexcept {
    // The datagram is a packet of this worker's clock too: it may open a
    // flow here before any packet of the worker has, and idle expiry must
    // then run on capture time, not on the wall clock, which would time
    // that flow out at once. Never backwards: it may be older than the
    // packets processed since.
    if (it.now_ns > last_now_ns_) last_now_ns_ = it.now_ns;
    process_frame(it.frame(), it.len, it.meta, it.now_ns);
}

void DetectStage::process_frame(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns) noexcept {
    if (m.flags & kFlagL4Invalid) ctr_.l4_invalid++;
    Packet p{};
    p.frame = frame;
    p.len = len;
    p.meta = &m;

    fill_addresses(p.frame, m, p.info);
    fill_l4(p.frame, m, p.info);
    const uint32_t poff = m.payload_off < p.len ? m.payload_off : p.len;
    p.payload = {p.frame + poff, p.len - poff};
    p.info.dsize = static_cast<uint16_t>(p.payload.size());
    p.info.ts_ns = now_ns;

    const flow::Lookup lk = flows_->lookup_or_create(p.frame, m, now_ns);
    if (lk.created) wctr_->flows.add();
    else if (!lk.flow) wctr_->flow_table_full.add();
    p.flow = lk.flow;
    p.dir = lk.dir;
    flow::TcpSegment seg;
    const bool tcp = p.flow && flow::parse_tcp(p.frame, p.len, m, seg);
    if (p.flow) {
        p.info.has_flow = true;
        p.info.to_server = lk.dir == flow::Direction::kToServer;
        p.info.to_client = !p.info.to_server;
        const bool both_ways = p.flow->dir[0].packets && p.flow->dir[1].packets;
        p.info.established = m.l4_proto == IPPROTO_TCP ? p.flow->state == flow::FlowState::kEstablished : both_ways;
        p.info.stream_added = tcp && !seg.payload.empty() && !(p.flow->flags & flow::kFlowUntracked);
        p.info.flowbits = flowbits(*p.flow);
    }
    if (tcp && !(p.flow->flags & flow::kFlowUntracked)) {
        // As Suricata's stream_size sees them after this packet (the header
        // checks run before tcp_segment below moves the stream).
        p.info.tcp_session = true;
        const uint32_t own = flow::stream_size_after(*p.flow, p.dir, seg);
        const uint32_t peer = flow::stream_size_now(*p.flow, flow::opposite(p.dir));
        const bool to_server = p.dir == flow::Direction::kToServer;  // the client's direction
        p.info.stream_size[0] = to_server ? own : peer;
        p.info.stream_size[1] = to_server ? peer : own;
    }

    current_ = &p;
    if (tcp) {
        // The packet's flowbit readers are confirmed after the stream chunks
        // the segment releases, so they see what those set (Scanner::begin_packet).
        scanner_->begin_packet(p.info, p.payload, sink_);
        flows_->tcp_segment(*p.flow, p.dir, seg, now_ns, flow::Sink{&DetectStage::on_chunk, this});
        scanner_->finish_packet(p.info, p.payload, sink_);
        release_finished_streams(*p.flow);
        // The segment may have completed the handshake.
        p.info.established = p.flow->state == flow::FlowState::kEstablished;
    } else {
        scanner_->scan_packet(p.info, p.payload, sink_);
    }
    filter_->finalize(*db_, p.info, sink_);
    for (const detect::Match& match : sink_) publish(p, match);
    sink_.clear();
    current_ = nullptr;
}

// The RX lcore wrote every mbuf and frame of the burst on the other core, so
// each first touch here is a cache-to-cache transfer (profile: most of
// process() and the first header read in process_frame). The burst's mbuf
// lines (header, dynfields) are requested up front, each frame's first
// lines a few packets ahead, and the next packet's whole frame (what
// Hyperscan will read) while this one is scanned. The flow lookup is two
// dependent misses once the table outgrows the caches (index entry, then
// Flow); they are requested ahead too, as DPDK's rte_hash bulk lookup does
// (bench/flow_bench BM_FlowLookupBurst: 1.9x at 100k flows). Going further
// down the chain (stream handle, Hyperscan state) measured slower.
void DetectStage::prefetch_ahead(rte_mbuf** pkts, uint16_t n, int i) noexcept {
    constexpr int kFrameAhead = 3;
    constexpr uint32_t kWholeFrame = 2048;  // prefetch at most this much of the next frame
    if (i + 4 < n) flows_->prefetch_index(pkt_meta(pkts[i + 4]).flow_hash);
    if (i + 3 >= 0 && i + 3 < n) flows_->prefetch_flow(pkt_meta(pkts[i + 3]).flow_hash);
    if (i + kFrameAhead >= 0 && i + kFrameAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kFrameAhead], const uint8_t*));
    if (i + 1 >= 0 && i + 1 < n) {
        const uint8_t* next = rte_pktmbuf_mtod(pkts[i + 1], const uint8_t*);
        const uint32_t len = std::min<uint32_t>(pkts[i + 1]->data_len, kWholeFrame);
        for (uint32_t off = RTE_CACHE_LINE_SIZE; off < len; off += RTE_CACHE_LINE_SIZE) rte_prefetch0(next + off);
    }
}

void DetectStage::on_burst(rte_mbuf** pkts, uint16_t n, WorkerCounters& ctr) noexcept {
    wctr_ = &ctr;
    // Datagrams handed over so far wait for their place among the burst's packets.
    if (handoff_) ctr_.handoff_received += handoff_->poll(worker_, false, handed());
    const uint64_t now = wall_ns();
    for (uint16_t i = 0; i < n; i++) {
        rte_prefetch0(pkts[i]);
        rte_prefetch0(RTE_PTR_ADD(pkts[i], RTE_CACHE_LINE_SIZE));
    }
    // From four packets before the first, so the first packets' lines are requested too.
    for (int i = -4; i < n; i++) {
        prefetch_ahead(pkts, n, i);
        if (i >= 0) process(pkts[i], now);
    }
    // Idle flows time out here too, up to one per packet of the burst, so
    // expiry keeps pace with flow creation: a worker whose ring never runs
    // dry (on_idle never called) used to keep every dead flow and its
    // streams until the full table evicted them. With nothing due this is
    // one compare per timeout class.
    flows_->expire(last_now_ns_, n);
}

void DetectStage::on_idle(WorkerCounters& ctr) noexcept {
    wctr_ = &ctr;
    if (handoff_) ctr_.handoff_received += handoff_->poll(worker_, true, handed());
    // Expire on the clock the packets run on (capture time offline). Before
    // the first packet of a capture there is nothing to expire, and the wall
    // clock would read as the capture's time stepping back by years.
    if (ts_offset_ >= 0 && !last_now_ns_) return;
    const uint64_t now = ts_offset_ >= 0 ? last_now_ns_ : wall_ns();
    flows_->expire(now, 64);
    defrag_->expire(now);
}

bool DetectStage::on_stopped(WorkerCounters& ctr) noexcept {
    wctr_ = &ctr;
    if (!handoff_) return false;
    // A burst's worth at a time, so the alerts they raise fit the queue
    // the caller drains in between.
    constexpr unsigned kBatch = 32;
    ctr_.handoff_received += handoff_->flush(worker_, kBatch, handed());
    return handoff_->pending(worker_);
}

void DetectStage::append_stats(const std::string& prefix, StatList& out) const {
    flows_->counters().visit([&](const char* name, uint64_t v) { out.emplace_back(prefix + name, v); });
    const auto& s = scanner_->counters();
    s.visit([&](const char* name, uint64_t v) { out.emplace_back(prefix + name, v); });
    out.emplace_back(prefix + "detect.stream_handles_exhausted", ctr_.no_stream_handle);
    // Memory, for sizing (issue 5). Workers' values are summed, so only
    // totals here: the flow table (allocated whole at start) and the active
    // streams' Hyperscan state plus confirmation windows.
    const uint64_t streams = s.streams_opened - s.streams_closed;
    out.emplace_back(prefix + "flow.memory_bytes", flows_->memory_bytes());
    out.emplace_back(prefix + "detect.streams_active", streams);
    out.emplace_back(prefix + "detect.stream_memory_bytes",
                     streams * scanner_->stream_state_bytes() + scanner_->window_bytes_in_use());
    // What the window pool holds: its peak, as windows are reused, not freed.
    out.emplace_back(prefix + "detect.stream_window_mapped_bytes", scanner_->window_mapped_bytes());
    out.emplace_back(prefix + "detect.multi_segment", ctr_.multi_segment);
    out.emplace_back(prefix + "detect.l4_invalid", ctr_.l4_invalid);
    const auto& f = filter_->counters();
    out.emplace_back(prefix + "detect.threshold_suppressed", f.threshold_suppressed);
    out.emplace_back(prefix + "detect.threshold_evicted", f.threshold_evicted);
    out.emplace_back(prefix + "detect.packet_alert_overflow", f.packet_alert_overflow);
    out.emplace_back(prefix + "alert.generated", ctr_.alerts);
    const auto& d = defrag_->counters();
    out.emplace_back(prefix + "defrag.fragments", d.fragments);
    out.emplace_back(prefix + "defrag.reassembled", d.reassembled);
    out.emplace_back(prefix + "defrag.timeouts", d.timeouts);
    out.emplace_back(prefix + "defrag.evicted", d.evicted);
    out.emplace_back(prefix + "defrag.invalid", d.invalid + ctr_.defrag_parse_failed);
    out.emplace_back(prefix + "defrag.memory_bytes", defrag_->memory_bytes());
    out.emplace_back(prefix + "defrag.handed_off", ctr_.handed_off);
    out.emplace_back(prefix + "defrag.handoff_received", ctr_.handoff_received);
    out.emplace_back(prefix + "defrag.handoff_dropped", ctr_.handoff_dropped);
}

}  // namespace vtap::runtime
