// The exception path's forward table: which non-VTAP frames reach the kernel.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "runtime/exception_path.hpp"

using vtap::config::ForwardEntry;
using vtap::config::ForwardKind;
using vtap::runtime::classify;
using vtap::runtime::ForwardTable;

namespace {

// Ethernet: dst ff..ff, src 02:00:00:00:00:01, EtherType.
std::vector<uint8_t> eth(uint16_t type) {
    return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, uint8_t(type >> 8), uint8_t(type)};
}

// Ethernet + IPv4 (IHL 5, protocol `proto`, fragment offset `frag`) + 4 bytes
// of L4: source port 40000, destination port `dport`.
std::vector<uint8_t> ipv4(uint8_t proto, uint16_t dport, uint16_t frag = 0) {
    auto f = eth(0x0800);
    const uint8_t ip[20] = {0x45, 0, 0, 24, 0, 0, uint8_t(frag >> 8), uint8_t(frag), 64, proto, 0, 0,
                            198, 18, 20, 1, 198, 18, 20, 2};
    f.insert(f.end(), ip, ip + 20);
    const uint8_t l4[4] = {0x9c, 0x40, uint8_t(dport >> 8), uint8_t(dport)};
    f.insert(f.end(), l4, l4 + 4);
    return f;
}

ForwardTable table() {
    return ForwardTable::from({{ForwardKind::kEtherType, 0x0806, "arp"},
                               {ForwardKind::kIpProto, 1, "icmp"},
                               {ForwardKind::kTcpPort, 22, "tcp:22"},
                               {ForwardKind::kTcpPort, 8081, "tcp:8081"},
                               {ForwardKind::kUdpPort, 68, "udp:68"}});
}

int cls(const std::vector<uint8_t>& f) { return classify(f.data(), static_cast<uint32_t>(f.size()), table()); }

}  // namespace

TEST_CASE("the exception path forwards ARP, ICMP and the configured TCP and UDP ports to the kernel", "[runtime][exception]") {
    auto arp = eth(0x0806);
    arp.resize(42);
    CHECK(cls(arp) == 0);
    CHECK(cls(ipv4(1, 0x0800)) == 1);
    CHECK(cls(ipv4(6, 22)) == 2);
    CHECK(cls(ipv4(6, 8081)) == 3);
    CHECK(cls(ipv4(17, 68)) == 4);
}

TEST_CASE("the exception path keeps other ports, protocols and EtherTypes from the kernel", "[runtime][exception]") {
    CHECK(cls(ipv4(6, 80)) == -1);          // TCP to a port not listed
    CHECK(cls(ipv4(17, 22)) == -1);         // UDP to a TCP-listed port
    CHECK(cls(ipv4(6, 68)) == -1);          // TCP to a UDP-listed port
    CHECK(cls(ipv4(47, 0)) == -1);          // GRE
    auto v6 = eth(0x86DD);
    v6.resize(60);
    CHECK(cls(v6) == -1);                   // IPv6 not listed
    CHECK(cls(ipv4(6, 22, 0x0010)) == -1);  // a non-first fragment has no ports to match
    auto shortf = ipv4(6, 22);
    shortf.resize(14 + 20 + 2);             // destination port cut off
    CHECK(cls(shortf) == -1);
    const uint8_t runt[10] = {};
    CHECK(classify(runt, sizeof runt, table()) == -1);  // shorter than an Ethernet header
}

TEST_CASE("the exception path looks past one outer VLAN tag", "[runtime][exception]") {
    auto f = ipv4(6, 22);
    const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x64};  // 802.1Q, VLAN 100, then the IPv4 EtherType
    f.insert(f.begin() + 12, tag, tag + 4);
    CHECK(cls(f) == 2);
}
