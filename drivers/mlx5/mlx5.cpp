// net_mlx5: the Mellanox ConnectX-4 Lx / ConnectX-5 VF of older Azure
// accelerated-networking sizes, used directly. The PMD is bifurcated: the VF
// stays bound to mlx5_core, and the kernel's netvsc keeps the synthetic path,
// so traffic the host moves there during VF removal is not seen (README).
#include <rte_build_config.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

Result<void> check(const config::PortConfig& pc) {
    if (auto name = pci_device_name(pc.pci); !name) return std::unexpected(name.error());
    return {};
}

Result<std::string> device(const config::PortConfig& pc, unsigned) { return pci_device_name(pc.pci); }

Result<std::string> devargs(const config::PortConfig&) { return std::string(); }

}  // namespace

extern const Family kMlx5Family;
const Family kMlx5Family{
    .driver = "mlx5",
    .pmd = "net_mlx5",
    .kind = DeviceKind::kBus,
#ifdef RTE_NET_MLX5
    .in_build_config = true,
#endif
    .queues_need_rss = true,
    .rss_note = "mlx5 hashes the outer (VXLAN) headers here, so one tap source with a fixed UDP "
                "source port lands in one queue",
    .missing_hint = "net_mlx5 is not part of this DPDK (it needs rdma-core at DPDK build time)",
    .check = check,
    .device = device,
    .devargs = devargs,
};

}  // namespace vtap::drivers
