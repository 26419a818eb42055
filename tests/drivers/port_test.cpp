// drivers/ against the real EAL: vdev ports (null, ring, pcap) opened,
// read and closed; the errors an operator sees for bad configurations; the
// EAL arguments of the PCI/VMBus families.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <pcap/pcap.h>
#include <rte_build_config.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_memzone.h>
#include <rte_ring.h>

#include "drivers/driver.hpp"
#include "drivers/ring/ring.hpp"

using vtap::config::PortConfig;
using vtap::drivers::PortHandle;
namespace drv = vtap::drivers;

namespace {

rte_mempool* test_pool() {
    static rte_mempool* pool =
        rte_pktmbuf_pool_create("drv_test", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    REQUIRE(pool != nullptr);
    return pool;
}

PortConfig vdev(const std::string& driver) {
    PortConfig pc;
    pc.driver = driver;
    pc.rx_descriptors = 256;
    return pc;
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

bool port_exists(const std::string& device) {
    uint16_t id = 0;
    return rte_eth_dev_get_port_by_name(device.c_str(), &id) == 0;
}

std::vector<uint8_t> frame(size_t len, uint8_t seed) {
    std::vector<uint8_t> f(len);
    for (size_t i = 0; i < len; i++) f[i] = static_cast<uint8_t>(seed + i * 7);
    f[12] = 0x08;  // EtherType IPv4, so the frames look like Ethernet to any reader
    f[13] = 0x00;
    return f;
}

// Writes `frames` to a fresh pcap file with libpcap and returns its path.
std::string write_pcap(const std::vector<std::vector<uint8_t>>& frames) {
    std::string path = std::filesystem::temp_directory_path() /
                       ("vtap_drivers_" + std::to_string(getpid()) + ".pcap");
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    REQUIRE(dead != nullptr);
    pcap_dumper_t* dump = pcap_dump_open(dead, path.c_str());
    REQUIRE(dump != nullptr);
    for (size_t i = 0; i < frames.size(); i++) {
        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = 1700000000 + static_cast<long>(i);
        hdr.caplen = hdr.len = static_cast<bpf_u_int32>(frames[i].size());
        pcap_dump(reinterpret_cast<u_char*>(dump), &hdr, frames[i].data());
    }
    pcap_dump_close(dump);
    pcap_close(dead);
    return path;
}

std::vector<uint8_t> bytes_of(const rte_mbuf* m) {
    std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, out.size(), out.data());
    if (p != out.data()) std::memcpy(out.data(), p, out.size());
    return out;
}

}  // namespace

TEST_CASE("a null port delivers full bursts of 64-byte frames and is gone after close", "[eal][drivers]") {
    auto h = drv::open_port(vdev("null"), 0, test_pool());
    REQUIRE(h.has_value());
    CHECK(h->pmd == "net_null");
    CHECK(h->device == "net_null0");
    CHECK(h->name == "null0");
    CHECK(h->rx_queues == 1);
    CHECK(h->tx_queues == 1);
    rte_mbuf* burst[32];
    uint16_t n = rte_eth_rx_burst(h->port_id, 0, burst, 32);
    REQUIRE(n == 32);
    for (uint16_t i = 0; i < n; i++) CHECK(rte_pktmbuf_pkt_len(burst[i]) == 64);
    rte_pktmbuf_free_bulk(burst, n);
    drv::close_port(*h);
    CHECK_FALSE(port_exists("net_null0"));
}

TEST_CASE("a null port with two queues enables RSS on outer IPv4/UDP and says so", "[eal][drivers]") {
    PortConfig pc = vdev("null");
    pc.rx_queues = 2;
    auto h = drv::open_port(pc, 1, test_pool());
    REQUIRE(h.has_value());
    REQUIRE(h->rx_queues == 2);
    rte_eth_rss_conf rss{};
    REQUIRE(rte_eth_dev_rss_hash_conf_get(h->port_id, &rss) == 0);
    CHECK(rss.rss_hf == (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP));
    REQUIRE(h->notes.size() == 1);
    CHECK(contains(h->notes[0], "RSS over 2 queues hashing outer IPv4 addresses and UDP ports"));
    drv::close_port(*h);
}

TEST_CASE("a ring port delivers exactly the mbufs enqueued on its RX ring, in order", "[eal][drivers]") {
    PortConfig pc = vdev("ring");
    pc.rx_queues = 2;
    auto h = drv::open_port(pc, 2, test_pool());
    REQUIRE(h.has_value());
    CHECK(h->pmd == "net_ring");
    rte_ring* rx1 = drv::ring::rx_ring(*h, 1);
    REQUIRE(rx1 != nullptr);
    CHECK(drv::ring::rx_ring(*h, 2) == nullptr);
    CHECK(rte_ring_get_capacity(rx1) == 256);

    rte_mbuf* sent[5];
    REQUIRE(rte_pktmbuf_alloc_bulk(test_pool(), sent, 5) == 0);
    for (int i = 0; i < 5; i++) {
        char* d = rte_pktmbuf_append(sent[i], 60);
        REQUIRE(d != nullptr);
        std::memset(d, 0xa0 + i, 60);
    }
    REQUIRE(rte_ring_enqueue_bulk(rx1, reinterpret_cast<void**>(sent), 5, nullptr) == 5);

    rte_mbuf* got[8];
    CHECK(rte_eth_rx_burst(h->port_id, 0, got, 8) == 0);  // queue 0 has its own ring
    REQUIRE(rte_eth_rx_burst(h->port_id, 1, got, 8) == 5);
    for (int i = 0; i < 5; i++) {
        CHECK(got[i] == sent[i]);
        CHECK(rte_pktmbuf_mtod(got[i], uint8_t*)[59] == 0xa0 + i);
    }
    CHECK(rte_eth_rx_burst(h->port_id, 1, got + 5, 3) == 0);

    // TX lands on the TX ring, for the exception path.
    REQUIRE(rte_eth_tx_burst(h->port_id, 0, got, 1) == 1);
    rte_ring* tx = drv::ring::tx_ring(*h);
    REQUIRE(tx != nullptr);
    void* out = nullptr;
    REQUIRE(rte_ring_dequeue(tx, &out) == 0);
    CHECK(out == sent[0]);
    rte_pktmbuf_free_bulk(got, 5);

    std::string device = h->device;
    drv::close_port(*h);
    CHECK_FALSE(port_exists(device));
    CHECK(rte_ring_lookup(("vt_" + device + "_rx1").c_str()) == nullptr);
}

TEST_CASE("a pcap port replays exactly the frames of its file, then nothing more", "[eal][drivers]") {
    std::vector<std::vector<uint8_t>> frames = {frame(60, 1), frame(98, 2), frame(1514, 3), frame(342, 4)};
    PortConfig pc = vdev("pcap");
    pc.pcap_file = write_pcap(frames);
    auto h = drv::open_port(pc, 3, test_pool());
    std::filesystem::remove(pc.pcap_file);
    REQUIRE(h.has_value());
    CHECK(h->device == "net_pcap3");

    std::vector<std::vector<uint8_t>> got;
    rte_mbuf* burst[32];
    for (int tries = 0; tries < 8 && got.size() < frames.size(); tries++) {
        uint16_t n = rte_eth_rx_burst(h->port_id, 0, burst, 32);
        for (uint16_t i = 0; i < n; i++) got.push_back(bytes_of(burst[i]));
        rte_pktmbuf_free_bulk(burst, n);
    }
    CHECK(got == frames);
    for (int tries = 0; tries < 4; tries++) CHECK(rte_eth_rx_burst(h->port_id, 0, burst, 32) == 0);
    drv::close_port(*h);
    CHECK_FALSE(port_exists("net_pcap3"));
}

TEST_CASE("a preloaded pcap port delivers the file's frames once, in place, with their capture times",
          "[eal][drivers]") {
    std::vector<std::vector<uint8_t>> frames = {frame(60, 1), frame(98, 2), frame(9000, 3), frame(342, 4)};
    PortConfig pc = vdev("pcap");
    pc.pcap_file = write_pcap(frames);
    pc.preload = true;
    auto h = drv::open_port(pc, 6, test_pool());
    std::filesystem::remove(pc.pcap_file);  // read at open: the file is no longer needed
    REQUIRE(h.has_value());
    CHECK(h->device == "net_pcap6");
    CHECK(rte_memzone_lookup("vt_net_pcap6_fr") != nullptr);

    int ts_off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
    int ts_bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
    REQUIRE(ts_off >= 0);
    REQUIRE(ts_bit >= 0);
    std::vector<std::vector<uint8_t>> got;
    std::vector<uint64_t> stamps;
    rte_mbuf* burst[32];
    for (int tries = 0; tries < 8 && got.size() < frames.size(); tries++) {
        uint16_t n = rte_eth_rx_burst(h->port_id, 0, burst, 32);
        for (uint16_t i = 0; i < n; i++) {
            got.push_back(bytes_of(burst[i]));
            CHECK(burst[i]->nb_segs == 1);  // a 9,000-byte frame too: no data room involved
            CHECK(RTE_MBUF_HAS_EXTBUF(burst[i]));
            CHECK(burst[i]->port == h->port_id);
            CHECK((burst[i]->ol_flags & (uint64_t{1} << ts_bit)) != 0);
            stamps.push_back(*RTE_MBUF_DYNFIELD(burst[i], ts_off, const uint64_t*));
        }
        rte_pktmbuf_free_bulk(burst, n);
    }
    CHECK(got == frames);
    // write_pcap stamps frame i at 1700000000 + i s; in net_pcap's unit (us).
    CHECK(stamps == std::vector<uint64_t>{1700000000000000, 1700000001000000, 1700000002000000, 1700000003000000});
    for (int tries = 0; tries < 4; tries++) CHECK(rte_eth_rx_burst(h->port_id, 0, burst, 32) == 0);
    rte_eth_stats st{};
    REQUIRE(rte_eth_stats_get(h->port_id, &st) == 0);
    CHECK(st.ipackets == frames.size());
    drv::close_port(*h);
    CHECK_FALSE(port_exists("net_ring_net_pcap6"));
    CHECK(rte_memzone_lookup("vt_net_pcap6_fr") == nullptr);
    CHECK(rte_mempool_lookup("vt_net_pcap6_mb") == nullptr);
    CHECK(rte_ring_lookup("vt_net_pcap6_rx") == nullptr);
}

TEST_CASE("closing a preloaded pcap port early frees the frames it still queues", "[eal][drivers]") {
    std::vector<std::vector<uint8_t>> frames(100, frame(200, 9));
    PortConfig pc = vdev("pcap");
    pc.pcap_file = write_pcap(frames);
    pc.preload = true;
    auto h = drv::open_port(pc, 7, test_pool());
    std::filesystem::remove(pc.pcap_file);
    REQUIRE(h.has_value());
    rte_mbuf* burst[32];
    uint16_t n = rte_eth_rx_burst(h->port_id, 0, burst, 32);
    CHECK(n == 32);
    rte_pktmbuf_free_bulk(burst, n);
    drv::close_port(*h);  // 68 frames still on the ring
    CHECK(rte_mempool_lookup("vt_net_pcap7_mb") == nullptr);
    CHECK(rte_memzone_lookup("vt_net_pcap7_fr") == nullptr);
}

TEST_CASE("a pcap port on a missing file fails naming the port and the file", "[eal][drivers]") {
    PortConfig pc = vdev("pcap");
    pc.name = "replay";
    pc.pcap_file = "/nonexistent/vtap/tap.pcap";
    auto h = drv::open_port(pc, 4, test_pool());
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().where == "port 4 'replay' (net_pcap)");
    CHECK(contains(h.error().what, "pcap_file '/nonexistent/vtap/tap.pcap'"));
    CHECK(contains(h.error().what, "No such file"));
    CHECK_FALSE(port_exists("net_pcap4"));
}

