// detect_ceiling: the ceiling of end-to-end detection (issue 3), the baseline
// bench/e2e_detect.py runs next to vtapd in the same run.
//
// It reads the same VTAP capture and the same vtapd configuration, and in an
// untimed pass does what vtapd's RX lcore and worker do to each frame before
// detection (outer checks, inner parse, trim, IP reassembly with lib/flow's
// Defrag, flow lookup, TCP reassembly with lib/flow), recording every byte
// range the worker hands to its Scanner and which database scans it: each
// packet's payload in block mode (the group scan_packet picks), each TCP
// direction's in-order bytes in stream mode (a new stream after a gap, the
// stream given back when its direction ends or its flow closes). The
// databases come from runtime::load_and_compile on the config's detect
// section, as vtapd's do. Then it times Hyperscan alone over those ranges in
// order, doing nothing per match: no header checks, no confirmation, no
// flow table. That is the rate detection could reach on one core if vtapd
// cost nothing but Hyperscan.
//
// Not modelled (they only shift which bytes count, and the summary lets the
// script compare packets and bytes with vtapd's counters): port gates (the
// ceiling scans every payload), where exactly vtapd's bursts end (the
// ceiling expires idle flows after every burst_size delivered packets, as a
// saturated worker does; vtapd also expires when its ring runs dry).
//
//   detect_ceiling -c CONFIG --pcap FILE [--repeat N]
// Prints one JSON object: packets, inner bytes, scanned bytes, median scan
// seconds over N passes, Gbit/s and packets/s, and the per-flow state sizes.
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/pkt_meta.hpp"
#include "decap/decap.hpp"
#include "detect/database.hpp"
#include "detect/scanner.hpp"
#include "flow/defrag.hpp"
#include "flow/flow_table.hpp"
#include "flow/tcp.hpp"
#include "runtime/rule_loading.hpp"
#include "shard/shard.hpp"
#include "wire/parse.hpp"

using namespace vtap;

namespace {

constexpr uint32_t kMbufHeadroom = 128;  // RTE_PKTMBUF_HEADROOM: first segment = data_room - this
constexpr uint32_t kNoStream = UINT32_MAX;

// One call the worker makes into its Scanner that reaches Hyperscan.
struct ScanOp {
    enum Kind : uint8_t { kBlock, kStream, kClose };
    Kind kind = kBlock;
    detect::GroupId group = detect::GroupId::kOther;
    uint32_t stream = kNoStream;  // kStream, kClose: stream id
    uint64_t off = 0;             // bytes: arena[off, off + len)
    uint32_t len = 0;
};

struct Recording {
    std::vector<ScanOp> ops;
    std::vector<uint8_t> arena;
    uint32_t streams = 0;  // ids handed out
    uint64_t packets = 0;  // frames delivered to the worker (decap.delivered)
    uint64_t inner_bytes = 0;
    uint64_t dropped = 0;  // frames decap would drop
};

// Stream ids live in Flow::user[dir] as id + 1 (null: no stream yet), the
// slot vtapd keeps its StreamHandle in.
uint32_t stream_of(flow::Flow& f, flow::Direction d, Recording& rec) {
    void*& slot = f.user[flow::index(d)];
    if (!slot) slot = reinterpret_cast<void*>(uintptr_t{++rec.streams});
    return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(slot) - 1);
}

void close_stream(flow::Flow& f, flow::Direction d, Recording& rec) {
    void*& slot = f.user[flow::index(d)];
    if (!slot) return;
    ScanOp op;
    op.kind = ScanOp::kClose;
    op.group = d == flow::Direction::kToServer ? detect::GroupId::kStreamToServer : detect::GroupId::kStreamToClient;
    op.stream = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(slot) - 1);
    rec.ops.push_back(op);
    slot = nullptr;
}

void on_chunk(void* ctx, flow::Flow& f, flow::Direction d, const flow::StreamChunk& c) noexcept {
    auto& rec = *static_cast<Recording*>(ctx);
    if (c.event == flow::StreamEvent::kGap) {  // vtapd: close the stream, open a new one
        close_stream(f, d, rec);
        return;
    }
    if (c.bytes.empty()) return;
    ScanOp op;
    op.kind = ScanOp::kStream;
    op.group = d == flow::Direction::kToServer ? detect::GroupId::kStreamToServer : detect::GroupId::kStreamToClient;
    op.stream = stream_of(f, d, rec);
    op.off = rec.arena.size();
    op.len = static_cast<uint32_t>(c.bytes.size());
    rec.arena.insert(rec.arena.end(), c.bytes.begin(), c.bytes.end());
    rec.ops.push_back(op);
}

