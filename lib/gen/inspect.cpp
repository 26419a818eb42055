#include "gen/inspect.hpp"

#include <algorithm>
#include <tuple>

#include "gen/frame.hpp"

namespace vtap::gen {
namespace {

uint64_t fnv1a(uint64_t h, std::span<const uint8_t> bytes) {
    for (uint8_t b : bytes) {
        h ^= b;
        h *= 0x100000001b3ull;
    }
    return h;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

void read_l4(std::span<const uint8_t> f, size_t end, FrameInfo& fi) {
    size_t l4 = fi.l4_off;
    size_t need = fi.proto == 6 ? 20 : 8;
    bool known = fi.proto == 6 || fi.proto == 17 || fi.proto == 1 || fi.proto == 58;
    if (!known || (fi.fragment && !fi.first_fragment) || l4 + need > end) {
        fi.payload_off = l4;
        fi.payload_len = end > l4 ? end - l4 : 0;
        return;
    }
    if (fi.proto == 6 || fi.proto == 17) {
        fi.src_port = get16(&f[l4]);
        fi.dst_port = get16(&f[l4 + 2]);
    } else {
        fi.src_port = fi.dst_port = get16(&f[l4 + 4]);  // echo identifier
    }
    size_t hl = need;
    if (fi.proto == 6) {
        fi.seq = get32(&f[l4 + 4]);
        fi.ack = get32(&f[l4 + 8]);
        fi.tcp_flags = f[l4 + 13];
        hl = size_t{f[l4 + 12]} >> 4 << 2;
        if (hl < 20 || l4 + hl > end) return;
    }
    fi.has_l4 = true;
    fi.payload_off = l4 + hl;
    fi.payload_len = end - fi.payload_off;
}

}  // namespace

FrameInfo inspect_frame(std::span<const uint8_t> f) {
    FrameInfo fi;
    size_t off = 12;
    while (true) {
        if (f.size() < off + 2) return fi;
        fi.ethertype = get16(&f[off]);
        off += 2;
        if ((fi.ethertype != kEtherVlan && fi.ethertype != 0x88a8) || fi.n_vlans == 2) break;
        if (f.size() < off + 2) return fi;
        fi.vlan_tci[fi.n_vlans++] = get16(&f[off]);
        off += 2;
    }
    fi.l3_off = off;
    if (fi.ethertype == kEtherIpv4) {
        if (f.size() < off + 20) return fi;
        size_t ihl = size_t{f[off] & 0x0fu} * 4;
        size_t total = get16(&f[off + 2]);
        if (ihl < 20 || total < ihl || f.size() < off + total) return fi;
        Ipv4 s, d;
        std::copy_n(&f[off + 12], 4, s.begin());
        std::copy_n(&f[off + 16], 4, d.begin());
        fi.src = IpAddr::v4(s);
        fi.dst = IpAddr::v4(d);
        fi.proto = f[off + 9];
        uint16_t frag = get16(&f[off + 6]);
        fi.fragment = (frag & 0x3fff) != 0;
        fi.first_fragment = fi.fragment && (frag & 0x1fff) == 0;
        fi.has_ip = true;
        fi.l4_off = off + ihl;
        read_l4(f, off + total, fi);
    } else if (fi.ethertype == kEtherIpv6) {
        if (f.size() < off + 40) return fi;
        size_t end = off + 40 + get16(&f[off + 4]);
        if (f.size() < end) return fi;
        Ipv6 s, d;
        std::copy_n(&f[off + 8], 16, s.begin());
        std::copy_n(&f[off + 24], 16, d.begin());
        fi.src = IpAddr::v6(s);
        fi.dst = IpAddr::v6(d);
        uint8_t next = f[off + 6];
        size_t pos = off + 40;
        while (next == 0 || next == 43 || next == 60 || next == 44) {
            if (pos + 8 > end) return fi;
            if (next == 44) {
                uint16_t fo = get16(&f[pos + 2]);
                fi.fragment = true;
                fi.first_fragment = (fo & 0xfff8) == 0;
                next = f[pos];
                pos += 8;
            } else {
                next = f[pos];
                pos += (size_t{f[pos + 1]} + 1) * 8;
            }
        }
        if (pos > end) return fi;
        fi.proto = next;
        fi.has_ip = true;
        fi.l4_off = pos;
        read_l4(f, end, fi);
    }
    return fi;
}

uint64_t conversation_key(std::span<const uint8_t> f, const FrameInfo& fi) {
    uint64_t h = kFnvBasis;
    if (!fi.has_ip) {
        // Order the two MACs so both directions agree.
        size_t n = std::min<size_t>(f.size(), 12);
        auto a = f.subspan(0, std::min<size_t>(n, 6));
        auto b = f.subspan(a.size(), n - a.size());
        bool swap = std::lexicographical_compare(b.begin(), b.end(), a.begin(), a.end());
        h = fnv1a(h, swap ? b : a);
        return fnv1a(h, swap ? a : b);
    }
    // Fragments other than the first have no ports: key them on addresses and
    // protocol only, for every fragment, so one datagram keeps one key.
    uint16_t sp = fi.fragment ? 0 : fi.src_port;
    uint16_t dp = fi.fragment ? 0 : fi.dst_port;
    bool swap = std::tie(fi.dst, dp) < std::tie(fi.src, sp);
    const IpAddr& lo = swap ? fi.dst : fi.src;
    const IpAddr& hi = swap ? fi.src : fi.dst;
    uint8_t tail[8] = {fi.proto, fi.src.family,
                       static_cast<uint8_t>((swap ? dp : sp) >> 8), static_cast<uint8_t>(swap ? dp : sp),
                       static_cast<uint8_t>((swap ? sp : dp) >> 8), static_cast<uint8_t>(swap ? sp : dp), 0, 0};
    h = fnv1a(h, lo.bytes());
    h = fnv1a(h, hi.bytes());
    h = fnv1a(h, tail);
    for (size_t i = 0; i < fi.n_vlans; ++i) {
        uint8_t v[2] = {static_cast<uint8_t>(fi.vlan_tci[i] >> 8 & 0x0f), static_cast<uint8_t>(fi.vlan_tci[i])};
        h = fnv1a(h, v);
    }
    return h;
}

}  // namespace vtap::gen
