// vtap-gen: VTAP-shaped traffic into a pcap file or out of a DPDK port.
//   vtap-gen [synth options | --wrap FILE] (--out FILE | --port DEV[,ARGS])
//            [--count N] [--pps R | --gbps G] [--mode refcnt|copy|stream] [-- EAL args]
// Parses arguments, wires lib/gen (frames) to lib/loadgen (store, pacing,
// TX), prints one JSON summary line. Exit 0 ok, 1 runtime failure, 2 usage.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

#include "apps/common/gen_args.hpp"
#include "gen/pcap_io.hpp"
#include "loadgen/port.hpp"
#include "loadgen/source.hpp"
#include "loadgen/tx.hpp"

namespace {

using namespace vtap;
using namespace vtap::gen;
using namespace vtap::gen::cli;
using namespace vtap::loadgen;

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: vtap-gen [synth options of vtap-pcap | --wrap PCAP] (--out FILE | --port DEV[,ARGS])\n"
    "                [--count N] [--pps R | --gbps G] [--mode refcnt|copy|stream] [--burst N]\n"
    "                [--retry] [--prebuild-max N] [--mbufs N] [--data-room B] [--link-wait S]\n"
    "                [--summary-json FILE]\n"
    "                [-- EAL arguments]\n";

constexpr const char* kHelp =
    "\nFrames: the synthesizer of `vtap-pcap synth` (same options: --flows, --seed, --size,\n"
    "  --plant, --plant-rate, ...) or --wrap PCAP (every frame VTAP-wrapped).\n"
    "--out FILE        write a pcap (no EAL); --count N repeats the source to N frames\n"
    "--port DEV[,ARGS] send out of a DPDK port: a vdev made here (net_memif0,role=client,socket=/run/x.sock;\n"
    "                  net_af_packet0,iface=veth1; net_pcap0,tx_pcap=f.pcap; net_null0) or a probed\n"
    "                  device by name (a PCI address passed to EAL with -a)\n"
    "--count N         frames to offer (default: one pass over the source); the source repeats\n"
    "--pps R / --gbps G  TSC-paced rate (bits of frames as sent; no FCS/preamble/gap); default unpaced\n"
    "--mode M          refcnt: frames built into mbufs once, re-sent by reference (PMDs that copy out);\n"
    "                  copy: stored bytes copied into fresh mbufs per burst (default);\n"
    "                  stream: synthesized while sending (millions of flows, nothing stored)\n"
    "--prebuild-max N  frames kept for refcnt/copy (default 1000000; the prefix is replayed)\n"
    "--retry           re-send frames the port refused instead of counting them rejected\n"
    "--mbufs N, --data-room B  mempool size and minimum data bytes per mbuf (net_af_packet with\n"
    "                  framesz=16384 needs --data-room 16384 for its RX ring)\n"
    "EAL default: --no-huge -m 1024 --no-pci --file-prefix=vtapgen<pid> --log-level=lib.eal:error --no-telemetry\n"
    "Summary (stdout, one JSON line): offered, sent, rejected, bytes, flows, planted, seconds, pps, gbps.\n";

int usage(const std::string& what) {
    std::fprintf(stderr, "vtap-gen: %s\n%s", what.c_str(), kUsage);
    return kExitUsage;
}

int runtime_error(const Error& e) {
    std::fprintf(stderr, "vtap-gen: %s\n", e.to_string().c_str());
    return kExitRuntime;
}

struct Options {
    SourceConfig src;
    std::string out, port, summary;
    uint64_t count = 0;
    Rate rate;
    TxMode mode = TxMode::kCopy;
    uint16_t burst = 32;
    bool retry = false;
    uint64_t prebuild_max = 1'000'000;
    uint32_t mbufs = 0;
    uint32_t data_room = 0;  // at least this many data bytes per mbuf (a PMD's RX ring may want more than our frames)
    double link_wait = 10;
};

double positive(ArgReader& a, const std::string& key) {
    if (!a.has(key)) return 0;
    std::string v = a.text(key);
    double d = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if (ec == std::errc{} && ptr == v.data() + v.size() && d > 0) return d;
    a.error(key + " '" + v + "': want a positive number");
    return 0;
}

std::string summary_json(const Options& o, const TxStats& st, const char* dest, uint64_t stored, double build_s) {
    double s = st.seconds();
    std::ostringstream j;
    j.setf(std::ios::fixed);
    j.precision(6);
    j << "{\"dest\": \"" << dest << "\", \"mode\": \"" << mode_name(o.mode) << "\", \"offered\": " << st.offered
      << ", \"sent\": " << st.sent << ", \"rejected\": " << st.rejected << ", \"bytes\": " << st.bytes
      << ", \"flows\": " << st.flows << ", \"planted\": " << st.planted << ", \"slips\": " << st.slips
      << ", \"stored_frames\": " << stored << ", \"build_s\": " << build_s << ", \"seconds\": " << s
      << ", \"pps\": " << (s > 0 ? st.sent / s : 0) << ", \"gbps\": " << (s > 0 ? st.bytes * 8 / s / 1e9 : 0)
      << ", \"target_pps\": " << o.rate.pps << ", \"target_gbps\": " << o.rate.bps / 1e9
      << ", \"seed\": " << (o.src.synth ? o.src.synth->seed : 0) << "}";
    return j.str();
}

int finish(const Options& o, const std::string& json) {
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    if (!o.summary.empty()) {
        std::ofstream f(o.summary);
        f << json << "\n";
        if (!f.flush()) return runtime_error(Error{o.summary, "cannot write the summary"});
    }
    return 0;
}

// --out: the same frames a port would get, into a pcap. Repeated passes keep
// timestamps increasing by continuing after the previous pass's last one.
int write_pcap(const Options& o) {
    auto w = PcapWriter::open(o.out);
    if (!w) return runtime_error(w.error());
    TxStats st;
    FlowSet flows;
    uint64_t offset = 0, last = 0;
    // No EAL here, so no TSC frequency: wall time in nanoseconds stands in for it.
    auto begin = std::chrono::steady_clock::now();
    do {
        uint64_t first = 0;
        bool any = false;
        auto n = produce(o.src, o.count ? o.count - st.sent : 0, [&](const GenFrame& f) -> Result<void> {
            if (!any) first = f.ts_ns, any = true;
            last = f.ts_ns + offset;
            if (auto ok = w->write(f.outer, last); !ok) return ok;
            ++st.sent;
            st.bytes += f.outer.size();
            st.planted += f.planted;
            flows.insert(f.flow);
            return {};
        });
        if (!n) return runtime_error(n.error());
        if (*n == 0) return runtime_error(Error{"source", "produced no frames"});
        offset = last + 1000 - first;
    } while (o.count != 0 && st.sent < o.count);
    if (auto ok = w->close(); !ok) return runtime_error(ok.error());
    st.offered = st.sent;
    st.flows = flows.count();
    st.tsc_hz = 1'000'000'000;
    st.tsc_cycles = static_cast<uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - begin).count());
    return finish(o, summary_json(o, st, "pcap", 0, 0));
}

