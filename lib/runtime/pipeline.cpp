// Control side of the pipeline: build it from a Config, launch the lcores,
// watch for the end (signal, duration, end of offline input), drain, report.
#include "runtime/pipeline.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <thread>

#include <pcap/pcap.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "alert/alert_queue.hpp"
#include "alert/eve_json.hpp"
#include "capture/pcapng_sink.hpp"
#include "core/pkt_meta.hpp"
#include "drivers/driver.hpp"
#include "output/outputs.hpp"
#include "runtime/eal_args.hpp"
#include "runtime/exception_path.hpp"
#include "runtime/health.hpp"
#include "runtime/detect_stage.hpp"
#include "runtime/lcore_loops.hpp"
#include "runtime/rule_loading.hpp"

namespace vtap::runtime {

using Clock = std::chrono::steady_clock;

struct Pipeline::Impl {
    config::Config cfg;
    rte_mempool* pool = nullptr;
    std::vector<drivers::PortHandle> ports;
    std::vector<uint64_t> pcap_expected;  // per port: frames in the file, 0 = live/infinite
    std::vector<rte_ring*> rings;
    // threshold / detection_filter counts, shared by every worker's alert
    // filter (declared before the workers, so it outlives them).
    std::unique_ptr<detect::ThresholdTable> thresholds;
    std::vector<std::unique_ptr<RxLcoreCtx>> rx;
    std::vector<std::unique_ptr<WorkerCtx>> workers;
    std::unique_ptr<capture::PcapngSink> capture;  // decapsulated pcapng; null = off
    // Detection: the compiled rules (immutable, shared by every worker), one
    // alert queue per worker path, and the outputs the control thread feeds.
    std::shared_ptr<const detect::Database> db;
    ClassMap classes;
    std::vector<std::unique_ptr<alert::AlertQueue>> alert_queues;
    // Reassembled datagrams to their 5-tuple's worker; null unless detection
    // runs on more than one worker lcore.
    std::unique_ptr<DefragHandoff> handoff;
    std::unique_ptr<output::Outputs> outputs;  // null: no output configured
    std::atomic<bool> rx_stop{false};
    std::atomic<bool> rx_done{false};
    bool on_main = false;  // single lcore: the main lcore polls
    Clock::time_point started{};
    double elapsed_s = 0;
    bool running = false;
    // Exception path (non-VTAP frames to the kernel and back) and the health
    // endpoint; both served by the control thread, null when not configured.
    std::unique_ptr<ExceptionPath> exception;
    std::unique_ptr<HealthMonitor> health;
    std::unique_ptr<HealthServer> health_server;
    std::atomic<bool> health_ok{true};
    std::atomic<uint64_t> health_requests{0};
    Clock::time_point last_health{};

    // Every worker path, wherever it runs (worker lcores or RX lcores).
    std::vector<WorkerPath*> paths() const {
        std::vector<WorkerPath*> out;
        for (const auto& w : workers) out.push_back(&w->path);
        if (workers.empty())
            for (const auto& c : rx) out.push_back(&c->rtc);
        return out;
    }

