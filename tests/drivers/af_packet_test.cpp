// net_af_packet end to end on a veth pair: the host end is opened as a
// vtapd port, the peer lives in a network namespace this test creates, and a
// raw socket in that namespace sends crafted VXLAN-like frames. Needs root;
// without it the binary exits 77 (meson: skipped) before EAL starts.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "drivers/driver.hpp"
#include "support/netns.hpp"

namespace drv = vtap::drivers;

namespace {

// Runs before main, so EAL is never started when the test cannot run.
const bool kRoot = [] {
    if (geteuid() != 0) {
        std::printf("SKIP: needs root for network namespaces\n");
        std::exit(77);
    }
    return true;
}();

constexpr uint8_t kMagic[8] = {'V', 'T', 'A', 'P', 'D', 'R', 'V', '1'};
constexpr size_t kMagicOff = 14 + 20 + 8 + 8;  // after Ethernet, IPv4, UDP, VXLAN
constexpr int kFrames = 64;


// Ethernet / IPv4 198.18.0.2 -> 198.18.0.1 / UDP -> 4789 / VXLAN / magic + seq.
// The destination MAC is not the host end's, so the host kernel drops the
// frame (PACKET_OTHERHOST) instead of answering with ICMP the port would see.
std::vector<uint8_t> craft(uint32_t seq) {
    std::vector<uint8_t> f(kMagicOff + sizeof(kMagic) + 4 + 30, 0);
    const uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    const uint8_t src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
    std::memcpy(&f[0], dst, 6);
    std::memcpy(&f[6], src, 6);
    f[12] = 0x08;
    uint8_t* ip = &f[14];
    uint16_t ip_len = static_cast<uint16_t>(f.size() - 14);
    ip[0] = 0x45;
    ip[2] = ip_len >> 8;
    ip[3] = ip_len & 0xff;
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t saddr[4] = {198, 18, 0, 2}, daddr[4] = {198, 18, 0, 1};
    std::memcpy(ip + 12, saddr, 4);
    std::memcpy(ip + 16, daddr, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = static_cast<uint8_t>(~sum >> 8);
    ip[11] = static_cast<uint8_t>(~sum);
    uint8_t* udp = ip + 20;
    udp[0] = 0xc0;  // source port 49152 + seq: distinct outer flows
    udp[1] = static_cast<uint8_t>(seq);
    udp[2] = 4789 >> 8;
    udp[3] = 4789 & 0xff;
    uint16_t udp_len = static_cast<uint16_t>(ip_len - 20);
    udp[4] = udp_len >> 8;
    udp[5] = udp_len & 0xff;
    udp[8] = 0x08;  // VXLAN I flag
    std::memcpy(&f[kMagicOff], kMagic, sizeof(kMagic));
    std::memcpy(&f[kMagicOff + sizeof(kMagic)], &seq, 4);
    return f;
}

// Sends `frames` out of `iface` inside namespace `ns`. setns() moves only
// the calling thread, so the sender runs on its own thread.
std::string send_in_namespace(const std::string& ns, const std::string& iface, int frames) {
    std::string error;
    std::thread sender([&] {
        int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
            error = "setns: " + std::string(std::strerror(errno));
            if (nsfd >= 0) close(nsfd);
            return;
        }
        close(nsfd);
        int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: send only, receive nothing
        if (fd < 0) {
            error = "socket: " + std::string(std::strerror(errno));
            return;
        }
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
        to.sll_halen = 6;
        for (int i = 0; i < frames && error.empty(); i++) {
            auto f = craft(static_cast<uint32_t>(i));
            if (sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) !=
                static_cast<ssize_t>(f.size()))
                error = "sendto: " + std::string(std::strerror(errno));
        }
        close(fd);
    });
    sender.join();
    return error;
}

bool is_ours(const rte_mbuf* m, uint32_t& seq) {
    uint8_t buf[kMagicOff + sizeof(kMagic) + 4];
    if (rte_pktmbuf_pkt_len(m) < sizeof(buf)) return false;
    auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, sizeof(buf), buf));
    if (std::memcmp(p + kMagicOff, kMagic, sizeof(kMagic)) != 0) return false;
    std::memcpy(&seq, p + kMagicOff + sizeof(kMagic), 4);
    return true;
}

}  // namespace

TEST_CASE("an af_packet port receives exactly the frames sent into its veth peer", "[integration][drivers]") {
    vtap::test::VethNetns net("drv", "198.18.0.1/30", "198.18.0.2/30");
    REQUIRE(net.create());
    rte_mempool* pool =
        rte_pktmbuf_pool_create("afp_test", 2047, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    REQUIRE(pool != nullptr);

    vtap::config::PortConfig pc;
    pc.driver = "af_packet";
    pc.iface = net.host;
    pc.rx_queues = 2;  // two PACKET_FANOUT members; frames may land on either
    pc.rx_descriptors = 256;
    pc.promiscuous = true;
    auto h = drv::open_port(pc, 0, pool);
    REQUIRE(h.has_value());
    struct Closer {
        const drv::PortHandle& h;
        ~Closer() { drv::close_port(h); }
    } closer{*h};
    CHECK(h->pmd == "net_af_packet");
    CHECK(h->rx_queues == 2);

    REQUIRE(send_in_namespace(net.ns, net.peer, kFrames) == "");

    std::multiset<uint32_t> seen;
    std::vector<std::vector<uint8_t>> bodies(kFrames);
    unsigned others = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    auto quiet_until = deadline;
    while (std::chrono::steady_clock::now() < quiet_until) {
        for (uint16_t q = 0; q < h->rx_queues; q++) {
            rte_mbuf* burst[32];
            uint16_t n = rte_eth_rx_burst(h->port_id, q, burst, 32);
            for (uint16_t i = 0; i < n; i++) {
                uint32_t seq = 0;
                if (is_ours(burst[i], seq) && seq < kFrames) {
                    seen.insert(seq);
                    auto& body = bodies[seq];
                    body.resize(rte_pktmbuf_pkt_len(burst[i]));
                    // rte_pktmbuf_read copies only when the data is not contiguous.
                    const void* p = rte_pktmbuf_read(burst[i], 0, body.size(), body.data());
                    if (p != body.data()) std::memcpy(body.data(), p, body.size());
                } else {
                    others++;
                }
            }
            rte_pktmbuf_free_bulk(burst, n);
        }
        // Once all arrived, keep polling briefly to catch duplicates.
        if (seen.size() >= kFrames && quiet_until == deadline)
            quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    INFO("frames that were not ours (kernel chatter): " << others);
    CHECK(seen.size() == kFrames);
    for (uint32_t s = 0; s < kFrames; s++) {
        CHECK(seen.count(s) == 1);
        CHECK(bodies[s] == craft(s));
    }
}
