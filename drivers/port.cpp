// The generic ethdev sequence every family shares: find or create the
// device, check capabilities, configure RSS/offloads/MTU, set up queues,
// start, promiscuous/allmulticast. Family folders only supply names, devargs
// and quirk flags (family.hpp). On any failure the half-built port is torn
// down again, so a failed open leaves nothing behind.
#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "drivers/driver.hpp"
#include "drivers/family.hpp"
#include "drivers/port_setup.hpp"

namespace vtap::drivers {
namespace {

constexpr uint16_t kTxQueues = 1;
constexpr uint16_t kTxDescriptors = 512;

std::string port_label(const config::PortConfig& pc, unsigned index) {
    return pc.name.empty() ? cat(pc.driver, index) : pc.name;
}

std::string where_of(const config::PortConfig& pc, unsigned index, std::string_view pmd) {
    return cat("port ", index, " '", port_label(pc, index), "' (", pmd, ")");
}

std::string known_drivers() {
    std::string out;
    for (auto name : driver_names()) out = join_args(out, name);
    return out;
}

// Common front half of eal_args and open_port: family lookup, PMD presence,
// required fields.
Result<const Family*> resolve(const config::PortConfig& pc, unsigned index) {
    const Family* fam = find_family(pc.driver);
    if (fam == nullptr)
        return fail(cat("port ", index, " '", port_label(pc, index), "'"),
                    cat("unknown driver '", pc.driver, "' (known: ", known_drivers(), ")"));
    std::string where = where_of(pc, index, fam->pmd);
    if (fam->check == nullptr)  // a family compiled out: registry.cpp gives the reason
        return fail(where, std::string(fam->missing_hint));
    if (!pmd_available(fam->pmd)) return fail(where, std::string(fam->missing_hint));
    if (auto ok = fam->check(pc); !ok) return fail(where, ok.error().what);
    return fam;
}

std::string rte_error(int ret) { return rte_strerror(ret < 0 ? -ret : ret); }

// Finds the ethdev port(s) EAL probed for a bus device. mlx5 and netvsc name
// the port after the device; MANA may expose several ports on one PCI
// function, told apart by MAC, so matching goes through rte_dev_name.
Result<uint16_t> find_bus_port(const config::PortConfig& pc, const std::string& device) {
    rte_ether_addr want{};
    bool by_mac = !pc.mac.empty();
    if (by_mac && rte_ether_unformat_addr(pc.mac.c_str(), &want) != 0)
        return fail("", cat("mac '", pc.mac, "' is not a MAC address"));
    unsigned found = 0;
    uint16_t match = RTE_MAX_ETHPORTS;
    uint16_t port = 0;
    RTE_ETH_FOREACH_DEV(port) {
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(port, &info) != 0 || info.device == nullptr) continue;
        if (device != rte_dev_name(info.device)) continue;
        found++;
        rte_ether_addr have{};
        if (by_mac && (rte_eth_macaddr_get(port, &have) != 0 || !rte_is_same_ether_addr(&have, &want)))
            continue;
        if (match != RTE_MAX_ETHPORTS)
            return fail("", cat("device ", device, " has several ports; set 'mac' to pick one"));
        match = port;
    }
    if (match != RTE_MAX_ETHPORTS) return match;
    if (found > 0)
        return fail("", cat("no port of device ", device, " has mac ", pc.mac));
    return fail("", cat("device ", device,
                        " was not probed: pass eal_args() to rte_eal_init and check the device "
                        "is bound to its driver (drivers/README.md)"));
}

Result<uint16_t> create_vdev(const config::PortConfig& pc, const Family& fam,
                             const std::string& device, const std::string& args) {
    if (fam.create != nullptr) return fam.create(pc, device, args);
    return create_plain_vdev(device, args);
}

// Undoes a partly opened port; `started` says whether rte_eth_dev_start ran.
void teardown(const Family& fam, uint16_t port, const std::string& device, bool started) {
    if (started) rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
    if (fam.kind == DeviceKind::kVdev) rte_vdev_uninit(device.c_str());
    if (fam.destroy != nullptr) fam.destroy(device);
}

// Everything after the port exists; `h` is filled as steps succeed.
Result<void> setup(const config::PortConfig& pc, const Family& fam, rte_mempool* pool,
                   PortHandle& h, bool& started) {
    const uint16_t port = h.port_id;
    rte_eth_dev_info info{};
    if (int ret = rte_eth_dev_info_get(port, &info); ret != 0)
        return fail("", "rte_eth_dev_info_get: " + rte_error(ret));
    if (pc.rx_queues == 0) return fail("", "rx_queues must be at least 1");
    if (pc.rx_queues > info.max_rx_queues)
        return fail("", cat("rx_queues ", pc.rx_queues, " is above the device's maximum ",
                            info.max_rx_queues));
    if (info.max_tx_queues < kTxQueues)
        return fail("", "the device offers no TX queue");
    if (pc.mtu != 0 && fam.has_mtu) {
        if (auto ok = check_mtu(pc.mtu, info, fam.pmd); !ok) return std::unexpected(ok.error());
    }
    uint32_t room = rte_pktmbuf_data_room_size(pool);
    if (room <= RTE_PKTMBUF_HEADROOM)
        return fail("", cat("mempool '", pool->name, "' has no room for packet data (not a pktmbuf pool?)"));
    uint32_t buf_bytes = room - RTE_PKTMBUF_HEADROOM;
    auto plan = plan_rx(info, fam.pmd, pc.rx_queues, pc.mtu, buf_bytes, fam.queues_need_rss,
                        fam.has_mtu, fam.rss_note);
    if (!plan) return std::unexpected(plan.error());
    h.notes = plan->notes;

    rte_eth_conf conf{};
    conf.rxmode.offloads = plan->offloads;
    if (plan->rss_hf != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_key = nullptr;  // the PMD's default key
        conf.rx_adv_conf.rss_conf.rss_hf = plan->rss_hf;
    }
    if (pc.mtu != 0 && fam.has_mtu) conf.rxmode.mtu = pc.mtu;
    if (int ret = rte_eth_dev_configure(port, pc.rx_queues, kTxQueues, &conf); ret != 0)
        return fail("", "rte_eth_dev_configure: " + rte_error(ret));
    if (pc.mtu != 0 && fam.has_mtu) {
        // configure records the MTU; some PMDs apply it to the device only here.
        if (int ret = rte_eth_dev_set_mtu(port, pc.mtu); ret != 0)
            return fail("", cat("rte_eth_dev_set_mtu(", pc.mtu, "): ", rte_error(ret)));
    }
    uint16_t rxd = pc.rx_descriptors;
    uint16_t txd = kTxDescriptors;
    if (int ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd); ret != 0)
        return fail("", "rte_eth_dev_adjust_nb_rx_tx_desc: " + rte_error(ret));
    int socket = rte_eth_dev_socket_id(port);
    unsigned socket_id = socket < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : static_cast<unsigned>(socket);
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = plan->offloads;
    for (uint16_t q = 0; q < pc.rx_queues; q++) {
        if (int ret = rte_eth_rx_queue_setup(port, q, rxd, socket_id, &rxconf, pool); ret != 0)
            return fail("", cat("rte_eth_rx_queue_setup(queue ", q, ", ", rxd,
                                " descriptors): ", rte_error(ret)));
    }
    if (int ret = rte_eth_tx_queue_setup(port, 0, txd, socket_id, nullptr); ret != 0)
        return fail("", "rte_eth_tx_queue_setup: " + rte_error(ret));
    if (int ret = rte_eth_dev_start(port); ret != 0)
        return fail("", "rte_eth_dev_start: " + rte_error(ret));
    started = true;
    if (pc.promiscuous) {
        if (int ret = rte_eth_promiscuous_enable(port); ret != 0)
            return fail("", "rte_eth_promiscuous_enable: " + rte_error(ret));
    }
    if (pc.allmulti) {
        if (int ret = rte_eth_allmulticast_enable(port); ret != 0)
            return fail("", "rte_eth_allmulticast_enable: " + rte_error(ret));
    }
    if (!pc.mac.empty()) {
        rte_ether_addr want{}, have{};
        if (rte_ether_unformat_addr(pc.mac.c_str(), &want) != 0)
            return fail("", cat("mac '", pc.mac, "' is not a MAC address"));
        if (rte_eth_macaddr_get(port, &have) != 0 || !rte_is_same_ether_addr(&have, &want)) {
            char text[RTE_ETHER_ADDR_FMT_SIZE];
            rte_ether_format_addr(text, sizeof(text), &have);
            return fail("", cat("mac is ", text, ", the configuration expects ", pc.mac));
        }
    }
    h.rx_queues = pc.rx_queues;
    h.tx_queues = kTxQueues;
    return {};
}

}  // namespace

