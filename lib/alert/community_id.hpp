// Community ID v1 (github.com/corelight/community-id-spec): a direction-free
// flow label shared by Zeek, Suricata, Elastic and Wireshark, so a SIEM can
// join vtapd alerts with other sensors' records by string equality.
// "1:" + base64(SHA1(seed . addr_lo . addr_hi . proto . 0 . port_lo . port_hi)).
#pragma once

#include <cstdint>
#include <string>

namespace vtap::alert {

struct FlowTuple {
    uint8_t family = 4;       // 4 or 6
    const uint8_t* src = nullptr;  // 4 or 16 bytes, network order
    const uint8_t* dst = nullptr;
    uint8_t proto = 0;        // IPPROTO_*
    uint16_t src_port = 0;    // host order; ICMP / ICMPv6: the type
    uint16_t dst_port = 0;    // host order; ICMP / ICMPv6: the code
};

// Always 30 characters: "1:" + 28 base64 characters.
inline constexpr size_t kCommunityIdLen = 30;

// Writes the id into out[0..30) (no NUL). ICMP and ICMPv6 type/code are
// mapped to port equivalents as Zeek does (echo <-> reply and the other
// request/response pairs are one flow; other types are one-way and keep
// their orientation). TCP, UDP and SCTP hash their ports; every other
// protocol hashes addresses and protocol only.
void community_id_v1(const FlowTuple& t, uint16_t seed, char* out) noexcept;
std::string community_id_v1(const FlowTuple& t, uint16_t seed = 0);

}  // namespace vtap::alert
