// net_ring built with rte_eth_from_rings: open_port creates one
// multi-producer/single-consumer ring per RX queue plus one TX ring, named
// after the device so ring.hpp can find them again. net_ring never frees
// rings it did not create, so destroy() does after the port is closed.
#include "drivers/ring/ring.hpp"

#include <vector>

#include <rte_build_config.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

// rte_eth_from_rings(name) names its vdev "net_ring_<name>".
constexpr std::string_view kVdevPrefix = "net_ring_";
constexpr uint16_t kMaxQueues = RTE_PMD_RING_MAX_RX_RINGS;

std::string rx_ring_name(const std::string& device, uint16_t q) { return cat("vt_", device, "_rx", q); }
std::string tx_ring_name(const std::string& device) { return cat("vt_", device, "_tx"); }

Result<void> check(const config::PortConfig& pc) {
    if (pc.rx_queues > kMaxQueues)
        return fail("", cat("rx_queues ", pc.rx_queues, " is above net_ring's maximum ", kMaxQueues));
    return {};
}

Result<std::string> device(const config::PortConfig&, unsigned index) {
    std::string name = cat(kVdevPrefix, index);
    if (rx_ring_name(name, kMaxQueues).size() >= RTE_RING_NAMESIZE)
        return fail("", cat("port index ", index, " is too large for ring names"));
    return name;
}

Result<std::string> devargs(const config::PortConfig&) { return std::string(); }

void destroy(const std::string& device) {
    for (uint16_t q = 0; q < kMaxQueues; q++) free_ring_and_mbufs(rte_ring_lookup(rx_ring_name(device, q).c_str()));
    free_ring_and_mbufs(rte_ring_lookup(tx_ring_name(device).c_str()));
}

Result<uint16_t> create(const config::PortConfig& pc, const std::string& device, const std::string& args) {
    if (!args.empty())
        return fail("", cat("driver 'ring' takes no devargs (got \"", args, "\")"));
    // RX: any thread may produce, only the port's RX lcore consumes.
    // EXACT_SZ: rx_descriptors need not be a power of two.
    std::vector<rte_ring*> rx;
    for (uint16_t q = 0; q < pc.rx_queues; q++) {
        rte_ring* r = rte_ring_create(rx_ring_name(device, q).c_str(), pc.rx_descriptors, SOCKET_ID_ANY,
                                      RING_F_SC_DEQ | RING_F_EXACT_SZ);
        if (r == nullptr) {
            destroy(device);
            return fail("", cat("rte_ring_create(", rx_ring_name(device, q), "): ", rte_strerror(rte_errno)));
        }
        rx.push_back(r);
    }
    rte_ring* tx = rte_ring_create(tx_ring_name(device).c_str(), pc.rx_descriptors, SOCKET_ID_ANY,
                                   RING_F_SP_ENQ | RING_F_EXACT_SZ);
    if (tx == nullptr) {
        destroy(device);
        return fail("", cat("rte_ring_create(", tx_ring_name(device), "): ", rte_strerror(rte_errno)));
    }
    std::string name = device.substr(kVdevPrefix.size());
    int port = rte_eth_from_rings(name.c_str(), rx.data(), pc.rx_queues, &tx, 1, SOCKET_ID_ANY);
    if (port < 0) {
        destroy(device);
        return fail("", cat("rte_eth_from_rings(", name, "): ", rte_strerror(rte_errno)));
    }
    return static_cast<uint16_t>(port);
}

}  // namespace

extern const Family kRingFamily;
const Family kRingFamily{
    .driver = "ring",
    .pmd = "net_ring",
    .kind = DeviceKind::kVdev,
#ifdef RTE_NET_RING
    .in_build_config = true,
#endif
    .has_mtu = false,
    .missing_hint = "net_ring is not part of this DPDK",
    .check = check,
    .device = device,
    .devargs = devargs,
    .create = create,
    .destroy = destroy,
};

namespace ring {

rte_ring* rx_ring(const PortHandle& h, uint16_t queue) {
    if (h.pmd != kRingFamily.pmd || queue >= h.rx_queues) return nullptr;
    return rte_ring_lookup(rx_ring_name(h.device, queue).c_str());
}

rte_ring* tx_ring(const PortHandle& h) {
    if (h.pmd != kRingFamily.pmd) return nullptr;
    return rte_ring_lookup(tx_ring_name(h.device).c_str());
}

}  // namespace ring
}  // namespace vtap::drivers
