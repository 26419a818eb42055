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
    if (cfg.copies < 1 || cfg.copies > kMaxWrapCopies)
        return fail("copies", "want 1.." + std::to_string(kMaxWrapCopies) + ", got " + std::to_string(cfg.copies));
    if (auto ok = validate(cfg.vtap); !ok) return std::unexpected(ok.error());
    auto writer = PcapWriter::open(out_path);
    if (!writer) return std::unexpected(writer.error());

    WrapStats st;
    std::unordered_set<uint64_t> flows;
    std::vector<uint8_t> outer, tagged;
    const size_t max_inner = kMaxOuterFrame - vtap_overhead(cfg.vtap);
    uint64_t min_ts = UINT64_MAX, max_ts = 0, shift = 0;
    for (uint16_t copy = 0; copy < cfg.copies; copy++) {
        auto reader = PcapReader::open(in_path);
        if (!reader) return std::unexpected(reader.error());
        // Real captures are not always in time order: span from the earliest.
        if (copy > 0) shift += max_ts - std::min(min_ts, max_ts) + 1'000'000'000;
        while (true) {
            auto rec = reader->next();
            if (!rec) return std::unexpected(rec.error());
            if (!*rec) break;
            std::span<const uint8_t> inner = (*rec)->data;
            if (copy == 0) {
                min_ts = std::min(min_ts, (*rec)->ts_ns);
                max_ts = std::max(max_ts, (*rec)->ts_ns);
            }
            if (copy > 0 && inner.size() >= 14) {
                // dst MAC, src MAC, then 802.1Q (TPID 0x8100, PCP/DEI 0, VID copy).
                tagged.assign(inner.begin(), inner.begin() + 12);
                const uint8_t tag[4] = {0x81, 0x00, static_cast<uint8_t>(copy >> 8), static_cast<uint8_t>(copy)};
                tagged.insert(tagged.end(), tag, tag + 4);
                tagged.insert(tagged.end(), inner.begin() + 12, inner.end());
                inner = tagged;
            }
            if (inner.size() > max_inner) {
                ++st.oversize;
                continue;
            }
            st.truncated += (*rec)->orig_len > (*rec)->data.size();
            if (auto ok = wrap_vtap(inner, choose_tap(inner, cfg.tap_srcs), cfg.vtap, outer); !ok)
                return std::unexpected(ok.error());
            if (auto ok = writer->write(outer, (*rec)->ts_ns + shift); !ok) return std::unexpected(ok.error());
            ++st.frames;
            st.inner_bytes += inner.size();
            st.outer_bytes += outer.size();
            flows.insert(conversation_key(inner, inspect_frame(inner)) ^ (uint64_t{copy} << 48));
        }
    }
    if (auto ok = writer->close(); !ok) return std::unexpected(ok.error());
    st.flows = flows.size();
    return st;
}

}  // namespace vtap::gen