TEST_CASE("a pcap port refuses more than one RX queue", "[eal][drivers]") {
    std::vector<std::vector<uint8_t>> frames = {frame(60, 1)};
    PortConfig pc = vdev("pcap");
    pc.pcap_file = write_pcap(frames);
    pc.rx_queues = 2;
    auto h = drv::open_port(pc, 5, test_pool());
    std::filesystem::remove(pc.pcap_file);
    REQUIRE_FALSE(h.has_value());
    CHECK(contains(h.error().what, "rx_queues 2"));
}

TEST_CASE("an unknown driver is refused with the list of known ones", "[eal][drivers]") {
    PortConfig pc = vdev("e1000");
    auto h = drv::open_port(pc, 6, test_pool());
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().where == "port 6 'e10006'");
    CHECK(h.error().what ==
          "unknown driver 'e1000' (known: pcap,af_packet,null,ring,netvsc,mlx5,mana)");
    auto args = drv::eal_args(pc, 6);
    REQUIRE_FALSE(args.has_value());
    CHECK(contains(args.error().what, "unknown driver 'e1000'"));
}

TEST_CASE("a mana port reports net_mana's absence from this DPDK, or its -a argument", "[eal][drivers]") {
    PortConfig pc = vdev("mana");
    pc.pci = "7870:00:00.0";
    pc.mac = "00:0d:3a:12:34:56";
    // Ground truth independent of pmd_available(): Debian's DPDK loads PMDs
    // from this directory, and a net_mana build would put its plugin there.
    bool installed = std::filesystem::exists(std::string(RTE_EAL_PMD_PATH) + "/librte_net_mana.so");
    CHECK(drv::pmd_available("net_mana") == installed);
    auto args = drv::eal_args(pc, 7);
    if (installed) {
        REQUIRE(args.has_value());
        CHECK(*args == std::vector<std::string>{"-a", "7870:00:00.0,mac=00:0d:3a:12:34:56"});
        return;
    }
    const std::string expected =
        "net_mana is not part of this DPDK (Debian 12's DPDK 22.11 package does not build it); "
        "see drivers/README.md to build DPDK with MANA";
    REQUIRE_FALSE(args.has_value());
    CHECK(args.error().where == "port 7 'mana7' (net_mana)");
    CHECK(args.error().what == expected);
    auto h = drv::open_port(pc, 7, test_pool());
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().what == expected);
}