void on_close(void* ctx, flow::Flow& f, flow::CloseReason) noexcept {
    auto& rec = *static_cast<Recording*>(ctx);
    close_stream(f, flow::Direction::kToServer, rec);
    close_stream(f, flow::Direction::kToClient, rec);
}

// Scanner::scan_packet's choice of database (scanner.cpp, packet_group).
detect::GroupId packet_group(uint8_t proto, bool stream_added) {
    switch (proto) {
        case 6: return stream_added ? detect::GroupId::kTcpPacket : detect::GroupId::kTcpNoStream;
        case 17: return detect::GroupId::kUdp;
        case 1:
        case 58: return detect::GroupId::kIcmp;
        default: return detect::GroupId::kOther;
    }
}

// What DetectStage::process_frame hands to its Scanner for one whole packet.
void record_inner(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns, flow::FlowTable& flows,
                  Recording& rec) {
    const uint8_t proto = (m.flags & kFlagL4Invalid) ? 0 : m.l4_proto;
    const uint32_t poff = std::min<uint32_t>(m.payload_off, len);
    const flow::Lookup lk = flows.lookup_or_create(frame, m, now_ns);
    flow::TcpSegment seg;
    const bool tcp = lk.flow && flow::parse_tcp(frame, len, m, seg);
    const bool stream_added = lk.flow && tcp && !seg.payload.empty() && !(lk.flow->flags & flow::kFlowUntracked);
    if (len > poff) {
        ScanOp op;
        op.kind = ScanOp::kBlock;
        op.group = packet_group(proto, stream_added);
        op.off = rec.arena.size();
        op.len = len - poff;
        rec.arena.insert(rec.arena.end(), frame + poff, frame + len);
        rec.ops.push_back(op);
    }
    if (!tcp) return;
    flows.tcp_segment(*lk.flow, lk.dir, seg, now_ns, flow::Sink{&on_chunk, &rec});
    // DetectStage::release_finished_streams: a direction that can carry no
    // more bytes gives its stream back at once.
    for (const flow::Direction d : {flow::Direction::kToServer, flow::Direction::kToClient})
        if (flow::stream_finished(*lk.flow, d)) close_stream(*lk.flow, d, rec);
}

// One frame as vtapd's RX lcore (decap) and DetectStage::process see it.
void record_frame(const uint8_t* data, uint32_t caplen, uint64_t now_ns, const config::Config& cfg,
                  flow::FlowTable& flows, flow::Defrag& defrag, Recording& rec) {
    const auto& dc = cfg.decap;
    // net_pcap copies a frame into data_room-sized segments and the worker
    // scans the first (detect.multi_segment); a preloaded port attaches each
    // frame whole to one mbuf, cut at 65,535 bytes (an extbuf's length).
    const bool preload = !cfg.ports.empty() && cfg.ports[0].preload;
    const uint32_t seg_max = preload ? 65535u : uint32_t{cfg.mempool.data_room} - kMbufHeadroom;
    const uint32_t first_seg = std::min<uint32_t>(caplen, seg_max);
    wire::OuterInfo o;
    DropReason why;
    if (wire::parse_outer(data, first_seg, caplen, dc.udp_port, o, why) == wire::Verdict::kDrop ||
        !dc.source_allowed(ntohl(o.src)) || !dc.vni_allowed(o.vni) ||
        (o.reserved_set && dc.reserved_bits == decap::ReservedBits::kStrict) || o.inner_len > dc.max_inner_frame) {
        ++rec.dropped;
        return;
    }
    const uint8_t* frame = data + o.inner_off;
    const uint32_t avail = first_seg - o.inner_off;
    wire::InnerInfo in;
    if (wire::parse_inner(frame, avail, o.inner_len, in, why) == wire::Verdict::kDrop) {
        ++rec.dropped;
        return;
    }
    PktMeta m{};
    m.tap_src = o.src;
    m.tap_dst = o.dst;
    m.vni = o.vni;
    m.flags = o.reserved_set ? kFlagVxlanReserved : 0;
    decap::set_inner_meta(m, in);
    m.flow_hash = shard::flow_hash(frame, m);
    const uint32_t len = std::min<uint32_t>(avail, in.end);  // decap trims to the IP packet
    ++rec.packets;
    rec.inner_bytes += std::min<uint32_t>(caplen - o.inner_off, in.end);
    if (m.flags & kFlagFragment) {
        // As DetectStage::process: a fragment is not scanned; the datagram
        // it completes is, re-parsed (process_reassembled).
        const flow::Reassembled* r = defrag.add(frame, len, m, now_ns);
        if (!r) return;
        PktMeta rm = r->meta;
        if (!decap::reparse_datagram(r->frame, r->len, rm)) return;
        rm.flow_hash = shard::flow_hash(r->frame, rm);
        record_inner(r->frame, r->len, rm, now_ns, flows, rec);
        return;
    }
    record_inner(frame, len, m, now_ns, flows, rec);
}

