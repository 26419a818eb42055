// Test-side checks for generated frames, written independently of lib/gen's
// own checksum code: an RFC 1071 sum over the bytes as they lie in the frame.
// A correct header or segment sums (with its checksum field) to 0xffff.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vtap::gen::test {

inline uint32_t ones_sum(std::span<const uint8_t> d, uint32_t sum = 0) {
    for (size_t i = 0; i < d.size(); ++i) sum += (i % 2 == 0) ? uint32_t{d[i]} << 8 : d[i];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

inline uint16_t be16(std::span<const uint8_t> f, size_t at) { return static_cast<uint16_t>(f[at] << 8 | f[at + 1]); }

// Walks Ethernet, VLAN tags, IPv4/IPv6 (+ extension headers) and verifies the
// IPv4 header checksum and, for unfragmented packets, the L4 checksum.
// Returns "" when all verify, else what failed.
inline std::string verify_checksums(std::span<const uint8_t> f) {
    size_t off = 12;
    uint16_t type = be16(f, off);
    while (type == 0x8100) {
        off += 4;
        type = be16(f, off);
    }
    off += 2;
    uint32_t pseudo = 0;
    size_t l4 = 0, end = 0;
    uint8_t proto = 0;
    bool fragment = false;
    if (type == 0x0800) {
        size_t ihl = size_t{f[off] & 0x0fu} * 4;
        if (ones_sum(f.subspan(off, ihl)) != 0xffff) return "IPv4 header checksum";
        end = off + be16(f, off + 2);
        proto = f[off + 9];
        fragment = (be16(f, off + 6) & 0x3fff) != 0;
        pseudo = ones_sum(f.subspan(off + 12, 8));
        l4 = off + ihl;
    } else if (type == 0x86dd) {
        end = off + 40 + be16(f, off + 4);
        proto = f[off + 6];
        l4 = off + 40;
        while (proto == 0 || proto == 60 || proto == 44) {
            fragment |= proto == 44;
            size_t len = proto == 44 ? 8 : (size_t{f[l4 + 1]} + 1) * 8;
            proto = f[l4];
            l4 += len;
        }
        pseudo = ones_sum(f.subspan(off + 8, 32));
    } else {
        return "";  // not IP: nothing to verify
    }
    if (fragment) return "";
    if (end > f.size()) return "IP length beyond the frame";
    uint32_t l4_len = static_cast<uint32_t>(end - l4);
    if (proto != 1) pseudo += proto + (l4_len >> 16) + (l4_len & 0xffff);
    else pseudo = 0;  // ICMPv4: no pseudo-header
    if (proto == 17 && be16(f, l4 + 6) == 0) return "UDP checksum left at 0";
    if (ones_sum(f.subspan(l4, l4_len), pseudo) != 0xffff) return "L4 checksum (protocol " + std::to_string(proto) + ")";
    return "";
}

inline size_t count_occurrences(std::span<const uint8_t> hay, const std::string& needle) {
    size_t n = 0;
    for (auto it = hay.begin(); (it = std::search(it, hay.end(), needle.begin(), needle.end())) != hay.end(); ++it) ++n;
    return n;
}

}  // namespace vtap::gen::test