Result<std::vector<std::string>> eal_args(const config::PortConfig& pc, unsigned index) {
    auto fam = resolve(pc, index);
    if (!fam) return std::unexpected(fam.error());
    if ((*fam)->kind == DeviceKind::kVdev) return std::vector<std::string>{};
    std::string where = where_of(pc, index, (*fam)->pmd);
    auto device = (*fam)->device(pc, index);
    if (!device) return fail(where, device.error().what);
    auto args = (*fam)->devargs(pc);
    if (!args) return fail(where, args.error().what);
    return std::vector<std::string>{"-a", join_args(*device, join_args(*args, pc.devargs))};
}

Result<PortHandle> open_port(const config::PortConfig& pc, unsigned index, rte_mempool* pool) {
    auto resolved = resolve(pc, index);
    if (!resolved) return std::unexpected(resolved.error());
    const Family& fam = **resolved;
    std::string where = where_of(pc, index, fam.pmd);
    if (pool == nullptr) return fail(where, "no mempool given");
    auto device = fam.device(pc, index);
    if (!device) return fail(where, device.error().what);

    PortHandle h;
    h.name = port_label(pc, index);
    h.pmd = std::string(fam.pmd);
    h.device = *device;
    if (fam.kind == DeviceKind::kVdev) {
        auto args = fam.devargs(pc);
        if (!args) return fail(where, args.error().what);
        auto port = create_vdev(pc, fam, h.device, join_args(*args, pc.devargs));
        if (!port) return fail(where, port.error().what);
        h.port_id = *port;
    } else {
        auto port = find_bus_port(pc, h.device);
        if (!port) return fail(where, port.error().what);
        h.port_id = *port;
    }
    bool started = false;
    if (auto ok = setup(pc, fam, pool, h, started); !ok) {
        teardown(fam, h.port_id, h.device, started);
        return fail(where, ok.error().what);
    }
    return h;
}

Result<uint16_t> create_plain_vdev(const std::string& device, const std::string& args) {
    int ret = rte_vdev_init(device.c_str(), args.c_str());
    if (ret != 0)
        return fail("", cat("rte_vdev_init(", device, ", \"", args, "\"): ", rte_error(ret),
                            " (the PMD's log line says more)"));
    uint16_t port = 0;
    if (rte_eth_dev_get_port_by_name(device.c_str(), &port) != 0) {
        rte_vdev_uninit(device.c_str());
        return fail("", cat("rte_eth_dev_get_port_by_name(", device, "): no such port"));
    }
    return port;
}

void free_ring_and_mbufs(rte_ring* r) {
    if (r == nullptr) return;
    void* objs[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(r, objs, 64, nullptr)) > 0)
        rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), n);
    rte_ring_free(r);
}

void close_port(const PortHandle& h) {
    const Family* fam = find_family_by_pmd(h.pmd);
    if (fam == nullptr || !rte_eth_dev_is_valid_port(h.port_id)) return;
    teardown(*fam, h.port_id, h.device, true);
}

}  // namespace vtap::drivers
