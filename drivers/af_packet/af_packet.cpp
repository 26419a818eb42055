// net_af_packet: receives from a kernel interface through PACKET_MMAP rings
// (no NIC driver unbinding; works on any VM, slower than a PMD). Several
// queues are kernel PACKET_FANOUT groups, so they need no RSS.
#include <net/if.h>

#include <rte_build_config.h>

#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

// net_af_packet's default ring frame (2048) holds a 1500-byte MTU frame
// plus the tpacket2 header; larger MTUs get a frame sized to fit.
constexpr uint32_t kDefaultFrame = 2048;
constexpr uint32_t kPage = 4096;
constexpr uint32_t kFrameHeadroom = 128;  // tpacket2_hdr + sockaddr_ll + 2 VLAN tags, rounded up

Result<void> check(const config::PortConfig& pc) {
    if (pc.iface.empty()) return fail("", "'iface' (kernel interface name) is required for driver 'af_packet'");
    if (pc.iface.find_first_of(",=") != std::string::npos)
        return fail("", cat("iface '", pc.iface, "' contains ',' or '='"));
    if (if_nametoindex(pc.iface.c_str()) == 0)
        return fail("", cat("iface '", pc.iface, "': no such network interface"));
    return {};
}

Result<std::string> device(const config::PortConfig&, unsigned index) {
    return cat("net_af_packet", index);
}

uint32_t frame_size_for(uint16_t mtu) {
    uint32_t need = uint32_t{mtu} + 14 + kFrameHeadroom;
    uint32_t frame = kDefaultFrame;
    while (frame < need) frame *= 2;
    return frame;
}

Result<std::string> devargs(const config::PortConfig& pc) {
    std::string args = cat("iface=", pc.iface, ",qpairs=", pc.rx_queues);
    uint32_t frame = frame_size_for(pc.mtu);
    if (frame != kDefaultFrame) {
        // A frame may not span blocks; one frame per block keeps the ring valid.
        uint32_t block = frame < kPage ? kPage : frame;
        args += cat(",blocksz=", block, ",framesz=", frame, ",framecnt=", pc.rx_descriptors);
    }
    return args;
}

}  // namespace

extern const Family kAfPacketFamily;
const Family kAfPacketFamily{
    .driver = "af_packet",
    .pmd = "net_af_packet",
    .kind = DeviceKind::kVdev,
#ifdef RTE_NET_AF_PACKET
    .in_build_config = true,
#endif
    .missing_hint = "net_af_packet is not part of this DPDK",
    .check = check,
    .device = device,
    .devargs = devargs,
};

}  // namespace vtap::drivers
