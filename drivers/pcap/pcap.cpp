// net_pcap: replays a capture file as an RX queue (tests, benchmarks,
// offline analysis). No tx_pcap is given, so the PMD's TX queue drops.
// The file is opened here first: net_pcap's own failure surfaces from
// rte_vdev_init as a bare -EPERM, which names neither the file nor the cause.
//
// preload: net_pcap reads the file while it runs (libpcap's fread, a copy
// into each mbuf, page faults on fresh mbufs), which on a small VM is slower
// than the worker it feeds, so a benchmark of what follows RX measured the
// file reader. A preloaded port reads the file once at start into one
// memzone and queues one data-less mbuf per frame, attached to the frame's
// bytes in place (rte_pktmbuf_attach_extbuf), on the RX ring of a net_ring
// port: rx_burst then only dequeues. Frames keep their capture time in the
// RX timestamp dynfield, as net_pcap stamps them.
#include <pcap/pcap.h>

#include <cstring>

#include <rte_build_config.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <rte_bus_vdev.h>
#ifdef VTAP_PCAP_PRELOAD
#include <rte_eth_ring.h>
#endif

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

Result<void> check(const config::PortConfig& pc) {
    if (pc.pcap_file.empty()) return fail("", "'pcap_file' is required for driver 'pcap'");
    // kvargs splits on ',' and '='; such a path would be cut silently.
    if (pc.pcap_file.find_first_of(",=") != std::string::npos)
        return fail("", cat("pcap_file '", pc.pcap_file, "' contains ',' or '=', which devargs cannot carry"));
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline(pc.pcap_file.c_str(), err);
    if (p == nullptr) return fail("", cat("pcap_file '", pc.pcap_file, "': ", err));
    int link = pcap_datalink(p);
    pcap_close(p);
    // Raw IP captures are read with decap.mode ip; the pipeline checks that
    // the mode and the link type agree (runtime::check_pcap_link).
    if (link != DLT_EN10MB && link != DLT_RAW && link != DLT_IPV4 && link != DLT_IPV6)
        return fail("", cat("pcap_file '", pc.pcap_file, "' has link type ",
                            pcap_datalink_val_to_name(link) ? pcap_datalink_val_to_name(link) : "?",
                            "; vtapd reads Ethernet (EN10MB) frames, or raw IP (RAW, IPV4, IPV6) with decap.mode ip"));
    // net_pcap opens one RX queue per rx_pcap argument; several copies of the
    // same file would deliver every frame once per queue.
    if (pc.rx_queues != 1)
        return fail("", cat("rx_queues ", pc.rx_queues, ": driver 'pcap' reads one file into one queue; use 1"));
    return {};
}

Result<std::string> device(const config::PortConfig&, unsigned index) {
    return cat("net_pcap", index);
}

Result<std::string> devargs(const config::PortConfig& pc) {
    // infinite_rx: the PMD loads the file into memory and replays it forever.
    return cat("rx_pcap=", pc.pcap_file, pc.infinite_rx ? ",infinite_rx=1" : "");
}

// ---- preload ---------------------------------------------------------------

// Names of what a preloaded port owns, after its device ("net_pcap0").
std::string pre_name(const std::string& device, std::string_view what) { return cat("vt_", device, "_", what); }
// rte_eth_from_rings(name) names its vdev "net_ring_<name>".
std::string pre_vdev(const std::string& device) { return cat("net_ring_", device); }

// Also for a port that was not preloaded: every lookup then finds nothing.
void destroy(const std::string& device) {
    rte_vdev_uninit(pre_vdev(device).c_str());
    free_ring_and_mbufs(rte_ring_lookup(pre_name(device, "rx").c_str()));
    free_ring_and_mbufs(rte_ring_lookup(pre_name(device, "tx").c_str()));
    rte_mempool_free(rte_mempool_lookup(pre_name(device, "mb").c_str()));  // after the rings gave their mbufs back
    rte_memzone_free(rte_memzone_lookup(pre_name(device, "fr").c_str()));
}

// A frame's bytes are never freed one by one: the memzone goes at destroy().
void keep_frame(void*, void*) {}

