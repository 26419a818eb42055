#include "loadgen/source.hpp"

#include <unordered_map>

#include "gen/inspect.hpp"
#include "gen/pcap_io.hpp"
#include "gen/vtap.hpp"

namespace vtap::loadgen {
namespace {

Result<uint64_t> produce_wrap(const SourceConfig& src, uint64_t max_frames, const GenSink& sink) {
    auto reader = gen::PcapReader::open(src.wrap_in);
    if (!reader) return std::unexpected(reader.error());
    // Wrapped captures are bounded by the file, so a map of their
    // conversations is bounded too; it gives dense flow numbers.
    std::unordered_map<uint64_t, uint32_t> flows;
    std::vector<uint8_t> outer;
    uint64_t n = 0;
    while (max_frames == 0 || n < max_frames) {
        auto rec = reader->next();
        if (!rec) return std::unexpected(rec.error());
        if (!*rec) break;
        auto inner = (*rec)->data;
        if (inner.size() > gen::kMaxOuterFrame - gen::vtap_overhead(src.wrap.vtap)) continue;  // as wrap_pcap: oversize
        auto key = gen::conversation_key(inner, gen::inspect_frame(inner));
        auto [it, _] = flows.try_emplace(key, static_cast<uint32_t>(flows.size()));
        if (auto ok = gen::wrap_vtap(inner, gen::choose_tap(inner, src.wrap.tap_srcs), src.wrap.vtap, outer); !ok)
            return std::unexpected(ok.error());
        if (auto ok = sink(GenFrame{outer, (*rec)->ts_ns, it->second, false}); !ok) return std::unexpected(ok.error());
        ++n;
    }
    return n;
}

}  // namespace

Result<uint64_t> produce(const SourceConfig& src, uint64_t max_frames, const GenSink& sink) {
    if (!src.synth) return produce_wrap(src, max_frames, sink);
    gen::SynthConfig cfg = *src.synth;
    if (max_frames != 0 && (cfg.packets_max == 0 || cfg.packets_max > max_frames)) cfg.packets_max = max_frames;
    auto st = gen::synthesize(cfg, [&](const gen::EmittedFrame& e) {
        return sink(GenFrame{e.outer, e.ts_ns, e.flow, e.planted});
    });
    if (!st) return std::unexpected(st.error());
    return st->frames;
}

void FrameStore::add(const GenFrame& f) {
    recs_.push_back(Rec{arena_.size(), static_cast<uint32_t>(f.outer.size()), f.flow, f.planted});
    arena_.insert(arena_.end(), f.outer.begin(), f.outer.end());
}

}  // namespace vtap::loadgen
