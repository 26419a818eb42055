#include "gen/vtap.hpp"

#include <algorithm>
#include <string>

#include "gen/frame.hpp"
#include "gen/inspect.hpp"

namespace vtap::gen {

Result<void> validate(const VtapOptions& o) {
    if (o.vni.value > 0xffffff) return fail("vni", std::to_string(o.vni.value) + " does not fit in 24 bits (0..16777215)");
    if (o.udp_dst_port == 0) return fail("udp port", "destination port 0 is not valid");
    if (o.fixed_src_port && *o.fixed_src_port == 0) return fail("udp source port", "source port 0 is not valid");
    if (o.outer_vlan && *o.outer_vlan > 4095) return fail("outer vlan", std::to_string(*o.outer_vlan) + " is not a VLAN ID (0..4095)");
    return {};
}

uint16_t flow_src_port(std::span<const uint8_t> inner) {
    uint64_t k = conversation_key(inner, inspect_frame(inner));
    // Fold in the direction so A->B and B->A usually differ: Azure gives no
    // symmetry guarantee and a receiver must not depend on one.
    if (inner.size() >= 12)
        for (size_t i = 0; i < 12; ++i) k = (k ^ inner[i]) * 0x100000001b3ull;
    return static_cast<uint16_t>(49152 + (k ^ k >> 32) % 16384);
}

size_t vtap_overhead(const VtapOptions& o) { return kVtapOverhead + (o.outer_vlan ? 4 : 0); }

Result<void> wrap_vtap(std::span<const uint8_t> inner, const Ipv4& tap_src, const VtapOptions& o,
                       std::vector<uint8_t>& out) {
    out.clear();
    if (auto ok = validate(o); !ok) return ok;
    size_t hl = vtap_overhead(o);
    if (inner.size() + hl > kMaxOuterFrame)
        return fail("inner frame", std::to_string(inner.size()) + " bytes; at most " +
                                       std::to_string(kMaxOuterFrame - hl) + " fit in one VTAP frame");
    out.resize(hl + inner.size());
    uint8_t* p = out.data();
    std::copy(o.outer_dst_mac.begin(), o.outer_dst_mac.end(), p);
    std::copy(o.outer_src_mac.begin(), o.outer_src_mac.end(), p + 6);
    p += 12;
    if (o.outer_vlan) {
        put16(p, kEtherVlan);
        put16(p + 2, *o.outer_vlan);
        p += 4;
    }
    put16(p, kEtherIpv4);
    p += 2;

    // Outer IPv4: ID 0, DF clear, TTL 64, as in the Azure capture.
    uint8_t* ip = p;
    size_t ip_len = 20 + 8 + 8 + inner.size();
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, static_cast<uint16_t>(ip_len));
    put16(ip + 4, 0);
    put16(ip + 6, 0);
    ip[8] = o.ttl;
    ip[9] = static_cast<uint8_t>(L4Proto::kUdp);
    put16(ip + 10, 0);
    std::copy(tap_src.begin(), tap_src.end(), ip + 12);
    std::copy(o.collector.begin(), o.collector.end(), ip + 16);
    put16(ip + 10, checksum_finish(checksum_add(0, {ip, 20})));

    uint8_t* udp = ip + 20;
    put16(udp, o.fixed_src_port ? *o.fixed_src_port : flow_src_port(inner));
    put16(udp + 2, o.udp_dst_port);
    put16(udp + 4, static_cast<uint16_t>(ip_len - 20));
    put16(udp + 6, 0);  // Azure leaves the outer UDP checksum at 0 (allowed over IPv4, RFC 768)

    // VXLAN, RFC 7348 5:
    //  |R|R|R|R|I|R|R|R|            Reserved                           |
    //  |                VXLAN Network Identifier (VNI) |   Reserved    |
    uint8_t* vx = udp + 8;
    uint8_t res = o.set_reserved ? 0xff : 0x00;
    vx[0] = o.vxlan_flags;
    vx[1] = vx[2] = vx[3] = res;
    vx[4] = static_cast<uint8_t>(o.vni.value >> 16);
    vx[5] = static_cast<uint8_t>(o.vni.value >> 8);
    vx[6] = static_cast<uint8_t>(o.vni.value);
    vx[7] = res;
    std::copy(inner.begin(), inner.end(), vx + 8);
    return {};
}

}  // namespace vtap::gen
