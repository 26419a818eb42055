// The decisions open_port makes from a device's rte_eth_dev_info, split out
// so they can be tested against crafted capabilities (no NIC here reports a
// max_mtu below 65535). Internal to drivers/ and its tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <rte_ethdev.h>

#include "core/result.hpp"

namespace vtap::drivers {

// The outer IPv4/UDP fields vtapd asks RSS to hash (VXLAN is UDP over IPv4).
inline constexpr uint64_t kWantedRss = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP;

// Bytes of L2 framing on top of the MTU, the way ethdev computes it: from
// max_rx_pktlen - max_mtu when the PMD reports both, else Ethernet + CRC.
uint32_t frame_overhead(const rte_eth_dev_info& info) noexcept;

// Fails when `mtu` is outside [min_mtu, max_mtu]; the message names both.
Result<void> check_mtu(uint16_t mtu, const rte_eth_dev_info& info, std::string_view pmd);

struct RxPlan {
    uint64_t rss_hf = 0;       // 0 = no RSS
    uint64_t offloads = 0;     // RTE_ETH_RX_OFFLOAD_*
    std::vector<std::string> notes;
};

// RSS and RX offloads for `rx_queues` queues receiving frames of up to
// `mtu` (0 = the default 1500) into mbufs with `buf_bytes` of data room after
// the headroom. Fails when the queues need RSS the PMD lacks, or frames do
// not fit and the PMD cannot scatter.
Result<RxPlan> plan_rx(const rte_eth_dev_info& info, std::string_view pmd, uint16_t rx_queues,
                       uint16_t mtu, uint32_t buf_bytes, bool queues_need_rss, bool has_mtu,
                       std::string_view rss_note);

}  // namespace vtap::drivers