TEST_CASE("pmd_available sees the PMDs EAL loaded and not invented ones", "[eal][drivers]") {
    CHECK(drv::pmd_available("net_null"));
    CHECK(drv::pmd_available("net_pcap"));
    CHECK(drv::pmd_available("net_ring"));
    CHECK_FALSE(drv::pmd_available("net_vtap_does_not_exist"));
    CHECK_FALSE(drv::pmd_available(""));
}

TEST_CASE("eal_args allow-lists mlx5 and netvsc devices with their devargs", "[eal][drivers]") {
    PortConfig mlx5 = vdev("mlx5");
    mlx5.pci = "00:08.0";
    mlx5.devargs = "rxq_cqe_comp_en=0";
    auto a = drv::eal_args(mlx5, 0);
    REQUIRE(a.has_value());
    CHECK(*a == std::vector<std::string>{"-a", "0000:00:08.0,rxq_cqe_comp_en=0"});

    PortConfig netvsc = vdev("netvsc");
    netvsc.pci = "F8615163-DF3E-46C5-913F-F2D2F965ED0E";
    auto b = drv::eal_args(netvsc, 1);
    REQUIRE(b.has_value());
    CHECK(*b == std::vector<std::string>{"-a", "f8615163-df3e-46c5-913f-f2d2f965ed0e"});
    netvsc.devargs = "latency=10";
    auto c = drv::eal_args(netvsc, 1);
    REQUIRE(c.has_value());
    CHECK(*c == std::vector<std::string>{"-a", "f8615163-df3e-46c5-913f-f2d2f965ed0e,latency=10"});

    CHECK(drv::eal_args(vdev("null"), 2).value().empty());  // vdevs are created after EAL start
}