    ~Impl() {
        capture.reset();  // drains and closes before the ports go
        health_server.reset();
        exception.reset();  // frees queued frames, removes the tap
        for (auto& p : ports) drivers::close_port(p);
        rx.clear();
        workers.clear();
        handoff.reset();
        for (auto* r : rings) rte_ring_free(r);
        if (pool) rte_mempool_free(pool);
    }
};

namespace {

// Opens a pcap port's file once, before EAL: the decap mode must match what
// the capture holds (Ethernet frames for vxlan and ethernet, bare IP packets
// for ip), else every frame would be dropped as malformed, which says nothing
// about the real mistake. Counts the frames when `count` (offline runs end
// when they are all accounted for); returns 0 otherwise.
Result<uint64_t> check_pcap(const std::string& path, decap::DecapMode mode, bool count) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (!p) return fail(path, std::string("cannot open capture: ") + err);
    const int link = pcap_datalink(p);
    const bool raw = link == DLT_RAW || link == DLT_IPV4 || link == DLT_IPV6;
    const std::string name = pcap_datalink_val_to_name(link) ? pcap_datalink_val_to_name(link) : "?";
    if (raw != (mode == decap::DecapMode::kIp)) {
        pcap_close(p);
        if (raw) return fail(path, "capture holds raw IP packets (link type " + name + "): read it with decap.mode: ip");
        return fail(path, "decap.mode is ip but the capture has link type " + name +
                              "; use decap.mode ethernet or vxlan for Ethernet frames");
    }
    uint64_t n = 0;
    int rc = 0;
    if (count) {
        pcap_pkthdr* h;
        const u_char* d;
        while ((rc = pcap_next_ex(p, &h, &d)) == 1) n++;
    }
    std::string why = rc == PCAP_ERROR ? pcap_geterr(p) : "";
    pcap_close(p);
    if (rc == PCAP_ERROR) return fail(path, "capture is damaged after frame " + std::to_string(n) + ": " + why);
    return n;
}

Result<void> make_rings(Pipeline::Impl& im, int socket) {
    const auto& p = im.cfg.pipeline;
    // One producer per ring when there is one RX lcore: the cheaper SP path.
    unsigned flags = RING_F_SC_DEQ | (p.rx_lcores == 1 ? RING_F_SP_ENQ : 0);
    for (unsigned w = 0; w < p.workers; w++) {
        std::string name = "vtap_w" + std::to_string(w);
        rte_ring* r = rte_ring_create(name.c_str(), p.ring_size, socket, flags);
        if (!r) return fail("worker " + std::to_string(w), "cannot create ring: " + std::string(rte_strerror(rte_errno)));
        im.rings.push_back(r);
    }
    return {};
}

// A worker's stage: detection when rules are loaded, else flow counting.
Result<std::unique_ptr<WorkerStage>> make_stage(Pipeline::Impl& im, uint16_t worker, int socket) {
    const auto& pc = im.cfg.pipeline;
    if (!im.db) {
        auto st = FlowCountStage::create(worker, pc.flow_table_size, socket);
        if (!st) return std::unexpected(st.error());
        return std::unique_ptr<WorkerStage>(std::move(*st));
    }
    auto q = alert::AlertQueue::create("vtap_alerts_w" + std::to_string(worker), im.cfg.alerts.queue_size, socket);
    if (!q) return std::unexpected(q.error());
    im.alert_queues.push_back(std::make_unique<alert::AlertQueue>(std::move(*q)));
    flow::FlowConfig fc;
    fc.capacity = pc.flow_table_size;
    const uint16_t port = im.ports.empty() ? 0 : im.ports[0].port_id;
    // Offline (net_pcap) frames carry their capture time in microseconds.
    const bool offline = !im.cfg.ports.empty() && im.cfg.ports[0].driver == "pcap";
    if (!im.thresholds) {
        auto t = detect::ThresholdTable::create(im.cfg.detect.threshold_entries);
        if (!t) return std::unexpected(t.error());
        im.thresholds = std::make_unique<detect::ThresholdTable>(std::move(*t));
    }
    const detect::AlertFilterOptions limits{im.cfg.detect.packet_alert_max, im.cfg.detect.threshold_entries,
                                            im.thresholds.get()};
    detect::ScannerOptions scan;
    scan.window_bytes = im.cfg.detect.stream_window_bytes;
    scan.stream_prealloc = im.cfg.detect.stream_prealloc;
    // Two directions per tracked flow: the window pool never needs more.
    scan.max_streams = std::max<uint32_t>(2 * fc.capacity, scan.stream_prealloc);
    flow::DefragConfig dc;
    dc.max_datagrams = im.cfg.detect.defrag_max_datagrams;
    dc.timeout_ns = uint64_t{im.cfg.detect.defrag_timeout_s} * 1'000'000'000u;
    auto st = DetectStage::create(worker, fc, im.db, &im.classes, im.alert_queues.back().get(), port,
                                  offline ? 1000 : 0, limits, scan, dc);
    if (!st) return std::unexpected(st.error());
    (*st)->connect_handoff(im.handoff.get());
    return std::unique_ptr<WorkerStage>(std::move(*st));
}

// Hands what the workers queued to the outputs and lets them send without
// blocking; the control thread's job, once per loop iteration.
void drain_alerts(Pipeline::Impl& im) {
    for (auto& q : im.alert_queues)
        q->drain([&](const alert::AlertRecord& r) {
            if (im.outputs) im.outputs->offer(r);
        });
    if (im.outputs) im.outputs->poll(output::Outputs::monotonic_ns());
}

// Shutdown: the outputs get alerts.flush_timeout_ms to deliver what they
// hold; whatever is left is reported here and counted (output.<name>.unsent).
void flush_outputs(Pipeline::Impl& im) {
    if (!im.outputs) return;
    const uint64_t deadline = output::Outputs::monotonic_ns() + uint64_t(im.cfg.alerts.flush_timeout_ms) * 1'000'000u;
    for (const auto& line : im.outputs->flush(deadline)) std::fprintf(stderr, "vtapd: %s\n", line.c_str());
}

// The exception path needs the data port and the RX contexts; the health
// endpoint only its socket.
Result<void> start_exception_and_health(Pipeline::Impl& im, int socket) {
    const auto& xc = im.cfg.exception;
    if (xc.enabled) {
        if (xc.port >= im.ports.size()) return fail("exception", "port index out of range");
        const uint16_t data_port = im.ports[xc.port].port_id;
        auto x = ExceptionPath::create(xc, data_port, static_cast<unsigned>(im.ports.size()), im.pool,
                                       im.rx.size() > 1, socket);
        if (!x) return std::unexpected(x.error());
        im.exception = std::move(*x);
        for (auto& c : im.rx) {
            c->exc.ring = im.exception->ring();
            c->exc.table = &im.exception->table();
            c->exc.port = data_port;
        }
        std::fprintf(stderr, "vtapd: exception path: non-VTAP frames of port %s to kernel interface %s%s%s\n",
                     im.ports[xc.port].name.c_str(), xc.tap_name.c_str(), xc.address.empty() ? "" : " ",
                     xc.address.c_str());
    }
    if (!im.cfg.health.listen.empty()) {
        auto h = HealthServer::open(im.cfg.health.listen);
        if (!h) return std::unexpected(h.error());
        im.health_server = std::move(*h);
        im.health = std::make_unique<HealthMonitor>(im.cfg.health);
        const std::string& l = im.cfg.health.listen;
        std::fprintf(stderr, "vtapd: health endpoint on %s:%u (GET /health)\n", l.substr(0, l.rfind(':')).c_str(),
                     unsigned{im.health_server->port()});
    }
    return {};
}

uint64_t ms_since_epoch(Clock::time_point t) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

// What the health monitor watches: every worker path (progress = packets,
// backlog = its ring), every RX lcore (progress = polls; a stopped poll loop
// is stalled whatever the wire does), and frames lost for lack of capacity.
HealthSample health_sample(const Pipeline::Impl& im, Clock::time_point now) {
    HealthSample s;
    s.now_ms = ms_since_epoch(now);
    for (size_t w = 0; w < im.workers.size(); w++)
        s.lanes.push_back({"worker" + std::to_string(w), im.workers[w]->path.ctr.packets.get(),
                           rte_ring_count(im.workers[w]->ring)});
    for (size_t i = 0; i < im.rx.size(); i++)
        s.lanes.push_back({"rx" + std::to_string(i), im.rx[i]->ctr.polls.get(), 1});
    for (const auto& c : im.rx) {
        s.received += c->ctr.packets.get();
        s.lost += c->ctr.drop(DropReason::kRingFull).get();
    }
    for (const auto& h : im.ports) {
        rte_eth_stats st{};
        if (rte_eth_stats_get(h.port_id, &st) != 0) continue;
        s.received += st.imissed + st.rx_nombuf;
        s.lost += st.imissed + st.rx_nombuf;
    }
    return s;
}

// The control thread's service round for the exception path and health.
void serve_control(Pipeline::Impl& im, Clock::time_point now) {
    if (im.exception) im.exception->poll();
    if (!im.health) return;
    if (now - im.last_health >= std::chrono::milliseconds(100)) {
        im.last_health = now;
        im.health->update(health_sample(im, now));
        im.health_ok.store(im.health->verdict().ok, std::memory_order_relaxed);
    }
    im.health_server->poll(im.health->verdict(), ms_since_epoch(now));
    im.health_requests.store(im.health_server->requests(), std::memory_order_relaxed);
}

}  // namespace

