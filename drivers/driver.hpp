// Packet I/O ports, one implementation per NIC family or vdev. Everything
// that differs per PMD — EAL arguments, vdev creation, queue/RSS/offload
// setup, MTU, quirks — lives under drivers/<family>/; PMD names appear
// nowhere else. Control path only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

struct rte_mempool;

namespace vtap::drivers {

struct PortHandle {
    uint16_t port_id = 0;
    std::string name;         // PortConfig::name or "<driver><index>"
    std::string pmd;          // e.g. "net_pcap"
    std::string device;       // EAL device: vdev name ("net_pcap0") or bus address
    uint16_t rx_queues = 0;
    uint16_t tx_queues = 0;   // always 1 (a drop queue for net_pcap); for the exception path
    // Things the operator should know about how the port was set up (RSS
    // hash fields, scatter enabled, mtu not applicable); log them at start.
    std::vector<std::string> notes;
};

// EAL arguments a port needs before rte_eal_init (PCI allow-list entries for
// mlx5/netvsc/mana with their devargs). Empty for vdevs, which are created
// after EAL start by open_port. Fails for an unknown driver or missing fields.
Result<std::vector<std::string>> eal_args(const config::PortConfig& pc, unsigned index);

// After rte_eal_init: creates or finds the port, configures its RX queues from
// `pool`, RSS on outer IPv4/UDP where the PMD supports it, MTU, promiscuous and
// allmulticast, and starts it. Errors say which port, which step and
// rte_strerror; a PMD missing from the installed DPDK (net_mana on Debian 12)
// is reported as such with a pointer to drivers/README.md.
Result<PortHandle> open_port(const config::PortConfig& pc, unsigned index, rte_mempool* pool);

// Stops and closes the port (and removes its vdev). Safe to call once per handle.
void close_port(const PortHandle& h);

// True when the PMD (e.g. "net_mana") is part of the DPDK this binary runs
// with: its plugin is loaded in this process or present in RTE_EAL_PMD_PATH
// (a static DPDK: listed in rte_build_config.h). See drivers/README.md.
bool pmd_available(std::string_view pmd);

// The driver names accepted in PortConfig::driver.
const std::vector<std::string_view>& driver_names();

}  // namespace vtap::drivers
