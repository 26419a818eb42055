// Capability checks for open_port: MTU range, RSS fields, scatter.
#include "drivers/port_setup.hpp"

#include <cstdio>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

uint32_t frame_overhead(const rte_eth_dev_info& info) noexcept {
    // Same rule as ethdev's eth_dev_get_overhead_len().
    if (info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu)
        return info.max_rx_pktlen - info.max_mtu;
    return RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
}

Result<void> check_mtu(uint16_t mtu, const rte_eth_dev_info& info, std::string_view pmd) {
    if (mtu > info.max_mtu)
        return fail("", cat("mtu ", mtu, " is above ", pmd, "'s maximum ", info.max_mtu,
                            " (rte_eth_dev_info.max_mtu)"));
    if (mtu < info.min_mtu)
        return fail("", cat("mtu ", mtu, " is below ", pmd, "'s minimum ", info.min_mtu,
                            " (rte_eth_dev_info.min_mtu)"));
    return {};
}

Result<RxPlan> plan_rx(const rte_eth_dev_info& info, std::string_view pmd, uint16_t rx_queues,
                       uint16_t mtu, uint32_t buf_bytes, bool queues_need_rss, bool has_mtu,
                       std::string_view rss_note) {
    RxPlan plan;
    if (rx_queues > 1) {
        plan.rss_hf = kWantedRss & info.flow_type_rss_offloads;
        if (plan.rss_hf != 0) {
            plan.notes.push_back(cat("RSS over ", rx_queues, " queues hashing ",
                                     (plan.rss_hf & RTE_ETH_RSS_NONFRAG_IPV4_UDP) != 0
                                         ? "outer IPv4 addresses and UDP ports"
                                         : "outer IPv4 addresses only",
                                     rss_note.empty() ? "" : "; ", rss_note));
            if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH) != 0)
                plan.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
        } else if (queues_need_rss) {
            return fail("", cat("rx_queues ", rx_queues, " needs RSS on outer IPv4/UDP, which ", pmd,
                                " does not offer (flow_type_rss_offloads ",
                                hex(info.flow_type_rss_offloads), "); use rx_queues: 1"));
        } else {
            plan.notes.push_back(cat(pmd, " spreads frames over its ", rx_queues,
                                     " queues itself (no RSS)"));
        }
    }
    if (!has_mtu) {
        if (mtu != 0)
            plan.notes.push_back(cat("mtu ", mtu, " not applied: ", pmd,
                                     " delivers frames at the size they were recorded or enqueued"));
        return plan;
    }
    uint32_t frame = uint32_t{mtu != 0 ? mtu : uint16_t{RTE_ETHER_MTU}} + frame_overhead(info);
    if (frame > buf_bytes) {
        if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) == 0)
            return fail("", cat("frames of up to ", frame, " bytes (mtu ", mtu != 0 ? mtu : RTE_ETHER_MTU,
                                ") do not fit the ", buf_bytes, "-byte mbufs and ", pmd,
                                " cannot scatter; raise mempool.data_room to at least ",
                                frame + RTE_PKTMBUF_HEADROOM));
        plan.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        plan.notes.push_back(cat("scatter on: frames of up to ", frame, " bytes span several ",
                                 buf_bytes, "-byte mbufs"));
    }
    return plan;
}

}  // namespace vtap::drivers