TEST_CASE("eal_args names the missing or malformed device field", "[eal][drivers]") {
    auto a = drv::eal_args(vdev("mlx5"), 0);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error().where == "port 0 'mlx50' (net_mlx5)");
    CHECK(contains(a.error().what, "'pci'"));

    PortConfig bad = vdev("mlx5");
    bad.pci = "not-a-pci";
    CHECK(contains(drv::eal_args(bad, 0).error().what, "pci 'not-a-pci' is not a PCI address"));

    PortConfig netvsc = vdev("netvsc");
    netvsc.pci = "7870:00:00.0";  // the VF's PCI address, not the VMBus device
    CHECK(contains(drv::eal_args(netvsc, 0).error().what, "not a VMBus device UUID"));
}

TEST_CASE("a port whose mtu is outside the device's range fails and leaves no device", "[eal][drivers]") {
    PortConfig pc = vdev("null");
    pc.mtu = 40;  // net_null's min_mtu is 46, like ethdev's default
    auto h = drv::open_port(pc, 8, test_pool());
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().where == "port 8 'null8' (net_null)");
    CHECK(h.error().what == "mtu 40 is below net_null's minimum 46 (rte_eth_dev_info.min_mtu)");
    CHECK_FALSE(port_exists("net_null8"));
}

TEST_CASE("a jumbo mtu that does not fit the mbufs of a PMD that cannot scatter is refused", "[eal][drivers]") {
    PortConfig pc = vdev("null");
    pc.mtu = 9000;
    auto h = drv::open_port(pc, 9, test_pool());
    REQUIRE_FALSE(h.has_value());
    CHECK(contains(h.error().what, "frames of up to 9018 bytes"));
    CHECK(contains(h.error().what, "raise mempool.data_room to at least 9146"));
    CHECK_FALSE(port_exists("net_null9"));
}

TEST_CASE("a null port applies an mtu within range", "[eal][drivers]") {
    PortConfig pc = vdev("null");
    pc.mtu = 1400;
    auto h = drv::open_port(pc, 10, test_pool());
    REQUIRE(h.has_value());
    uint16_t mtu = 0;
    REQUIRE(rte_eth_dev_get_mtu(h->port_id, &mtu) == 0);
    CHECK(mtu == 1400);
    drv::close_port(*h);
}

TEST_CASE("a PCI port that EAL did not probe is reported with what to check", "[eal][drivers]") {
    PortConfig pc = vdev("mlx5");
    pc.pci = "00:08.0";  // eal_main runs with --no-pci: nothing is ever probed
    auto h = drv::open_port(pc, 11, test_pool());
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().where == "port 11 'mlx511' (net_mlx5)");
    CHECK(contains(h.error().what, "device 0000:00:08.0 was not probed"));
    CHECK(contains(h.error().what, "eal_args()"));
}
