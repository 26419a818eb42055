// What one NIC family or vdev contributes to port setup: its PMD name, how
// its EAL device is named and created, its devargs, and the quirks the
// generic sequence in port.cpp consults. Each drivers/<family>/ folder defines
// one Family; registry.cpp maps PortConfig::driver to it. Internal to drivers/.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/result.hpp"

struct rte_ring;

namespace vtap::drivers {

enum class DeviceKind : uint8_t {
    kVdev,  // created after rte_eal_init by open_port (rte_vdev_init)
    kBus,   // probed by EAL from an -a allow-list entry (PCI or VMBus)
};

struct Family {
    std::string_view driver = {};  // PortConfig::driver
    std::string_view pmd = {};     // DPDK PMD library name, e.g. "net_pcap" (librte_net_pcap)
    DeviceKind kind = DeviceKind::kVdev;
    // true when rte_build_config.h of the DPDK we compiled against lists the
    // PMD (RTE_NET_<X>); only consulted for a static DPDK (see pmd.cpp).
    bool in_build_config = false;
    // false: frames arrive at the size they were recorded or enqueued (pcap,
    // ring), so a configured mtu is not applied and a note says so.
    bool has_mtu = true;
    // true: several RX queues only make sense with RSS (real NICs); without
    // RSS support open_port refuses rx_queues > 1. Vdevs spread by their own
    // means (af_packet fanout, one ring or file per queue).
    bool queues_need_rss = false;
    // Operator note added when RSS is enabled (mlx5/mana: outer headers only).
    std::string_view rss_note = {};
    // What to tell the operator when pmd_available(pmd) is false.
    std::string_view missing_hint = {};

    // Required fields and their syntax; the message names the field.
    Result<void> (*check)(const config::PortConfig& pc) = nullptr;
    // EAL device name: "net_pcap0" for vdevs, the bus address for PCI/VMBus.
    Result<std::string> (*device)(const config::PortConfig& pc, unsigned index) = nullptr;
    // Device arguments without PortConfig::devargs (port.cpp appends those).
    Result<std::string> (*devargs)(const config::PortConfig& pc) = nullptr;
    // Optional: creates the vdev itself and returns its port id (ring builds
    // its rings first). Default: rte_vdev_init + rte_eth_dev_get_port_by_name.
    Result<uint16_t> (*create)(const config::PortConfig& pc, const std::string& device,
                               const std::string& args) = nullptr;
    // Optional: runs after the port is closed and its vdev removed.
    void (*destroy)(const std::string& device) = nullptr;
};

// The default `create`: rte_vdev_init(device, args) and the port it made
// (a family's own create may fall back to it).
Result<uint16_t> create_plain_vdev(const std::string& device, const std::string& args);

// Frees the mbufs still queued on `r`, then `r` (a no-op for nullptr); for
// families that own the rings of a net_ring port.
void free_ring_and_mbufs(rte_ring* r);

// The family for PortConfig::driver, or nullptr.
const Family* find_family(std::string_view driver);
// The family whose PMD is `pmd`, or nullptr.
const Family* find_family_by_pmd(std::string_view pmd);

// Message building (GCC 12's libstdc++ has no <format>): cat("rx_queues ", n).
namespace detail {
inline void append(std::string& s, std::string_view v) { s += v; }
template <std::integral T>
void append(std::string& s, T v) { s += std::to_string(v); }
}  // namespace detail

template <class... A>
std::string cat(const A&... a) {
    std::string s;
    (detail::append(s, a), ...);
    return s;
}

// Shared by families: "a,b" joining that skips empty parts.
std::string join_args(std::string_view a, std::string_view b);

// Shared by the PCI families: "7870:00:00.0" or "00:08.0" -> DPDK's device
// name ("7870:00:00.0", "0000:00:08.0"); an error names the field.
Result<std::string> pci_device_name(const std::string& text);

}  // namespace vtap::drivers
