#include "gen/wrap.hpp"

#include <algorithm>
#include <unordered_set>

#include "gen/inspect.hpp"
#include "gen/pcap_io.hpp"

namespace vtap::gen {

Ipv4 choose_tap(std::span<const uint8_t> inner, const std::vector<Ipv4>& taps) {
    FrameInfo fi = inspect_frame(inner);
    if (fi.has_ip) {
        // A VM address (or, over IPv6, its lab twin as vtap-pcap synth uses) in the packet.
        for (const IpAddr* a : {&fi.src, &fi.dst})
            for (const Ipv4& t : taps)
                if (*a == (a->is_v6() ? IpAddr::v6(lab_ipv6(t)) : IpAddr::v4(t))) return t;
    }
    return taps[conversation_key(inner, fi) % taps.size()];
}

Result<WrapStats> wrap_pcap(const std::string& in_path, const std::string& out_path, const WrapConfig& cfg) {
    if (cfg.tap_srcs.empty()) return fail("tap sources", "need at least one tapped VM address");
    if (auto ok = validate(cfg.vtap); !ok) return std::unexpected(ok.error());
    auto reader = PcapReader::open(in_path);
    if (!reader) return std::unexpected(reader.error());
    auto writer = PcapWriter::open(out_path);
    if (!writer) return std::unexpected(writer.error());

    WrapStats st;
    std::unordered_set<uint64_t> flows;
    std::vector<uint8_t> outer;
    size_t max_inner = kMaxOuterFrame - vtap_overhead(cfg.vtap);
    while (true) {
        auto rec = reader->next();
        if (!rec) return std::unexpected(rec.error());
        if (!*rec) break;
        std::span<const uint8_t> inner = (*rec)->data;
        if (inner.size() > max_inner) {
            ++st.oversize;
            continue;
        }
        st.truncated += (*rec)->orig_len > inner.size();
        if (auto ok = wrap_vtap(inner, choose_tap(inner, cfg.tap_srcs), cfg.vtap, outer); !ok)
            return std::unexpected(ok.error());
        if (auto ok = writer->write(outer, (*rec)->ts_ns); !ok) return std::unexpected(ok.error());
        ++st.frames;
        st.inner_bytes += inner.size();
        st.outer_bytes += outer.size();
        flows.insert(conversation_key(inner, inspect_frame(inner)));
    }
    if (auto ok = writer->close(); !ok) return std::unexpected(ok.error());
    st.flows = flows.size();
    return st;
}

}  // namespace vtap::gen
