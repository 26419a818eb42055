// net_netvsc: the Hyper-V synthetic NIC driven from user space over VMBus
// (device bound to uio_hv_generic). On Azure accelerated networking it also
// drives the SR-IOV VF (mlx5 or MANA) transparently and falls back to the
// synthetic path when the host removes the VF. The device is a VMBus UUID,
// not a PCI address: PortConfig::pci carries it (drivers/README.md).
#include <cctype>

#include <rte_build_config.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

// 8-4-4-4-12 hex digits, e.g. "f8615163-df3e-46c5-913f-f2d2f965ed0e".
bool is_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

Result<void> check(const config::PortConfig& pc) {
    if (pc.pci.empty())
        return fail("", "'pci' is required for driver 'netvsc': the VMBus device UUID, "
                        "basename $(readlink /sys/class/net/<iface>/device)");
    if (!is_uuid(pc.pci))
        return fail("", cat("pci '", pc.pci, "' is not a VMBus device UUID; netvsc devices are on "
                            "VMBus (basename $(readlink /sys/class/net/<iface>/device)), "
                            "a PCI address here is the VF, which driver 'mlx5' or 'mana' takes"));
    return {};
}

Result<std::string> device(const config::PortConfig& pc, unsigned) {
    std::string uuid = pc.pci;
    for (char& c : uuid) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return uuid;
}

// Tunables (latency, rx_copybreak, tx_copybreak, rx_extmbuf_enable) come
// only from PortConfig::devargs; the PMD's defaults suit a receiver.
Result<std::string> devargs(const config::PortConfig&) { return std::string(); }

}  // namespace

extern const Family kNetvscFamily;
const Family kNetvscFamily{
    .driver = "netvsc",
    .pmd = "net_netvsc",
    .kind = DeviceKind::kBus,
#ifdef RTE_NET_NETVSC
    .in_build_config = true,
#endif
    .queues_need_rss = true,
    .missing_hint = "net_netvsc is not part of this DPDK (it needs the vmbus bus driver)",
    .check = check,
    .device = device,
    .devargs = devargs,
};

}  // namespace vtap::drivers