int noop(unsigned, unsigned long long, unsigned long long, unsigned, void*) { return 0; }

// One timed pass of Hyperscan over the recording. Streams are opened on
// their first bytes and reset into a pool when closed, as the Scanner does.
double scan_pass(const Recording& rec, const detect::Database& db, hs_scratch_t* scratch, uint64_t& errors) {
    std::vector<hs_stream_t*> streams(rec.streams, nullptr);
    std::vector<hs_stream_t*> pool[2];
    const uint8_t* base = rec.arena.data();
    const auto t0 = std::chrono::steady_clock::now();
    for (const ScanOp& op : rec.ops) {
        switch (op.kind) {
            case ScanOp::kBlock: {
                const hs_database_t* hs = db.group(op.group).db.get();
                if (hs && hs_scan(hs, reinterpret_cast<const char*>(base + op.off), op.len, 0, scratch, noop, nullptr) !=
                              HS_SUCCESS)
                    ++errors;
                break;
            }
            case ScanOp::kStream: {
                const hs_database_t* hs = db.group(op.group).db.get();
                if (!hs) break;
                hs_stream_t*& s = streams[op.stream];
                if (!s) {
                    auto& p = pool[op.group == detect::GroupId::kStreamToClient];
                    if (!p.empty()) s = p.back(), p.pop_back();
                    else if (hs_open_stream(hs, 0, &s) != HS_SUCCESS) { ++errors; break; }
                }
                if (hs_scan_stream(s, reinterpret_cast<const char*>(base + op.off), op.len, 0, scratch, noop, nullptr) !=
                    HS_SUCCESS)
                    ++errors;
                break;
            }
            case ScanOp::kClose: {
                hs_stream_t*& s = streams[op.stream];
                if (!s) break;
                hs_reset_stream(s, 0, nullptr, nullptr, nullptr);
                pool[op.group == detect::GroupId::kStreamToClient].push_back(s);
                s = nullptr;
                break;
            }
        }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (hs_stream_t* s : streams)
        if (s) hs_close_stream(s, nullptr, nullptr, nullptr);
    for (auto& p : pool)
        for (hs_stream_t* s : p) hs_close_stream(s, nullptr, nullptr, nullptr);
    return secs;
}

int usage(const char* why) {
    std::fprintf(stderr, "detect_ceiling: %s\nusage: detect_ceiling -c CONFIG --pcap FILE [--repeat N]\n", why);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string cfg_path, pcap_path;
    int repeat = 5;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc) cfg_path = argv[++i];
        else if (a == "--pcap" && i + 1 < argc) pcap_path = argv[++i];
        else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
        else return usage(("unknown argument " + a).c_str());
    }
    if (cfg_path.empty() || pcap_path.empty()) return usage("-c and --pcap are required");
    auto cfg = config::load(cfg_path);
    if (!cfg) {
        std::fprintf(stderr, "detect_ceiling: %s\n", cfg.error().to_string().c_str());
        return 1;
    }
    if (cfg->detect.rule_files.empty()) return usage("the configuration loads no rules (detect.rule_files)");
    auto loaded = runtime::load_and_compile(cfg->detect);
    if (!loaded) {
        std::fprintf(stderr, "detect_ceiling: %s\n", loaded.error().to_string().c_str());
        return 1;
    }
    std::fprintf(stderr, "detect_ceiling: %s\n", loaded->summary.c_str());
    const detect::Database& db = *loaded->db;
    // What vtapd does besides Hyperscan depends on these: rules without an
    // anchor are candidates on every scan (always) or whenever an address of
    // theirs appears (addr_indexed), or with a flowbit their flow carries.
    for (const auto& g : db.stats().groups)
        std::fprintf(stderr, "detect_ceiling: group %s: %u rules, %u patterns, %u always, %u addr_indexed "
                     "(%zu of them on every IPv6 scan), %u flowbit_indexed, %s\n",
                     detect::group_name(g.id), g.rules, g.patterns, g.always, g.addr_indexed,
                     db.group(g.id).always_v6.size(), g.flowbit_indexed,
                     db.group(g.id).gate_all ? "every port" : "port-gated");

    flow::FlowConfig fc;  // as runtime::make_stage builds it
    fc.capacity = cfg->pipeline.flow_table_size;
    auto flows = flow::FlowTable::create(fc);
    if (!flows) {
        std::fprintf(stderr, "detect_ceiling: %s\n", flows.error().to_string().c_str());
        return 1;
    }
    flow::DefragConfig dc;  // as runtime::Pipeline builds it
    dc.max_datagrams = cfg->detect.defrag_max_datagrams;
    dc.timeout_ns = uint64_t{cfg->detect.defrag_timeout_s} * 1'000'000'000u;
    auto defrag = flow::Defrag::create(dc);
    if (!defrag) {
        std::fprintf(stderr, "detect_ceiling: %s\n", defrag.error().to_string().c_str());
        return 1;
    }
    Recording rec;
    (*flows)->set_close_hook(&on_close, &rec);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(pcap_path.c_str(), err);
    if (!p) {
        std::fprintf(stderr, "detect_ceiling: %s: %s\n", pcap_path.c_str(), err);
        return 1;
    }
    // net_pcap stamps mbufs with the capture time in microseconds; the worker
    // runs its flow clock on it.
    const bool nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    // DetectStage expires idle flows after each burst, up to one per packet:
    // here after every full burst (the size a saturated worker dequeues).
    const uint32_t burst = cfg->pipeline.burst_size;
    uint64_t burst_end = burst;
    while (pcap_next_ex(p, &h, &data) == 1) {
        const uint64_t us = uint64_t(h->ts.tv_sec) * 1'000'000u + uint64_t(h->ts.tv_usec) / (nano ? 1000u : 1u);
        record_frame(data, h->caplen, us * 1000u, *cfg, **flows, **defrag, rec);
        if (rec.packets >= burst_end) {
            (*flows)->expire(us * 1000u, burst);
            burst_end = rec.packets + burst;
        }
    }
    pcap_close(p);
    const size_t flow_bytes = (*flows)->bytes_per_flow();
    const size_t flow_mem = (*flows)->memory_bytes();
    flows->reset();  // closes the flows still open: their close ops end the recording, untimed below
    // Drop the trailing close ops of the teardown: vtapd's elapsed time ends
    // before its worker's flow table is destroyed.
    while (!rec.ops.empty() && rec.ops.back().kind == ScanOp::kClose) rec.ops.pop_back();

    hs_scratch_t* scratch = nullptr;
    for (size_t g = 0; g < detect::kGroupCount; g++)
        if (const hs_database_t* hs = db.group(static_cast<detect::GroupId>(g)).db.get())
            if (hs_alloc_scratch(hs, &scratch) != HS_SUCCESS) {
                std::fprintf(stderr, "detect_ceiling: hs_alloc_scratch failed\n");
                return 1;
            }
    // Bytes Hyperscan scans: those of groups that have a database (vtapd's
    // detect.bytes counts the same, less what its port gates skip).
    uint64_t block_bytes = 0, stream_bytes = 0;
    for (const ScanOp& op : rec.ops)
        if (op.kind != ScanOp::kClose && db.group(op.group).db)
            (op.kind == ScanOp::kBlock ? block_bytes : stream_bytes) += op.len;
    std::vector<double> secs;
    uint64_t errors = 0;
    for (int r = 0; r < repeat; r++) secs.push_back(scan_pass(rec, db, scratch, errors));
    hs_free_scratch(scratch);
    std::sort(secs.begin(), secs.end());
    const double s = secs[secs.size() / 2];

    size_t hs_state = 0;
    for (auto g : {detect::GroupId::kStreamToServer, detect::GroupId::kStreamToClient})
        hs_state = std::max(hs_state, db.stats().groups[static_cast<size_t>(g)].stream_state_bytes);
    std::printf("{\"packets\": %" PRIu64 ", \"inner_bytes\": %" PRIu64 ", \"dropped\": %" PRIu64
                ", \"block_bytes\": %" PRIu64 ", \"stream_bytes\": %" PRIu64 ", \"streams\": %u"
                ", \"scan_s\": %.6f, \"gbps\": %.4f, \"pps\": %.0f, \"hs_errors\": %" PRIu64
                ", \"flow_entry_bytes\": %zu, \"flow_memory_bytes\": %zu, \"flow_capacity\": %u"
                ", \"stream_handle_bytes\": %zu, \"hs_stream_state_bytes\": %zu}\n",
                rec.packets, rec.inner_bytes, rec.dropped, block_bytes, stream_bytes, rec.streams, s,
                double(rec.inner_bytes) * 8 / s / 1e9, double(rec.packets) / s, errors, flow_bytes, flow_mem,
                fc.capacity, sizeof(detect::StreamHandle), hs_state);
    return errors ? 1 : 0;
}
