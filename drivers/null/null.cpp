// net_null: every rx_burst returns a full burst of 64-byte zeroed frames,
// no TX side effects. Used to measure the pipeline without a NIC.
#include <rte_build_config.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

Result<void> check(const config::PortConfig&) { return {}; }

Result<std::string> device(const config::PortConfig&, unsigned index) {
    return cat("net_null", index);
}

Result<std::string> devargs(const config::PortConfig&) { return std::string(); }

}  // namespace

extern const Family kNullFamily;
const Family kNullFamily{
    .driver = "null",
    .pmd = "net_null",
    .kind = DeviceKind::kVdev,
#ifdef RTE_NET_NULL
    .in_build_config = true,
#endif
    .missing_hint = "net_null is not part of this DPDK",
    .check = check,
    .device = device,
    .devargs = devargs,
};

}  // namespace vtap::drivers
