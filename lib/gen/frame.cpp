#include "gen/frame.hpp"

#include <cstdio>
#include <string>

namespace vtap::gen {
namespace {

constexpr size_t kEthLen = 14;
constexpr size_t kVlanLen = 4;
constexpr size_t kIpv4Len = 20;
constexpr size_t kIpv6Len = 40;
constexpr size_t kMaxOptions = 40;
constexpr uint16_t kIpv4Df = 0x4000;
constexpr uint16_t kIpv4Mf = 0x2000;
constexpr uint8_t kIpv6NextRouting = 43;
constexpr uint8_t kIpv6NextFragment = 44;

size_t l4_header_len(L4Proto proto) { return proto == L4Proto::kTcp ? 20 : 8; }

void append(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}
void append16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
void append32(std::vector<uint8_t>& out, uint32_t v) {
    append16(out, static_cast<uint16_t>(v >> 16));
    append16(out, static_cast<uint16_t>(v));
}

// Options padded with EOL (0) to a multiple of 4 (IPv4 IHL and TCP data offset count words).
Result<std::vector<uint8_t>> padded_options(const std::vector<uint8_t>& opts, const char* what) {
    std::vector<uint8_t> p = opts;
    while (p.size() % 4) p.push_back(0);
    if (p.size() > kMaxOptions)
        return fail(what, std::to_string(opts.size()) + " bytes of options, at most 40 fit");
    return p;
}

// HbH/DestOpts body padded with Pad1/PadN so the header is a multiple of 8 (RFC 8200 4.2).
std::vector<uint8_t> padded_ext_options(const std::vector<uint8_t>& opts) {
    std::vector<uint8_t> p = opts;
    size_t pad = (8 - (2 + p.size()) % 8) % 8;
    if (pad == 1) {
        p.push_back(0);  // Pad1
    } else if (pad > 1) {
        p.push_back(1);  // PadN
        p.push_back(static_cast<uint8_t>(pad - 2));
        p.insert(p.end(), pad - 2, 0);
    }
    return p;
}

Result<void> check_spec(const FrameSpec& s) {
    if (s.vlans.size() > 2) return fail("vlans", std::string("at most 2 802.1Q tags, got ") + std::to_string(s.vlans.size()));
    if (s.src.family != s.dst.family) return fail("src/dst", "source and destination families differ");
    if (s.src.family != 4 && s.src.family != 6) return fail("src", "address family must be 4 or 6");
    if (s.proto == L4Proto::kIcmp && s.src.is_v6()) return fail("proto", "ICMP (v4) inside IPv6; use ICMPv6");
    if (s.proto == L4Proto::kIcmpv6 && !s.src.is_v6()) return fail("proto", "ICMPv6 inside IPv4; use ICMP");
    if (!s.src.is_v6() && !s.ipv6_ext.empty()) return fail("ipv6_ext", "IPv6 extension headers on an IPv4 packet");
    if (s.src.is_v6() && !s.ipv4_options.empty()) return fail("ipv4_options", "IPv4 options on an IPv6 packet");
    if (s.flow_label > 0xfffff) return fail("flow_label", "flow label is 20 bits");
    for (const auto& e : s.ipv6_ext)
        if (e.kind == Ipv6ExtKind::kFragment && (e.frag_offset % 8 || e.frag_offset > 0xfff8))
            return fail("ipv6_ext", "fragment offset must be a multiple of 8 below 65536");
    return {};
}

void write_l4(const FrameSpec& s, std::vector<uint8_t>& out, const std::vector<uint8_t>& tcp_opts) {
    size_t l4 = out.size();
    switch (s.proto) {
    case L4Proto::kTcp:
        append16(out, s.src_port);
        append16(out, s.dst_port);
        append32(out, s.seq);
        append32(out, s.ack);
        out.push_back(static_cast<uint8_t>(((20 + tcp_opts.size()) / 4) << 4));
        out.push_back(s.tcp_flags);
        append16(out, s.window);
        append32(out, 0);  // checksum, urgent pointer
        append(out, tcp_opts);
        break;
    case L4Proto::kUdp:
        append16(out, s.src_port);
        append16(out, s.dst_port);
        append16(out, static_cast<uint16_t>(8 + s.payload.size()));
        append16(out, 0);
        break;
    case L4Proto::kIcmp:
    case L4Proto::kIcmpv6: {
        bool v6 = s.proto == L4Proto::kIcmpv6;
        out.push_back(v6 ? (s.echo_reply ? 129 : 128) : (s.echo_reply ? 0 : 8));
        out.push_back(0);  // code
        append16(out, 0);
        append16(out, s.icmp_id);
        append16(out, s.icmp_seq);
        break;
    }
    }
    append(out, s.payload);

    std::span<const uint8_t> seg(out.data() + l4, out.size() - l4);
    uint32_t sum = 0;
    if (s.proto != L4Proto::kIcmp)  // ICMPv4 alone has no pseudo-header (RFC 792)
        sum = pseudo_header_sum(s.src, s.dst, static_cast<uint8_t>(s.proto), static_cast<uint32_t>(seg.size()));
    uint16_t csum = checksum_finish(checksum_add(sum, seg));
    size_t at = l4 + (s.proto == L4Proto::kTcp ? 16 : s.proto == L4Proto::kUdp ? 6 : 2);
    if (s.proto == L4Proto::kUdp && csum == 0) csum = 0xffff;  // RFC 768: 0 means "no checksum"
    put16(&out[at], csum);
}

// Offset of the IP header after the Ethernet header and up to two VLAN tags.
Result<size_t> l3_offset(std::span<const uint8_t> f, uint16_t& ethertype) {
    size_t off = 12;
    for (int tags = 0;; ++tags) {
        if (f.size() < off + 2) return fail("frame", "truncated Ethernet header");
        ethertype = get16(&f[off]);
        off += 2;
        if (ethertype != kEtherVlan && ethertype != 0x88a8) return off;
        if (tags == 2) return fail("frame", "more than two VLAN tags");
        off += 2;
    }
}

Result<std::vector<std::vector<uint8_t>>> fragment_v4(std::span<const uint8_t> f, size_t l3, size_t mtu) {
    if (f.size() < l3 + kIpv4Len) return fail("frame", "truncated IPv4 header");
    size_t ihl = size_t{f[l3] & 0x0fu} * 4;
    size_t total = get16(&f[l3 + 2]);
    if (ihl < kIpv4Len || total < ihl || f.size() < l3 + total) return fail("frame", "IPv4 lengths disagree with the frame");
    if (total <= mtu) return std::vector<std::vector<uint8_t>>{{f.begin(), f.end()}};
    uint16_t frag = get16(&f[l3 + 6]);
    if (frag & kIpv4Df) return fail("frame", "IPv4 packet has DF set and exceeds the MTU");

    // Later fragments carry only the options with the copied flag (RFC 791 3.1).
    std::vector<uint8_t> copied;
    for (size_t i = l3 + kIpv4Len; i < l3 + ihl;) {
        uint8_t type = f[i];
        if (type == 0) break;
        if (type == 1) { ++i; continue; }
        if (i + 1 >= l3 + ihl || f[i + 1] < 2 || i + f[i + 1] > l3 + ihl) return fail("frame", "malformed IPv4 option");
        if (type & 0x80) copied.insert(copied.end(), &f[i], &f[i] + f[i + 1]);
        i += f[i + 1];
    }
    while (copied.size() % 4) copied.push_back(0);

    std::span<const uint8_t> data = f.subspan(l3 + ihl, total - ihl);
    size_t base = size_t{frag & 0x1fffu} * 8;
    bool last_more = frag & kIpv4Mf;
    std::vector<std::vector<uint8_t>> out;
    for (size_t off = 0; off < data.size();) {
        size_t hl = off == 0 ? ihl : kIpv4Len + copied.size();
        size_t room = mtu > hl ? (mtu - hl) & ~size_t{7} : 0;
        if (room == 0) return fail("mtu", std::string("MTU ") + std::to_string(mtu) + " leaves no room for 8 bytes of data");
        size_t n = std::min(room, data.size() - off);
        std::vector<uint8_t> p(f.begin(), f.begin() + static_cast<ptrdiff_t>(l3 + kIpv4Len));
        if (off == 0) append(p, f.subspan(l3 + kIpv4Len, ihl - kIpv4Len));
        else append(p, copied);
        p[l3] = static_cast<uint8_t>(0x40 | hl / 4);
        put16(&p[l3 + 2], static_cast<uint16_t>(hl + n));
        bool more = off + n < data.size() || last_more;
        put16(&p[l3 + 6], static_cast<uint16_t>((more ? kIpv4Mf : 0) | (base + off) / 8));
        put16(&p[l3 + 10], 0);
        put16(&p[l3 + 10], checksum_finish(checksum_add(0, {&p[l3], hl})));
        append(p, data.subspan(off, n));
        out.push_back(std::move(p));
        off += n;
    }
    return out;
}

Result<std::vector<std::vector<uint8_t>>> fragment_v6(std::span<const uint8_t> f, size_t l3, size_t mtu, uint32_t id) {
    if (f.size() < l3 + kIpv6Len) return fail("frame", "truncated IPv6 header");
    size_t end = l3 + kIpv6Len + get16(&f[l3 + 4]);
    if (f.size() < end) return fail("frame", "IPv6 payload length exceeds the frame");
    if (end - l3 <= mtu) return std::vector<std::vector<uint8_t>>{{f.begin(), f.end()}};

    // Unfragmentable part: the IPv6 header plus hop-by-hop and routing headers
    // (and destination options before a routing header), RFC 8200 4.5.
    size_t next_at = l3 + 6;
    size_t unfrag_end = l3 + kIpv6Len;
    size_t patch_at = next_at;
    for (size_t pos = l3 + kIpv6Len;;) {
        uint8_t next = f[next_at];
        if (next == kIpv6NextFragment) return fail("frame", "IPv6 packet is already a fragment");
        if (next != 0 && next != kIpv6NextRouting && next != 60) break;
        if (pos + 2 > end) return fail("frame", "truncated IPv6 extension header");
        size_t len = (size_t{f[pos + 1]} + 1) * 8;
        if (pos + len > end) return fail("frame", "truncated IPv6 extension header");
        if (next != 60) {
            unfrag_end = pos + len;
            patch_at = pos;
        }
        next_at = pos;
        pos += len;
    }
    std::span<const uint8_t> data = f.subspan(unfrag_end, end - unfrag_end);
    size_t unfrag_len = unfrag_end - l3;
    size_t room = mtu > unfrag_len + 8 ? (mtu - unfrag_len - 8) & ~size_t{7} : 0;
    if (room == 0) return fail("mtu", std::string("MTU ") + std::to_string(mtu) + " leaves no room for 8 bytes of data");

    std::vector<std::vector<uint8_t>> out;
    for (size_t off = 0; off < data.size(); off += room) {
        size_t n = std::min(room, data.size() - off);
        std::vector<uint8_t> p(f.begin(), f.begin() + static_cast<ptrdiff_t>(unfrag_end));
        uint8_t inner_next = p[patch_at];
        p[patch_at] = kIpv6NextFragment;
        put16(&p[l3 + 4], static_cast<uint16_t>(unfrag_len - kIpv6Len + 8 + n));
        p.push_back(inner_next);
        p.push_back(0);
        append16(p, static_cast<uint16_t>(off | (off + n < data.size() ? 1 : 0)));  // offset<<3 == bytes; M flag
        append32(p, id);
        append(p, data.subspan(off, n));
        out.push_back(std::move(p));
    }
    return out;
}

}  // namespace

size_t header_len(bool ipv6, size_t vlans, L4Proto proto) {
    return kEthLen + vlans * kVlanLen + (ipv6 ? kIpv6Len : kIpv4Len) + l4_header_len(proto);
}

Result<void> build_frame(const FrameSpec& s, std::vector<uint8_t>& out) {
    out.clear();
    if (auto ok = check_spec(s); !ok) return ok;
    auto tcp_opts = padded_options(s.proto == L4Proto::kTcp ? s.tcp_options : std::vector<uint8_t>{}, "tcp_options");
    if (!tcp_opts) return std::unexpected(tcp_opts.error());
    size_t l4_len = l4_header_len(s.proto) + tcp_opts->size() + s.payload.size();

    append(out, s.dst_mac);
    append(out, s.src_mac);
    for (uint16_t tci : s.vlans) {
        append16(out, kEtherVlan);
        append16(out, tci);
    }
    size_t l3 = out.size() + 2;
    if (!s.src.is_v6()) {
        auto opts = padded_options(s.ipv4_options, "ipv4_options");
        if (!opts) return std::unexpected(opts.error());
        size_t hl = kIpv4Len + opts->size();
        if (hl + l4_len > 0xffff)
            return fail("payload", std::string("IPv4 total length ") + std::to_string(hl + l4_len) + " exceeds 65535");
        append16(out, kEtherIpv4);
        out.push_back(static_cast<uint8_t>(0x40 | hl / 4));
        out.push_back(s.tos);
        append16(out, static_cast<uint16_t>(hl + l4_len));
        append16(out, s.ip_id);
        append16(out, s.dont_fragment ? kIpv4Df : 0);
        out.push_back(s.ttl);
        out.push_back(static_cast<uint8_t>(s.proto));
        append16(out, 0);
        append(out, s.src.bytes());
        append(out, s.dst.bytes());
        append(out, *opts);
        put16(&out[l3 + 10], checksum_finish(checksum_add(0, {&out[l3], hl})));
    } else {
        std::vector<std::vector<uint8_t>> bodies;
        size_t ext_len = 0;
        for (const auto& e : s.ipv6_ext) {
            bodies.push_back(e.kind == Ipv6ExtKind::kFragment ? std::vector<uint8_t>(6, 0) : padded_ext_options(e.options));
            ext_len += 2 + bodies.back().size();
        }
        if (ext_len + l4_len > 0xffff)
            return fail("payload", std::string("IPv6 payload length ") + std::to_string(ext_len + l4_len) + " exceeds 65535");
        append16(out, kEtherIpv6);
        append32(out, 0x60000000u | uint32_t{s.tos} << 20 | s.flow_label);
        append16(out, static_cast<uint16_t>(ext_len + l4_len));
        out.push_back(s.ipv6_ext.empty() ? static_cast<uint8_t>(s.proto) : static_cast<uint8_t>(s.ipv6_ext[0].kind));
        out.push_back(s.ttl);
        append(out, s.src.bytes());
        append(out, s.dst.bytes());
        for (size_t i = 0; i < s.ipv6_ext.size(); ++i) {
            const auto& e = s.ipv6_ext[i];
            out.push_back(i + 1 < s.ipv6_ext.size() ? static_cast<uint8_t>(s.ipv6_ext[i + 1].kind)
                                                    : static_cast<uint8_t>(s.proto));
            if (e.kind == Ipv6ExtKind::kFragment) {
                out.push_back(0);
                append16(out, static_cast<uint16_t>(e.frag_offset | (e.more_fragments ? 1 : 0)));
                append32(out, e.frag_id);
            } else {
                out.push_back(static_cast<uint8_t>((2 + bodies[i].size()) / 8 - 1));
                append(out, bodies[i]);
            }
        }
    }
    write_l4(s, out, *tcp_opts);
    return {};
}

Result<std::vector<uint8_t>> build_frame(const FrameSpec& spec) {
    std::vector<uint8_t> out;
    if (auto ok = build_frame(spec, out); !ok) return std::unexpected(ok.error());
    return out;
}

Result<std::vector<std::vector<uint8_t>>> fragment(std::span<const uint8_t> frame, size_t l3_mtu, uint32_t ipv6_id) {
    uint16_t ethertype = 0;
    auto l3 = l3_offset(frame, ethertype);
    if (!l3) return std::unexpected(l3.error());
    if (ethertype == kEtherIpv4) return fragment_v4(frame, *l3, l3_mtu);
    if (ethertype == kEtherIpv6) return fragment_v6(frame, *l3, l3_mtu, ipv6_id);
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04x", ethertype);
    return fail("frame", std::string("not an IP packet (EtherType 0x") + hex + ")");
}

}  // namespace vtap::gen