int send_port(const Options& o, std::vector<std::string> eal) {
    std::string prog = "vtap-gen";
    if (eal.empty())
        eal = {"--no-huge", "-m", "1024", "--no-pci", "--file-prefix=vtapgen" + std::to_string(getpid()),
               "--log-level=lib.eal:error", "--no-telemetry"};
    eal.insert(eal.begin(), prog);
    std::vector<char*> argv;
    for (auto& s : eal) argv.push_back(s.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
        return runtime_error(Error{"EAL", std::string("rte_eal_init: ") + rte_strerror(rte_errno)});

    FrameStore store;
    double build_s = 0;
    size_t max_len = 0;
    if (o.mode != TxMode::kStream) {
        uint64_t t0 = rte_get_tsc_cycles();
        uint64_t want = o.count ? std::min(o.count, o.prebuild_max) : o.prebuild_max;
        auto n = produce(o.src, want, [&](const GenFrame& f) -> Result<void> {
            store.add(f);
            max_len = std::max(max_len, f.outer.size());
            return {};
        });
        if (!n) return runtime_error(n.error());
        build_s = static_cast<double>(rte_get_tsc_cycles() - t0) / static_cast<double>(rte_get_tsc_hz());
    } else {
        // Payload frames are the largest a synthesized flow sends.
        const SizeSpec& sz = o.src.synth->size;
        size_t inner = sz.mode == SizeMode::kFixed ? sz.fixed : sz.mode == SizeMode::kJumbo ? kJumboFrame : 1514;
        max_len = std::max<size_t>(inner, 200) + vtap_overhead(o.src.synth->vtap) + 8;  // + inner VLAN tags
    }
    uint32_t mbufs = o.mbufs ? o.mbufs : o.mode == TxMode::kRefcnt ? static_cast<uint32_t>(store.size()) + 8192 : 8191;
    uint32_t room = static_cast<uint32_t>(std::max<size_t>({max_len, 2048, o.data_room})) + RTE_PKTMBUF_HEADROOM;
    if (room > UINT16_MAX) return runtime_error(Error{"mempool", "frames above 65 KB do not fit one mbuf"});
    rte_mempool* pool = rte_pktmbuf_pool_create("vtapgen_pool", mbufs, 256, 0, static_cast<uint16_t>(room), SOCKET_ID_ANY);
    if (pool == nullptr)
        return runtime_error(Error{"mempool", std::to_string(mbufs) + " mbufs of " + std::to_string(room) +
                                                  " bytes: " + rte_strerror(rte_errno) + " (raise -m or lower --prebuild-max)"});
    auto port = open_tx_port(o.port, pool, 1024, o.link_wait);
    if (!port) return runtime_error(port.error());

    TxOptions t;
    t.port = port->port_id;
    t.pool = pool;
    t.rate = o.rate;
    t.burst = o.burst;
    t.retry = o.retry;
    t.mode = o.mode;
    t.count = o.count ? o.count : o.mode == TxMode::kStream ? 0 : store.size();
    auto st = o.mode == TxMode::kStream ? send_stream(o.src, t) : send_store(store, t);
    // Let a copying PMD drain its queue before the port goes away.
    rte_delay_ms(100);
    close_tx_port(*port);
    if (!st) return runtime_error(st.error());
    int rc = finish(o, summary_json(o, *st, "port", store.size(), build_s));
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    int own = argc;
    std::vector<std::string> eal;
    for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == "--") {
            own = i;
            for (int j = i + 1; j < argc; ++j) eal.emplace_back(argv[j]);
            break;
        }
    if (own > 1 && (std::string_view(argv[1]) == "-h" || std::string_view(argv[1]) == "--help")) {
        std::fputs(kUsage, stdout);
        std::fputs(kHelp, stdout);
        return 0;
    }
    std::vector<std::string_view> valued = kCommonValued;
    valued.insert(valued.end(), kSynthValued.begin(), kSynthValued.end());
    for (auto v : {"--wrap", "--port", "--count", "--pps", "--gbps", "--mode", "--burst", "--prebuild-max", "--mbufs", "--data-room",
                   "--link-wait"})
        valued.push_back(v);
    std::vector<std::string_view> flags = kSynthFlags;
    flags.push_back("--retry");
    ArgReader a(own, argv, valued, flags, 1);

    Options o;
    if (a.has("--wrap")) {
        o.src.wrap_in = a.text("--wrap");
        o.src.wrap.tap_srcs = a.ipv4_list("--tap-src", o.src.wrap.tap_srcs);
        o.src.wrap.vtap = vtap_options(a);
    } else {
        o.src.synth = synth_config(a);
    }
    o.out = a.text("--out");
    o.port = a.text("--port");
    o.summary = a.text("--summary-json");
    o.count = a.number<uint64_t>("--count", 1, UINT64_MAX, 0);
    o.rate.pps = positive(a, "--pps");
    o.rate.bps = positive(a, "--gbps") * 1e9;
    if (a.has("--mode")) a.parsed("--mode", o.mode, parse_mode);
    o.burst = a.number<uint16_t>("--burst", 1, 64, o.burst);
    o.retry = a.has("--retry");
    o.prebuild_max = a.number<uint64_t>("--prebuild-max", 1, UINT64_MAX, o.prebuild_max);
    o.mbufs = a.number<uint32_t>("--mbufs", 1023, UINT32_MAX, 0);
    o.data_room = a.number<uint32_t>("--data-room", 0, 65000, 0);
    o.link_wait = a.has("--link-wait") ? positive(a, "--link-wait") : o.link_wait;
    if (!a.ok()) return usage(a.error_text());
    if (o.out.empty() == o.port.empty()) return usage("give exactly one of --out FILE and --port DEV");
    if (o.rate.pps > 0 && o.rate.bps > 0) return usage("give at most one of --pps and --gbps");
    if (o.mode == TxMode::kStream && !o.src.synth) return usage("--mode stream is for synthesized flows; --wrap replays a stored capture");
    if (o.src.synth)
        if (auto ok = validate(*o.src.synth); !ok) return usage(ok.error().to_string());
    if (!o.src.synth)
        if (auto ok = validate(o.src.wrap.vtap); !ok) return usage(ok.error().to_string());
    return o.out.empty() ? send_port(o, std::move(eal)) : write_pcap(o);
}