#ifdef VTAP_PCAP_PRELOAD
Result<uint16_t> preload(const config::PortConfig& pc, const std::string& device) {
    char err[PCAP_ERRBUF_SIZE] = {};
    const std::string where = cat("pcap_file '", pc.pcap_file, "'");
    // Pass 1: how many frames and bytes.
    uint64_t frames = 0, bytes = 0;
    {
        pcap_t* p = pcap_open_offline(pc.pcap_file.c_str(), err);
        if (p == nullptr) return fail("", cat(where, ": ", err));
        pcap_pkthdr* h;
        const u_char* d;
        while (pcap_next_ex(p, &h, &d) == 1) {
            frames++;
            bytes += std::min<uint32_t>(h->caplen, UINT16_MAX);
        }
        pcap_close(p);
    }
    if (frames == 0) return fail("", cat(where, ": no frames to preload"));
    if (frames >= (uint64_t{1} << 31)) return fail("", cat(where, ": too many frames to preload"));
    const auto n = static_cast<unsigned>(frames);
    // Frames back to back, then one shared-info block per frame (DPDK frees
    // an external buffer when its block's refcount drops to 0; each frame's
    // does once, into keep_frame).
    const size_t info_off = RTE_ALIGN_CEIL(bytes, RTE_CACHE_LINE_SIZE);
    const size_t zone_bytes = info_off + size_t{n} * sizeof(rte_mbuf_ext_shared_info);
    const rte_memzone* mz = rte_memzone_reserve(pre_name(device, "fr").c_str(), zone_bytes, SOCKET_ID_ANY, 0);
    if (mz == nullptr)
        return fail("", cat(where, ": cannot reserve ", zone_bytes, " bytes to preload ", n, " frames: ",
                            rte_strerror(rte_errno), " (raise EAL -m)"));
    rte_mempool* mb = rte_pktmbuf_pool_create(pre_name(device, "mb").c_str(), n, 0, 0, 0, SOCKET_ID_ANY);
    rte_ring* rx = rte_ring_create(pre_name(device, "rx").c_str(), n, SOCKET_ID_ANY,
                                   RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    rte_ring* tx = rte_ring_create(pre_name(device, "tx").c_str(), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    int ts_off = -1;
    uint64_t ts_flag = 0;
    if (mb == nullptr || rx == nullptr || tx == nullptr ||
        rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag) != 0) {
        const std::string why = rte_strerror(rte_errno);
        destroy(device);
        return fail("", cat(where, ": cannot make ", n, " mbufs and rings to preload it: ", why, " (raise EAL -m)"));
    }
    const int port = rte_eth_from_rings(device.c_str(), &rx, 1, &tx, 1, SOCKET_ID_ANY);
    if (port < 0) {
        const std::string why = rte_strerror(rte_errno);
        destroy(device);
        return fail("", cat("rte_eth_from_rings(", device, "): ", why));
    }
    // Pass 2: the bytes into the zone, one attached mbuf per frame, queued.
    pcap_t* p = pcap_open_offline(pc.pcap_file.c_str(), err);
    if (p == nullptr) {
        destroy(device);
        return fail("", cat(where, ": ", err));
    }
    auto* base = static_cast<uint8_t*>(mz->addr);
    auto* infos = reinterpret_cast<rte_mbuf_ext_shared_info*>(base + info_off);
    const bool nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
    pcap_pkthdr* h;
    const u_char* d;
    size_t at = 0;
    unsigned i = 0;
    for (; i < n && pcap_next_ex(p, &h, &d) == 1; i++) {
        const uint16_t len = static_cast<uint16_t>(std::min<uint32_t>(h->caplen, UINT16_MAX));
        std::memcpy(base + at, d, len);
        rte_mbuf_ext_shared_info& info = infos[i];
        info.free_cb = keep_frame;
        info.fcb_opaque = nullptr;
        rte_mbuf_ext_refcnt_set(&info, 1);
        rte_mbuf* m = rte_pktmbuf_alloc(mb);
        if (m == nullptr) break;
        rte_pktmbuf_attach_extbuf(m, base + at, mz->iova == RTE_BAD_IOVA ? RTE_BAD_IOVA : mz->iova + at, len, &info);
        m->data_len = len;
        m->pkt_len = len;
        m->port = static_cast<uint16_t>(port);
        // Microseconds since the epoch, as net_pcap stamps them.
        *RTE_MBUF_DYNFIELD(m, ts_off, rte_mbuf_timestamp_t*) =
            uint64_t(h->ts.tv_sec) * 1'000'000u + uint64_t(h->ts.tv_usec) / (nano ? 1000u : 1u);
        m->ol_flags |= ts_flag;
        if (rte_ring_enqueue(rx, m) != 0) {
            rte_pktmbuf_free(m);
            break;
        }
        at += len;
    }
    pcap_close(p);
    if (i != n) {
        rte_eth_dev_close(static_cast<uint16_t>(port));
        destroy(device);
        return fail("", cat(where, ": preloaded ", i, " of ", n, " frames (the file changed, or mbufs ran out)"));
    }
    return static_cast<uint16_t>(port);
}
#endif

Result<uint16_t> create(const config::PortConfig& pc, const std::string& device, const std::string& args) {
    if (!pc.preload) return create_plain_vdev(device, args);
#ifdef VTAP_PCAP_PRELOAD
    if (!pc.devargs.empty()) return fail("", "'devargs' do not apply to a preloaded pcap port");
    return preload(pc, device);
#else
    return fail("", "'preload' needs librte_net_ring, which this build did not find");
#endif
}

}  // namespace

extern const Family kPcapFamily;
const Family kPcapFamily{
    .driver = "pcap",
    .pmd = "net_pcap",
    .kind = DeviceKind::kVdev,
#ifdef RTE_NET_PCAP
    .in_build_config = true,
#endif
    .has_mtu = false,
    .missing_hint = "net_pcap is not part of this DPDK (it needs libpcap at DPDK build time)",
    .check = check,
    .device = device,
    .devargs = devargs,
    .create = create,
    .destroy = destroy,
};

}  // namespace vtap::drivers
