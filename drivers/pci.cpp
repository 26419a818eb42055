// PCI address text -> the device name DPDK gives the probed device, shared by
// the PCI families (mlx5, mana).
#include <rte_pci.h>

#include "drivers/family.hpp"

namespace vtap::drivers {

Result<std::string> pci_device_name(const std::string& text) {
    if (text.empty()) return fail("", "'pci' (the device's PCI address, e.g. 7870:00:00.0) is required");
    rte_pci_addr addr{};
    // rte_pci_addr_parse accepts both "dddd:bb:dd.f" and "bb:dd.f".
    if (rte_pci_addr_parse(text.c_str(), &addr) != 0)
        return fail("", cat("pci '", text, "' is not a PCI address (domain:bus:device.function)"));
    char name[PCI_PRI_STR_SIZE];
    rte_pci_device_name(&addr, name, sizeof(name));
    return std::string(name);
}

}  // namespace vtap::drivers
