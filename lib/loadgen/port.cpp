#include "loadgen/port.hpp"

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace vtap::loadgen {
namespace {

std::string err(const std::string& what, int rc) { return what + ": " + rte_strerror(rc < 0 ? -rc : rte_errno); }

}  // namespace

Result<TxPort> open_tx_port(const std::string& spec, rte_mempool* pool, uint16_t txd, double link_wait_s) {
    TxPort p;
    size_t comma = spec.find(',');
    p.device = spec.substr(0, comma);
    if (rte_eth_dev_get_port_by_name(p.device.c_str(), &p.port_id) != 0) {
        std::string args = comma == std::string::npos ? "" : spec.substr(comma + 1);
        if (int rc = rte_vdev_init(p.device.c_str(), args.c_str()); rc != 0)
            return fail(spec, err("rte_vdev_init", rc));
        p.created = true;
        if (rte_eth_dev_get_port_by_name(p.device.c_str(), &p.port_id) != 0)
            return close_tx_port(p), fail(spec, "the vdev made no ethdev port");
    }
    rte_eth_conf conf{};
    if (int rc = rte_eth_dev_configure(p.port_id, 1, 1, &conf); rc != 0)
        return close_tx_port(p), fail(spec, err("rte_eth_dev_configure", rc));
    uint16_t rxd = 256;
    if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(p.port_id, &rxd, &txd); rc != 0)
        return close_tx_port(p), fail(spec, err("rte_eth_dev_adjust_nb_rx_tx_desc", rc));
    int socket = rte_eth_dev_socket_id(p.port_id);
    unsigned sock = socket < 0 ? 0 : static_cast<unsigned>(socket);
    if (int rc = rte_eth_rx_queue_setup(p.port_id, 0, rxd, sock, nullptr, pool); rc != 0)
        return close_tx_port(p), fail(spec, err("rte_eth_rx_queue_setup", rc));
    if (int rc = rte_eth_tx_queue_setup(p.port_id, 0, txd, sock, nullptr); rc != 0)
        return close_tx_port(p), fail(spec, err("rte_eth_tx_queue_setup", rc));
    if (int rc = rte_eth_dev_start(p.port_id); rc != 0)
        return close_tx_port(p), fail(spec, err("rte_eth_dev_start", rc));
    uint64_t end = rte_get_timer_cycles() + static_cast<uint64_t>(link_wait_s * static_cast<double>(rte_get_timer_hz()));
    rte_eth_link link{};
    do {
        rte_eth_link_get_nowait(p.port_id, &link);
        if (link.link_status == RTE_ETH_LINK_UP) return p;
        rte_delay_ms(10);
    } while (rte_get_timer_cycles() < end);
    close_tx_port(p);
    return fail(spec, "link still down after " + std::to_string(link_wait_s) + " s (memif: is the peer running?)");
}

void close_tx_port(const TxPort& p) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
    if (p.created) rte_vdev_uninit(p.device.c_str());
}

}  // namespace vtap::loadgen