Result<std::unique_ptr<Pipeline>> start(const config::Config& cfg, const std::string& argv0) {
    auto im = std::make_unique<Pipeline::Impl>();
    im->cfg = cfg;
    const auto& pc = im->cfg.pipeline;

    for (const auto& port : cfg.ports) {
        uint64_t expected = 0;  // frames an offline port delivers before it is done; 0: not offline
        if (port.driver == "pcap") {
            auto n = check_pcap(port.pcap_file, cfg.decap.mode, !port.infinite_rx);
            if (!n) return std::unexpected(n.error());
            expected = *n;
        }
        im->pcap_expected.push_back(expected);
    }

    // Rules are parsed and compiled on a background thread while EAL, the
    // mempool and the ports come up (an unreadable rule file ends the start
    // once EAL is up).
    std::optional<PendingRules> rules;
    if (!cfg.detect.rule_files.empty()) {
        rules = start_loading(cfg.detect);
        if (!cfg.outputs.empty()) {
            alert::EveOptions eo;
            eo.host = cfg.instance.id.empty() ? alert::local_hostname() : cfg.instance.id;
            eo.in_iface = cfg.ports.empty() ? "" : (cfg.ports[0].name.empty() ? cfg.ports[0].driver + "0" : cfg.ports[0].name);
            eo.vxlan_port = cfg.decap.udp_port;
            auto o = output::Outputs::create(cfg.outputs, cfg.alerts.rate_limit, eo);
            if (!o) return std::unexpected(o.error());
            im->outputs = std::move(*o);
        }
    }

    auto args = build_eal_args(cfg, argv0, allowed_cpus());
    if (!args) return std::unexpected(args.error());
    std::vector<char*> argv;
    for (auto& a : *args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
        return fail("EAL", std::string("rte_eal_init failed: ") + rte_strerror(rte_errno) +
                               " (check eal.args; without hugepages use --no-huge -m <MB>)");
    if (auto r = register_pkt_meta(); !r) return std::unexpected(r.error());

    const unsigned have = rte_lcore_count();
    const unsigned need = lcores_needed(pc);
    im->on_main = have == 1;
    if (!im->on_main && have < need)
        return fail("EAL", "pipeline needs " + std::to_string(need) + " lcores (1 main + " +
                               std::to_string(pc.rx_lcores) + " rx + " + std::to_string(pc.workers) +
                               " workers), EAL has " + std::to_string(have) + ": fix eal.args -l/--lcores");
    if (im->on_main && pc.workers > 0)
        std::fprintf(stderr, "vtapd: one lcore only: running to completion on it (workers ignored)\n");

    const int socket = static_cast<int>(rte_socket_id());
    // Offline (every port a pcap file) the RX lcores wait for free mbufs
    // (see offline_room in lcore_loops.cpp); lcore caches would strand free
    // mbufs on the workers where RX cannot reach them, so there are none.
    bool offline = !im->pcap_expected.empty();
    for (auto e : im->pcap_expected) offline = offline && e > 0;
    im->pool = rte_pktmbuf_pool_create("vtap_mbufs", cfg.mempool.mbufs, offline ? 0 : cfg.mempool.cache_size, 0,
                                       cfg.mempool.data_room, socket);
    if (!im->pool)
        return fail("mempool", "cannot create " + std::to_string(cfg.mempool.mbufs) + " mbufs of " +
                                   std::to_string(cfg.mempool.data_room) + " bytes: " + rte_strerror(rte_errno) +
                                   " (raise EAL -m or lower mempool.mbufs)");

    for (unsigned i = 0; i < cfg.ports.size(); i++) {
        auto h = drivers::open_port(cfg.ports[i], i, im->pool);
        if (!h) return std::unexpected(h.error());
        im->ports.push_back(*h);
    }

    if (rules) {
        auto loaded = finish_loading(std::move(*rules));
        if (!loaded) return std::unexpected(loaded.error());
        std::fprintf(stderr, "vtapd: %s\n", loaded->summary.c_str());
        im->db = std::move(loaded->db);
        im->classes = std::move(loaded->classes);
    }

    const bool rtc = im->on_main || pc.workers == 0;
    if (!rtc)
        if (auto r = make_rings(*im, socket); !r) return std::unexpected(r.error());

    // RX lcore contexts: every (port, queue) pair, dealt round-robin.
    const unsigned n_rx = im->on_main ? 1 : pc.rx_lcores;
    for (unsigned i = 0; i < n_rx; i++) {
        auto c = std::make_unique<RxLcoreCtx>();
        if (offline) c->offline_pool = im->pool;
        c->burst = pc.burst_size;
        c->decap = &im->cfg.decap;
        c->stop = &im->rx_stop;
        c->run_to_completion = rtc;
        c->targets.n_workers = static_cast<uint16_t>(im->rings.size());
        for (size_t w = 0; w < im->rings.size(); w++) c->targets.rings[w] = im->rings[w];
        if (rtc) {
            auto st = make_stage(*im, static_cast<uint16_t>(i), socket);
            if (!st) return std::unexpected(st.error());
            c->rtc.stage = std::move(*st);
        }
        im->rx.push_back(std::move(c));
    }
    unsigned next = 0;
    for (const auto& h : im->ports)
        for (uint16_t q = 0; q < h.rx_queues; q++) {
            auto& c = *im->rx[next++ % n_rx];
            if (c.n_queues == RxLcoreCtx::kMaxQueues)
                return fail("pipeline", "more than " + std::to_string(RxLcoreCtx::kMaxQueues) + " RX queues per lcore");
            c.queues[c.n_queues++] = {h.port_id, q};
        }
    for (auto& c : im->rx)
        if (c->n_queues == 0)
            return fail("pipeline", "rx_lcores (" + std::to_string(n_rx) + ") exceeds the RX queues of all ports; "
                                    "raise ports[].rx_queues or lower pipeline.rx_lcores");

    if (auto r = start_exception_and_health(*im, socket); !r) return std::unexpected(r.error());

    if (im->db && im->rings.size() > 1) {
        if (im->rx.size() > shard::kMaxRxLcores)
            return fail("pipeline", "more than " + std::to_string(shard::kMaxRxLcores) + " RX lcores");
        auto h = DefragHandoff::create(im->rings, socket);
        if (!h) return std::unexpected(h.error());
        im->handoff = std::move(*h);
        // RX numbers what it delivers, so a handed datagram runs in arrival order.
        for (size_t i = 0; i < im->rx.size(); i++) {
            im->rx[i]->rx_index = static_cast<uint8_t>(i);
            im->rx[i]->arrival_watermark = &im->handoff->rx_watermark(static_cast<uint8_t>(i));
        }
    }
    for (unsigned w = 0; w < im->rings.size(); w++) {
        auto c = std::make_unique<WorkerCtx>();
        c->burst = pc.burst_size;
        c->ring = im->rings[w];
        c->rx_done = &im->rx_done;
        auto st = make_stage(*im, static_cast<uint16_t>(w), socket);
        if (!st) return std::unexpected(st.error());
        c->path.stage = std::move(*st);
        im->workers.push_back(std::move(c));
    }

    if (!cfg.capture.pcapng.empty()) {
        capture::CaptureSettings cs;
        cs.path = cfg.capture.pcapng;
        cs.max_bytes = cfg.capture.max_bytes;
        cs.max_files = cfg.capture.max_files;
        cs.snaplen = cfg.capture.snaplen;
        auto paths = im->paths();
        auto sink = capture::PcapngSink::open(cs, static_cast<uint16_t>(paths.size()));
        if (!sink) return std::unexpected(sink.error());
        im->capture = std::move(*sink);
        for (size_t w = 0; w < paths.size(); w++) paths[w]->tap = &im->capture->tap(WorkerId(static_cast<uint16_t>(w)));
    }

    auto p = std::unique_ptr<Pipeline>(new Pipeline(std::move(im)));
    if (cfg.stats.telemetry) {
        Pipeline* raw = p.get();
        if (auto r = register_telemetry([raw] { return raw->snapshot(); }); !r)
            std::fprintf(stderr, "vtapd: %s (continuing without telemetry)\n", r.error().to_string().c_str());
    }
    return p;
}

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

void Pipeline::request_reopen() noexcept {
    if (impl_ && impl_->outputs) impl_->outputs->request_reopen();
}

Pipeline::~Pipeline() {
    // The telemetry thread must not call snapshot() on a pipeline being torn down.
    if (impl_ && impl_->cfg.stats.telemetry) unregister_telemetry();
}

namespace {

// Offline input is consumed once each pcap port has received (or refused)
// every frame of its file.
bool input_consumed(const Pipeline::Impl& im) {
    bool any = false;
    for (size_t i = 0; i < im.ports.size(); i++) {
        if (im.pcap_expected[i] == 0) return false;  // a live or infinite port never ends
        any = true;
        rte_eth_stats st{};
        rte_eth_stats_get(im.ports[i].port_id, &st);
        if (st.ipackets + st.ierrors + st.rx_nombuf + st.imissed < im.pcap_expected[i]) return false;
    }
    return any;
}

}  // namespace

Result<StatsSnapshot> Pipeline::run(const RunOptions& opt) {
    Impl& im = *impl_;
    im.started = Clock::now();
    im.running = true;
    unsigned lcore = rte_get_next_lcore(-1, 1, 0);
    std::vector<unsigned> launched_rx, launched_w;
    if (!im.on_main) {
        for (auto& w : im.workers) {
            w->lcore = lcore;
            if (int rc = rte_eal_remote_launch(worker_lcore_main, w.get(), lcore); rc != 0)
                return fail("lcore " + std::to_string(lcore), "cannot launch worker: " + std::string(rte_strerror(-rc)));
            launched_w.push_back(lcore);
            lcore = rte_get_next_lcore(lcore, 1, 0);
        }
        for (auto& c : im.rx) {
            c->lcore = lcore;
            if (int rc = rte_eal_remote_launch(rx_lcore_main, c.get(), lcore); rc != 0)
                return fail("lcore " + std::to_string(lcore), "cannot launch RX: " + std::string(rte_strerror(-rc)));
            launched_rx.push_back(lcore);
            lcore = rte_get_next_lcore(lcore, 1, 0);
        }
    }

    auto last_print = Clock::now();
    auto last_progress = Clock::now();
    uint64_t last_rx = 0;
    const auto interval = std::chrono::seconds(im.cfg.stats.interval_s);
    // A pcap port that stops short of its frame count (frames net_pcap cannot
    // hold, for instance) must not hang the offline run.
    constexpr auto kOfflineStall = std::chrono::seconds(3);
    for (;;) {
        if (im.on_main) {
            for (int i = 0; i < 64; i++) rx_poll_once(*im.rx[0]);
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        const auto now = Clock::now();
        if (stop_requested_.load(std::memory_order_relaxed)) break;
        if (opt.duration_s > 0 && std::chrono::duration<double>(now - im.started).count() >= opt.duration_s) break;
        uint64_t rx_now = 0;
        for (auto& c : im.rx) rx_now += c->ctr.packets.get();
        if (rx_now != last_rx) last_progress = now, last_rx = rx_now;
        if (opt.stop_at_end_of_input && input_consumed(im)) break;
        if (opt.stop_at_end_of_input && now - last_progress > kOfflineStall) {
            bool offline = !im.pcap_expected.empty();
            for (auto e : im.pcap_expected) offline = offline && e > 0;
            if (offline) {
                std::fprintf(stderr, "vtapd: pcap input stalled for %llds short of its frame count; stopping\n",
                             static_cast<long long>(kOfflineStall.count()));
                break;
            }
        }
        drain_alerts(im);
        serve_control(im, now);
        if (im.capture)
            if (auto d = im.capture->drain(); !d)
                std::fprintf(stderr, "vtapd: capture: %s\n", d.error().to_string().c_str());
        if (interval.count() > 0 && now - last_print >= interval && opt.print) {
            last_print = now;
            opt.print(format_table(snapshot()));
        }
    }

    // Stop RX first, then let the workers drain what is already in flight.
    im.rx_stop.store(true, std::memory_order_relaxed);
    for (unsigned l : launched_rx) rte_eal_wait_lcore(l);
    im.rx_done.store(true, std::memory_order_release);
    for (unsigned l : launched_w) rte_eal_wait_lcore(l);
    for (bool more = true; more;) {
        more = false;
        for (auto* w : im.paths()) more |= w->stage->on_stopped(w->ctr);
        drain_alerts(im);
    }
    flush_outputs(im);
    if (im.capture)
        if (auto c = im.capture->close(); !c)
            std::fprintf(stderr, "vtapd: capture: %s\n", c.error().to_string().c_str());
    im.elapsed_s = std::chrono::duration<double>(Clock::now() - im.started).count();
    im.running = false;
    return snapshot();
}

StatsSnapshot Pipeline::snapshot() const {
    const Impl& im = *impl_;
    StatsSnapshot s;
    s.elapsed_s = im.running ? std::chrono::duration<double>(Clock::now() - im.started).count() : im.elapsed_s;

    for (const auto& h : im.ports) {
        rte_eth_stats st{};
        if (rte_eth_stats_get(h.port_id, &st) != 0) continue;
        const std::string p = "port." + h.name + ".";
        s.add(p + "ipackets", st.ipackets);
        s.add(p + "ibytes", st.ibytes);
        s.add(p + "imissed", st.imissed);
        s.add(p + "ierrors", st.ierrors);
        s.add(p + "rx_nombuf", st.rx_nombuf);
        for (uint16_t q = 0; q < h.rx_queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
            s.add(p + "q" + std::to_string(q) + ".ipackets", st.q_ipackets[q]);
    }

    RxCounters sum;  // totals over RX lcores
    for (size_t i = 0; i < im.rx.size(); i++) {
        const RxCounters& c = im.rx[i]->ctr;
        sum.packets.add(c.packets.get());
        sum.bytes.add(c.bytes.get());
        sum.delivered.add(c.delivered.get());
        sum.diverted.add(c.diverted.get());
        sum.reserved_set.add(c.reserved_set.get());
        sum.payload_cut.add(c.payload_cut.get());
        sum.untunneled.add(c.untunneled.get());
        sum.bursts.add(c.bursts.get());
        sum.polls.add(c.polls.get());
        sum.busy_cycles.add(c.busy_cycles.get());
        for (size_t r = 0; r < kDropReasonCount; r++) sum.drops[r].add(c.drops[r].get());
    }
    s.add("rx.packets", sum.packets.get());
    s.add("rx.bytes", sum.bytes.get());
    s.add("rx.bursts", sum.bursts.get());
    s.add("rx.polls", sum.polls.get());
    s.add("rx.busy_cycles", sum.busy_cycles.get());
    s.add("tsc_hz", rte_get_tsc_hz());
    for (size_t i = 0; i < im.rx.size(); i++) s.add("rx" + std::to_string(i) + ".packets", im.rx[i]->ctr.packets.get());
    s.add("decap.delivered", sum.delivered.get());
    s.add("decap.diverted", sum.diverted.get());
    s.add("decap.reserved_bits_set", sum.reserved_set.get());
    s.add("decap.inner_payload_cut", sum.payload_cut.get());
    s.add("decap.untunneled", sum.untunneled.get());
    for (size_t r = 0; r < kDropReasonCount; r++) s.add(std::string(kDropReasonNames[r]), sum.drops[r].get());
    s.add("drops.total", sum.drops_total());

    // Workers; in run-to-completion mode the RX lcores' own worker paths.
    const auto wp = im.paths();
    uint64_t pk = 0, by = 0, fl = 0, full = 0, busy = 0;
    for (auto* w : wp)
        pk += w->ctr.packets.get(), by += w->ctr.bytes.get(), fl += w->ctr.flows.get(),
            full += w->ctr.flow_table_full.get(), busy += w->ctr.busy_cycles.get();
    s.add("worker.packets", pk);
    s.add("worker.bytes", by);
    s.add("worker.flows", fl);
    s.add("worker.flow_table_full", full);
    s.add("worker.busy_cycles", busy);
    for (size_t i = 0; i < wp.size(); i++) {
        const std::string p = "worker" + std::to_string(i) + ".";
        s.add(p + "packets", wp[i]->ctr.packets.get());
        s.add(p + "bytes", wp[i]->ctr.bytes.get());
        s.add(p + "flows", wp[i]->ctr.flows.get());
        s.add(p + "flow_table_full", wp[i]->ctr.flow_table_full.get());
        s.add(p + "busy_cycles", wp[i]->ctr.busy_cycles.get());
    }

    if (im.db) {
        // Stage counters summed over workers, in the stages' order.
        StatList sum;
        for (auto* w : wp) {
            StatList one;
            w->stage->append_stats("", one);
            if (sum.empty()) sum = one;
            else
                for (size_t k = 0; k < one.size() && k < sum.size(); k++) sum[k].second += one[k].second;
        }
        for (auto& [k, v] : sum) s.add(k, v);
        if (im.handoff) s.add("defrag.handoff_memory_bytes", im.handoff->memory_bytes());
        uint64_t published = 0, dropped = 0;
        for (const auto& q : im.alert_queues)
            published += q->counters().producer.published.get(), dropped += q->counters().producer.dropped.get();
        s.add("alert.published", published);
        s.add("alert.dropped", dropped);
        if (im.outputs) {
            output::StatList out;
            im.outputs->append_stats(out);
            for (auto& [k, v] : out) s.add(std::move(k), v);
        }
    }

    if (im.exception) {
        std::vector<const ExceptionRxCounters*> xr;
        for (const auto& c : im.rx) xr.push_back(&c->exc.ctr);
        im.exception->append_stats(s, xr);
    }
    if (im.health) {
        s.add("health.ok", im.health_ok.load(std::memory_order_relaxed) ? 1 : 0);
        s.add("health.requests", im.health_requests.load(std::memory_order_relaxed));
    }

    if (im.capture) {
        uint64_t queued = 0, pool_empty = 0, ring_full = 0;
        for (auto* w : wp)
            queued += w->cap_ctr.queued.get(), pool_empty += w->cap_ctr.pool_empty.get(),
                ring_full += w->cap_ctr.ring_full.get();
        const auto& c = im.capture->counters();
        s.add("capture.queued", queued);
        s.add("capture.pool_empty", pool_empty);
        s.add("capture.ring_full", ring_full);
        s.add("capture.packets", c.packets.get());
        s.add("capture.bytes", c.bytes.get());
        s.add("capture.files", c.files.get());
        s.add("capture.write_errors", c.write_errors.get());
        s.add("capture.lost", c.lost.get());
    }
    return s;
}

}  // namespace vtap::runtime
