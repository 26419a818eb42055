// net_pcap: replays a capture file as an RX queue (tests, benchmarks,
// offline analysis). No tx_pcap is given, so the PMD's TX queue drops.
// The file is opened here first: net_pcap's own failure surfaces from
// rte_vdev_init as a bare -EPERM, which names neither the file nor the cause.
#include <pcap/pcap.h>

#include <rte_build_config.h>

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
};

}  // namespace vtap::drivers
