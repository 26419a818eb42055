// open_port's capability decisions against crafted rte_eth_dev_info: no
// device on this machine reports a max_mtu below 65535 or scatter support,
// so the real NICs' cases are built here.
#include <catch2/catch.hpp>

#include <string>

#include "drivers/port_setup.hpp"

using namespace vtap::drivers;

namespace {

rte_eth_dev_info nic(uint16_t max_mtu, uint64_t rss, uint64_t rx_capa) {
    rte_eth_dev_info info{};
    info.min_mtu = 68;
    info.max_mtu = max_mtu;
    info.max_rx_pktlen = max_mtu + 18u;
    info.flow_type_rss_offloads = rss;
    info.rx_offload_capa = rx_capa;
    return info;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("an mtu above the device maximum is an error naming both", "[drivers]") {
    auto r = check_mtu(9000, nic(1500, 0, 0), "net_netvsc");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().what == "mtu 9000 is above net_netvsc's maximum 1500 (rte_eth_dev_info.max_mtu)");
    CHECK(check_mtu(1500, nic(1500, 0, 0), "net_netvsc").has_value());
}

TEST_CASE("RSS asks only for the outer IPv4/UDP fields the PMD offers", "[drivers]") {
    auto both = plan_rx(nic(1500, RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP, 0), "net_mlx5", 4,
                        0, 2048, true, true, "outer only");
    REQUIRE(both.has_value());
    CHECK(both->rss_hf == (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP));
    REQUIRE(both->notes.size() == 1);
    CHECK(both->notes[0] == "RSS over 4 queues hashing outer IPv4 addresses and UDP ports; outer only");

    auto ip_only = plan_rx(nic(1500, RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP, 0), "net_netvsc",
                           2, 0, 2048, true, true, "");
    REQUIRE(ip_only.has_value());
    CHECK(ip_only->rss_hf == RTE_ETH_RSS_IPV4);

    auto one = plan_rx(nic(1500, RTE_ETH_RSS_IP, 0), "net_mlx5", 1, 0, 2048, true, true, "");
    REQUIRE(one.has_value());
    CHECK(one->rss_hf == 0);  // one queue: nothing to spread
}

TEST_CASE("several queues on a NIC without RSS are refused", "[drivers]") {
    auto r = plan_rx(nic(1500, 0, 0), "net_x", 2, 0, 2048, true, true, "");
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().what, "rx_queues 2 needs RSS on outer IPv4/UDP, which net_x does not offer"));
    auto vdev = plan_rx(nic(1500, 0, 0), "net_af_packet", 2, 0, 2048, false, true, "");
    REQUIRE(vdev.has_value());
    CHECK(vdev->rss_hf == 0);
}

TEST_CASE("scatter is enabled when jumbo frames exceed the mbuf and the PMD can scatter", "[drivers]") {
    auto r = plan_rx(nic(9000, 0, RTE_ETH_RX_OFFLOAD_SCATTER), "net_mlx5", 1, 9000, 2048, true, true, "");
    REQUIRE(r.has_value());
    CHECK((r->offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0);
    auto fits = plan_rx(nic(9000, 0, RTE_ETH_RX_OFFLOAD_SCATTER), "net_mlx5", 1, 9000, 9216, true, true, "");
    REQUIRE(fits.has_value());
    CHECK(fits->offloads == 0);
}
