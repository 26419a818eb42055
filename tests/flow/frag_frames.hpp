// IPv4 and IPv6 fragments of a frame built by flow_frames.hpp (Ethernet +
// 20-byte IPv4 header or 40-byte IPv6 header), with PktMeta as decap leaves
// it (the inner parse's flags) and the flow hash shard gives fragments
// (addresses only).
#pragma once

#include <string_view>

#include <catch2/catch.hpp>

#include "decap/decap.hpp"
#include "tests/flow/flow_frames.hpp"
#include "wire/parse.hpp"

namespace vtap::test {

// A fragment carrying `data` at byte `off` of the datagram's IP payload,
// headers taken from `w`, meta as decap leaves it.
inline void set_decap_meta(Pkt& f, uint32_t vni) {
    wire::InnerInfo in;
    DropReason why;
    REQUIRE(wire::parse_inner(f.frame.data(), f.frame.size(), f.frame.size(), in, why) == wire::Verdict::kPass);
    f.meta.vni = vni;
    f.meta.tap_src = 0x0100a8c0;
    decap::set_inner_meta(f.meta, in);
    REQUIRE((f.meta.flags & kFlagFragment));
    f.meta.flow_hash = shard::flow_hash(f.frame.data(), f.meta);
}

inline Pkt frag_bytes(const Pkt& w, uint32_t off, std::string_view data, bool more, uint16_t id = 7, uint32_t vni = 27) {
    Pkt f;
    f.frame.assign(w.frame.begin(), w.frame.begin() + 34);
    f.frame.insert(f.frame.end(), data.begin(), data.end());
    put16(f.frame, 16, static_cast<uint16_t>(20 + data.size()));
    put16(f.frame, 18, id);
    put16(f.frame, 20, static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8)));
    set_decap_meta(f, vni);
    return f;
}

// The fragment of w's IP payload [off, off + len).
inline Pkt frag(const Pkt& w, uint32_t off, uint32_t len, bool more, uint16_t id = 7, uint32_t vni = 27) {
    std::string_view all(reinterpret_cast<const char*>(w.frame.data()) + 34, w.frame.size() - 34);
    return frag_bytes(w, off, all.substr(off, len), more, id, vni);
}

// An IPv6 packet as make_pkt(..., ipv6 = true) builds it (no extension
// headers): UDP unless said otherwise.
inline Pkt udp6(const Ep& s, const Ep& d, std::string_view payload) {
    return make_pkt(IPPROTO_UDP, s, d, 0, 0, 0, payload, true);
}

constexpr size_t kIpv6Payload = 14 + 40;  // where w's IPv6 payload starts

// An IPv6 fragment (RFC 8200 s4.5) of w (built by udp6/make_pkt with
// ipv6): w's IPv6 header, with `hbh` an 8-byte hop-by-hop options header
// (a PadN option) before the fragment header, then the fragment header
// (w's next header, `off`, M = `more`, 32-bit `id`) and `data` at byte
// `off` of w's IPv6 payload. `off` need not be a multiple of 8 when a test
// wants it so: the header keeps off / 8.
inline Pkt frag6_bytes(const Pkt& w, uint32_t off, std::string_view data, bool more, uint32_t id = 0x10007,
                       uint32_t vni = 27, bool hbh = false) {
    Pkt f;
    f.frame.assign(w.frame.begin(), w.frame.begin() + kIpv6Payload);
    const uint8_t next = w.frame[14 + 6];
    if (hbh) {
        f.frame[14 + 6] = 0;  // hop-by-hop
        const uint8_t h[8] = {44, 0, 1, 4, 0, 0, 0, 0};  // next: fragment; PadN of 4
        f.frame.insert(f.frame.end(), h, h + 8);
    } else {
        f.frame[14 + 6] = 44;
    }
    const size_t fh = f.frame.size();
    f.frame.resize(fh + 8, 0);
    f.frame[fh] = next;
    put16(f.frame, fh + 2, static_cast<uint16_t>((off / 8) << 3 | (more ? 1 : 0)));
    put32(f.frame, fh + 4, id);
    f.frame.insert(f.frame.end(), data.begin(), data.end());
    put16(f.frame, 14 + 4, static_cast<uint16_t>(f.frame.size() - kIpv6Payload));
    set_decap_meta(f, vni);
    return f;
}

// The IPv6 fragment of w's IPv6 payload [off, off + len).
inline Pkt frag6(const Pkt& w, uint32_t off, uint32_t len, bool more, uint32_t id = 0x10007, uint32_t vni = 27,
                 bool hbh = false) {
    std::string_view all(reinterpret_cast<const char*>(w.frame.data()) + kIpv6Payload,
                         w.frame.size() - kIpv6Payload);
    return frag6_bytes(w, off, all.substr(off, len), more, id, vni, hbh);
}

}  // namespace vtap::test
