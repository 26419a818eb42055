// net_mana: the Microsoft Azure Network Adapter VF of newer Azure sizes.
// One PCI function can carry several vPorts, so the port is selected by MAC
// (devarg mac=); RSS hashes outer headers only. Debian 12's DPDK 22.11
// package does not build this PMD: pmd_available("net_mana") is false there
// and every mana port fails with a pointer to drivers/README.md.
#include <rte_build_config.h>
#include <rte_ether.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

Result<void> check(const config::PortConfig& pc) {
    if (auto name = pci_device_name(pc.pci); !name) return std::unexpected(name.error());
    if (pc.mac.empty())
        return fail("", "'mac' is required for driver 'mana': without it the PMD probes every "
                        "vPort of the PCI function, possibly the VM's primary NIC too");
    rte_ether_addr addr{};
    if (rte_ether_unformat_addr(pc.mac.c_str(), &addr) != 0)
        return fail("", cat("mac '", pc.mac, "' is not a MAC address"));
    return {};
}

Result<std::string> device(const config::PortConfig& pc, unsigned) { return pci_device_name(pc.pci); }

Result<std::string> devargs(const config::PortConfig& pc) { return cat("mac=", pc.mac); }

}  // namespace

extern const Family kManaFamily;
const Family kManaFamily{
    .driver = "mana",
    .pmd = "net_mana",
    .kind = DeviceKind::kBus,
#ifdef RTE_NET_MANA
    .in_build_config = true,
#endif
    .queues_need_rss = true,
    .rss_note = "MANA hashes outer headers only, so one tap source with a fixed UDP source port "
                "lands in one queue",
    .missing_hint = "net_mana is not part of this DPDK (Debian 12's DPDK 22.11 package does not "
                    "build it); see drivers/README.md to build DPDK with MANA",
    .check = check,
    .device = device,
    .devargs = devargs,
};

}  // namespace vtap::drivers
