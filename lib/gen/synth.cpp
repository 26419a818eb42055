#include "gen/synth.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <queue>
#include <tuple>
#include <unordered_map>

#include "gen/conversation.hpp"
#include "gen/pcap_io.hpp"

namespace vtap::gen {
namespace {

// Conversations start about 1 ms apart (jittered); with durations of tens
// to hundreds of ms, a few hundred are open at once.
constexpr uint64_t kFlowGapNs = 1'000'000;

struct Active {
    Flow flow;
    std::vector<Step> steps;
    MessageCache cache;
};

struct Next {
    uint64_t t_ns;
    uint32_t flow;
    uint32_t index;
    bool operator>(const Next& o) const { return std::tie(t_ns, flow, index) > std::tie(o.t_ns, o.flow, o.index); }
};

bool contains(std::span<const uint8_t> hay, std::string_view needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

class Emitter {
public:
    Emitter(const SynthConfig& cfg, const FrameSink& sink) : cfg_(cfg), sink_(sink), seen_(cfg.flows, false) {}

    bool full() const { return cfg_.packets_max != 0 && stats_.frames >= cfg_.packets_max; }

    Result<void> emit(Active& a, const Step& s) {
        if (auto ok = step_frame(cfg_, a.flow, s, a.cache, spec_, frame_); !ok) return ok;
        pieces_.clear();
        if (cfg_.frag_mtu != 0 && a.flow.proto != L4Proto::kTcp) {
            auto frags = fragment(frame_, cfg_.frag_mtu, static_cast<uint32_t>(mix_seed(a.flow.seed, s.index)));
            if (!frags) return std::unexpected(frags.error());
            pieces_ = std::move(*frags);
        } else {
            pieces_.push_back(frame_);
        }
        // The sender's tap sees a packet leave before the receiver's tap sees it arrive.
        const Endpoint& snd = s.to_server ? a.flow.client : a.flow.server;
        const Endpoint& rcv = s.to_server ? a.flow.server : a.flow.client;
        for (const auto& inner : pieces_) {
            bool planted = s.plant && contains(inner, cfg_.plant);
            for (int tap : {snd.tap, rcv.tap}) {
                if (tap < 0) continue;
                if (full()) return {};
                if (auto ok = write(a, s, inner, cfg_.tap_srcs[static_cast<size_t>(tap)], planted); !ok) return ok;
            }
        }
        return {};
    }

    SynthStats stats() const { return stats_; }

private:
    Result<void> write(const Active& a, const Step& s, std::span<const uint8_t> inner, const Ipv4& tap, bool planted) {
        if (auto ok = wrap_vtap(inner, tap, cfg_.vtap, outer_); !ok) return ok;
        // pcap keeps microseconds: keep them strictly increasing so replay order is unambiguous.
        uint64_t us = std::max(s.t_ns / 1000, last_us_ + 1);
        last_us_ = us;
        EmittedFrame e;
        e.outer = outer_;
        e.inner = std::span<const uint8_t>(outer_).subspan(vtap_overhead(cfg_.vtap));
        e.ts_ns = us * 1000;
        e.flow = a.flow.id;
        e.tap_src = tap;
        e.to_server = s.to_server;
        e.planted = planted;
        if (auto ok = sink_(e); !ok) return ok;
        ++stats_.frames;
        stats_.planted += planted;
        stats_.inner_bytes += inner.size();
        stats_.outer_bytes += outer_.size();
        if (!seen_[a.flow.id]) {
            seen_[a.flow.id] = true;
            ++stats_.flows;
            stats_.tcp_flows += a.flow.proto == L4Proto::kTcp;
            stats_.udp_flows += a.flow.proto == L4Proto::kUdp;
            stats_.icmp_flows += a.flow.proto == L4Proto::kIcmp || a.flow.proto == L4Proto::kIcmpv6;
            stats_.ipv6_flows += a.flow.client.ip.is_v6();
            stats_.two_tap_flows += a.flow.client.tap >= 0 && a.flow.server.tap >= 0;
        }
        return {};
    }

    const SynthConfig& cfg_;
    const FrameSink& sink_;
    std::vector<bool> seen_;
    SynthStats stats_;
    FrameSpec spec_;
    std::vector<uint8_t> frame_, outer_;
    std::vector<std::vector<uint8_t>> pieces_;
    uint64_t last_us_ = 0;
};

}  // namespace

Result<SizeSpec> parse_size(std::string_view text) {
    if (text == "imix") return SizeSpec{SizeMode::kImix, 0};
    if (text == "jumbo") return SizeSpec{SizeMode::kJumbo, kJumboFrame};
    if (text.starts_with("fixed:")) {
        auto num = text.substr(6);
        size_t n = 0;
        auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
        if (ec == std::errc{} && ptr == num.data() + num.size() && n >= kMinFixedFrame && n <= kMaxInnerFrame)
            return SizeSpec{SizeMode::kFixed, n};
        return fail("size", std::string("'") + std::string(text) + "': fixed size must be " + std::to_string(kMinFixedFrame) +
                                ".." + std::to_string(kMaxInnerFrame) + " bytes");
    }
    return fail("size", std::string("'") + std::string(text) + "': want fixed:N, imix or jumbo");
}

Result<App> parse_app(std::string_view text) {
    if (text == "http") return App::kHttp;
    if (text == "tls") return App::kTls;
    if (text == "dns") return App::kDns;
    if (text == "echo") return App::kEcho;
    return fail("app", std::string("'") + std::string(text) + "': want http, tls, dns or echo");
}

Result<void> validate(const SynthConfig& c) {
    auto share = [](double v) { return v >= 0 && v <= 1; };
    if (c.flows == 0) return fail("flows", "need at least one conversation");
    if (c.tap_srcs.empty()) return fail("tap sources", "need at least one tapped VM address");
    if (!share(c.ipv6_share)) return fail("ipv6 share", "must be within 0..1");
    if (!share(c.two_tap_share)) return fail("two-tap share", "must be within 0..1");
    if (c.two_tap_share > 0 && c.tap_srcs.size() < 2)
        return fail("two-tap share", "conversations between tapped VMs need at least two tap sources");
    if (!share(c.plant_rate)) return fail("plant rate", "must be within 0..1");
    if (c.plant_rate > 0 && c.plant.empty()) return fail("plant", "a plant rate needs a signature string");
    if (c.mix.http < 0 || c.mix.tls < 0 || c.mix.dns < 0 || c.mix.echo < 0 ||
        c.mix.http + c.mix.tls + c.mix.dns + c.mix.echo <= 0)
        return fail("mix", "weights must be non-negative with a positive sum");
    if (c.inner_vlan && *c.inner_vlan > 4095) return fail("vlan", std::to_string(*c.inner_vlan) + " is not a VLAN ID (0..4095)");
    if (c.size.mode == SizeMode::kFixed && (c.size.fixed < kMinFixedFrame || c.size.fixed > kMaxInnerFrame))
        return fail("size", std::string("fixed size must be ") + std::to_string(kMinFixedFrame) + ".." + std::to_string(kMaxInnerFrame));
    if (c.frag_mtu != 0 && (c.frag_mtu < 68 || c.frag_mtu > 65535))
        return fail("frag mtu", "must be 68..65535 (RFC 791's minimum) or 0 for none");
    return validate(c.vtap);
}

Result<SynthStats> synthesize(const SynthConfig& cfg, const FrameSink& sink) {
    if (auto ok = validate(cfg); !ok) return std::unexpected(ok.error());
    Emitter em(cfg, sink);
    std::unordered_map<uint32_t, Active> active;
    std::priority_queue<Next, std::vector<Next>, std::greater<>> queue;
    uint32_t next_flow = 0;
    // Each conversation draws from its own stream: its bytes do not depend on
    // how many packets other conversations had.
    std::optional<Rng> rng;
    uint64_t start = 0;

    while (!em.full()) {
        // Open every conversation that starts no later than the earliest
        // pending packet; starts strictly increase, so packets leave in time order.
        while (next_flow < cfg.flows) {
            if (!rng) {
                rng.emplace(mix_seed(cfg.seed, next_flow));
                start = cfg.start_ns + uint64_t{next_flow} * kFlowGapNs + rng->below(kFlowGapNs);
            }
            if (!queue.empty() && start > queue.top().t_ns) break;
            Active& a = active[next_flow];
            a.flow = make_flow(cfg, next_flow, *rng);
            script_flow(cfg, a.flow, *rng, start, a.steps);
            queue.push({a.steps.front().t_ns, next_flow, 0});
            rng.reset();
            ++next_flow;
        }
        if (queue.empty()) break;
        Next n = queue.top();
        queue.pop();
        auto it = active.find(n.flow);
        if (auto ok = em.emit(it->second, it->second.steps[n.index]); !ok) return std::unexpected(ok.error());
        if (n.index + 1 < it->second.steps.size())
            queue.push({it->second.steps[n.index + 1].t_ns, n.flow, n.index + 1});
        else
            active.erase(it);
    }
    return em.stats();
}

Result<SynthStats> synthesize_pcap(const SynthConfig& cfg, const std::string& path) {
    if (auto ok = validate(cfg); !ok) return std::unexpected(ok.error());
    auto writer = PcapWriter::open(path);
    if (!writer) return std::unexpected(writer.error());
    auto stats = synthesize(cfg, [&](const EmittedFrame& f) { return writer->write(f.outer, f.ts_ns); });
    if (!stats) return stats;
    if (auto ok = writer->close(); !ok) return std::unexpected(ok.error());
    return stats;
}

}  // namespace vtap::gen
