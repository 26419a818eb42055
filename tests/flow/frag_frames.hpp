// IPv4 fragments of a frame built by flow_frames.hpp (Ethernet + 20-byte
// IPv4 header), with PktMeta as decap leaves it (the inner parse's flags)
// and the flow hash shard gives fragments (addresses only).
#pragma once

#include <string_view>

#include <catch2/catch.hpp>

#include "decap/decap.hpp"
#include "tests/flow/flow_frames.hpp"
#include "wire/parse.hpp"

namespace vtap::test {

// A fragment carrying `data` at byte `off` of the datagram's IP payload,
// headers taken from `w`, meta as decap leaves it.
inline Pkt frag_bytes(const Pkt& w, uint32_t off, std::string_view data, bool more, uint16_t id = 7, uint32_t vni = 27) {
    Pkt f;
    f.frame.assign(w.frame.begin(), w.frame.begin() + 34);
    f.frame.insert(f.frame.end(), data.begin(), data.end());
    put16(f.frame, 16, static_cast<uint16_t>(20 + data.size()));
    put16(f.frame, 18, id);
    put16(f.frame, 20, static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8)));
    wire::InnerInfo in;
    DropReason why;
    REQUIRE(wire::parse_inner(f.frame.data(), f.frame.size(), f.frame.size(), in, why) == wire::Verdict::kPass);
    f.meta.vni = vni;
    f.meta.tap_src = 0x0100a8c0;
    decap::set_inner_meta(f.meta, in);
    REQUIRE((f.meta.flags & kFlagFragment));
    f.meta.flow_hash = shard::flow_hash(f.frame.data(), f.meta);
    return f;
}

// The fragment of w's IP payload [off, off + len).
inline Pkt frag(const Pkt& w, uint32_t off, uint32_t len, bool more, uint16_t id = 7, uint32_t vni = 27) {
    std::string_view all(reinterpret_cast<const char*>(w.frame.data()) + 34, w.frame.size() - 34);
    return frag_bytes(w, off, all.substr(off, len), more, id, vni);
}

}  // namespace vtap::test
