// net_tap: a kernel TAP interface as a DPDK port. vtapd uses it for the
// exception path (runtime/exception_path.hpp), never for VTAP input: frames
// written to it reach the kernel's stack as if received on a NIC, and what
// the kernel sends through it is read back and transmitted on the data port.
// With `mac` set, the kernel interface takes that MAC (net_tap's mac=), so
// the kernel answers ARP and TCP with the data port's own address.
#include <net/if.h>

#include <rte_build_config.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

Result<void> check(const config::PortConfig& pc) {
    if (pc.iface.empty()) return fail("", "'iface' (the tap interface to create) is required for driver 'tap'");
    if (pc.iface.size() >= IFNAMSIZ || pc.iface.find_first_of(",= /") != std::string::npos)
        return fail("", cat("iface '", pc.iface, "' must be under ", IFNAMSIZ, " characters without ',', '=', ' ', '/'"));
    if (if_nametoindex(pc.iface.c_str()) != 0)
        return fail("", cat("iface '", pc.iface, "' already exists; remove it or pick another tap_name"));
    return {};
}

Result<std::string> device(const config::PortConfig&, unsigned index) { return cat("net_tap", index); }

Result<std::string> devargs(const config::PortConfig& pc) {
    std::string a = cat("iface=", pc.iface);
    if (!pc.mac.empty()) a += cat(",mac=", pc.mac);
    return a;
}

}  // namespace

extern const Family kTapFamily;
const Family kTapFamily{
    .driver = "tap",
    .pmd = "net_tap",
    .kind = DeviceKind::kVdev,
#ifdef RTE_NET_TAP
    .in_build_config = true,
#endif
    .missing_hint = "net_tap is not part of this DPDK",
    .check = check,
    .device = device,
    .devargs = devargs,
};

}  // namespace vtap::drivers
