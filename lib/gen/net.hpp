// Addresses, byte-order helpers and the Internet checksum for the capture
// generator (cold path). Addresses stay network-order byte arrays: they go on
// the wire as they are and compare and sort without conversions.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace vtap::gen {

using Mac = std::array<uint8_t, 6>;
using Ipv4 = std::array<uint8_t, 4>;
using Ipv6 = std::array<uint8_t, 16>;

// An IPv4 or IPv6 address; IPv4 occupies the first 4 bytes, the rest zero.
struct IpAddr {
    uint8_t family = 4;  // 4 or 6
    std::array<uint8_t, 16> b{};

    static IpAddr v4(const Ipv4& a);
    static IpAddr v6(const Ipv6& a);
    bool is_v6() const { return family == 6; }
    std::span<const uint8_t> bytes() const { return {b.data(), is_v6() ? 16u : 4u}; }
    auto operator<=>(const IpAddr&) const = default;
};

struct Ipv4Net {
    Ipv4 base{};
    uint8_t len = 32;  // prefix length 0..32
};

Result<Ipv4> parse_ipv4(std::string_view text);
Result<Ipv4Net> parse_ipv4_net(std::string_view text);  // "A.B.C.D/len"
Result<Mac> parse_mac(std::string_view text);            // "aa:bb:cc:dd:ee:ff"
std::string to_string(const Ipv4& a);
std::string to_string(const IpAddr& a);

uint32_t to_u32(const Ipv4& a);  // host order
Ipv4 from_u32(uint32_t host_order);

// The IPv6 lab twin of an IPv4 address: 2001:2::a.b.c.d (RFC 5180's
// benchmarking prefix, the IPv6 sibling of 198.18.0.0/15).
Ipv6 lab_ipv6(const Ipv4& a);

inline void put16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
    put16(p, static_cast<uint16_t>(v >> 16));
    put16(p + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }

// RFC 1071 one's-complement sum. Only the last span added may have odd length.
uint32_t checksum_add(uint32_t sum, std::span<const uint8_t> data);
// Folds a running sum and complements it: the value to store in the header.
uint16_t checksum_finish(uint32_t sum);
// Sum of the TCP/UDP/ICMPv6 pseudo-header (RFC 793 / RFC 768 / RFC 8200 8.1).
uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint32_t l4_len);

}  // namespace vtap::gen
