#include "gen/conversation.hpp"

#include <algorithm>
#include <array>

namespace vtap::gen {
namespace {

// Azure answers every off-VM destination with this MAC: a VM's frames to a
// peer outside its subnet carry it as the destination, and replies as source.
constexpr Mac kAzureGatewayMac{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
constexpr uint64_t kSegmentGapNs = 12'000;   // back-to-back segments, about 1 Gbit/s at 1500 bytes
constexpr uint64_t kThinkNs = 150'000;       // server or client turnaround
constexpr uint64_t kEchoIntervalNs = 200'000'000;

Mac vm_mac(const Ipv4& a) { return {0x00, 0x0d, 0x3a, a[1], a[2], a[3]}; }

IpAddr lab_addr(const Ipv4& a, bool v6) { return v6 ? IpAddr::v6(lab_ipv6(a)) : IpAddr::v4(a); }

Ipv4 peer_addr(const SynthConfig& cfg, Rng& rng) {
    uint32_t base = to_u32(cfg.peer_net.base);
    uint32_t host_bits = 32u - cfg.peer_net.len;
    Ipv4 a = cfg.peer_net.base;
    for (int tries = 0; tries < 16; ++tries) {
        uint64_t hosts = uint64_t{1} << host_bits;
        // Skip the network and broadcast addresses when the prefix has room.
        uint64_t h = hosts >= 4 ? rng.between(1, hosts - 2) : rng.below(hosts);
        a = from_u32(base + static_cast<uint32_t>(h));
        bool taken = a == cfg.vtap.collector ||
                     std::find(cfg.tap_srcs.begin(), cfg.tap_srcs.end(), a) != cfg.tap_srcs.end();
        if (!taken) break;
    }
    return a;
}

App pick_app(const Mix& m, Rng& rng) {
    double total = m.http + m.tls + m.dns + m.echo;
    double r = rng.unit() * total;
    if ((r -= m.http) < 0) return App::kHttp;
    if ((r -= m.tls) < 0) return App::kTls;
    if ((r -= m.dns) < 0 || m.echo <= 0) return App::kDns;
    return App::kEcho;
}

size_t frame_size(const SizeSpec& s, Rng& rng) {
    switch (s.mode) {
    case SizeMode::kFixed: return s.fixed;
    case SizeMode::kJumbo: return kJumboFrame;
    case SizeMode::kImix: {
        // Simple IMIX 7:4:1 of 40/576/1500-byte IP packets, as Ethernet frames
        // without FCS (the 54-byte one padded to the 60-byte minimum).
        uint64_t r = rng.below(12);
        return r < 7 ? 60 : r < 11 ? 590 : 1514;
    }
    }
    return 60;
}

class Scripter {
public:
    Scripter(const SynthConfig& cfg, const Flow& f, Rng& rng, uint64_t t, std::vector<Step>& out)
        : cfg_(cfg), f_(f), rng_(rng), t_(t), out_(out) {
        hdr_ = header_len(f.client.ip.is_v6(), cfg.inner_vlan ? 1 : 0, f.proto);
    }

    void run() {
        switch (f_.app) {
        case App::kHttp:
        case App::kTls: return tcp();
        case App::kDns: return dns();
        case App::kEcho: return echo();
        }
    }

private:
    uint32_t payload_len() {
        size_t n = frame_size(cfg_.size, rng_);
        return static_cast<uint32_t>(n > hdr_ ? n - hdr_ : 1);
    }

    Step& push(bool to_server, uint64_t gap) {
        Step s;
        s.t_ns = t_;
        s.index = static_cast<uint32_t>(count_++);
        s.to_server = to_server;
        out_.push_back(s);
        t_ += gap;
        return out_.back();
    }

    void maybe_plant(Step& s) {
        if (!s.to_server || cfg_.plant.empty() || s.len < cfg_.plant.size()) return;
        if (cfg_.plant_app && *cfg_.plant_app != f_.app) return;
        s.plant = rng_.chance(cfg_.plant_rate);
    }

    // One application message split into `segments` TCP segments.
    void tcp_message(bool to_server, size_t segments, uint16_t txn) {
        std::vector<uint32_t> lens;
        uint32_t total = 0;
        for (size_t i = 0; i < segments; ++i) total += lens.emplace_back(payload_len());
        uint32_t off = 0;
        for (size_t i = 0; i < segments; ++i) {
            Step& s = push(to_server, kSegmentGapNs);
            s.tcp_flags = tcp_flag::kAck | (i + 1 == segments ? tcp_flag::kPsh : 0);
            s.seq = to_server ? cseq_ : sseq_;
            s.ack = to_server ? sseq_ : cseq_;
            s.txn = txn;
            s.msg_off = off;
            s.msg_len = total;
            s.len = lens[i];
            maybe_plant(s);
            (to_server ? cseq_ : sseq_) += lens[i];
            off += lens[i];
        }
    }

    void tcp_control(bool to_server, uint8_t flags, uint64_t gap) {
        Step& s = push(to_server, gap);
        s.tcp_flags = flags;
        s.seq = to_server ? cseq_ : sseq_;
        s.ack = flags & tcp_flag::kAck ? (to_server ? sseq_ : cseq_) : 0;
    }

    void tcp() {
        uint64_t half = f_.rtt_ns / 2;
        cseq_ = static_cast<uint32_t>(rng_.next());
        sseq_ = static_cast<uint32_t>(rng_.next());
        tcp_control(true, tcp_flag::kSyn, half);
        ++cseq_;
        tcp_control(false, tcp_flag::kSyn | tcp_flag::kAck, half);
        ++sseq_;
        tcp_control(true, tcp_flag::kAck, kSegmentGapNs);
        size_t rounds = 1 + rng_.below(3);
        for (uint16_t r = 0; r < rounds; ++r) {
            tcp_message(true, 1, r);
            t_ += half + kThinkNs;
            tcp_message(false, 1 + rng_.below(4), r);
            t_ += half;
            tcp_control(true, tcp_flag::kAck, kThinkNs);
        }
        tcp_control(true, tcp_flag::kFin | tcp_flag::kAck, half);
        ++cseq_;
        tcp_control(false, tcp_flag::kFin | tcp_flag::kAck, half);
        ++sseq_;
        tcp_control(true, tcp_flag::kAck, 0);
    }

    void dns() {
        size_t txns = 1 + rng_.below(2);
        for (uint16_t i = 0; i < txns; ++i) {
            Step& q = push(true, f_.rtt_ns + kThinkNs);
            q.txn = i;
            q.msg_len = q.len = payload_len();
            maybe_plant(q);
            Step& r = push(false, 50'000'000);
            r.txn = i;
            r.msg_len = r.len = payload_len();
        }
    }

    void echo() {
        size_t pings = 1 + rng_.below(4);
        for (uint16_t i = 1; i <= pings; ++i) {
            Step& q = push(true, f_.rtt_ns);
            q.txn = i;
            q.seq = i;
            q.msg_len = q.len = payload_len();
            maybe_plant(q);
            Step copy = q;  // the reply echoes the request's data (RFC 792), a planted signature included
            Step& r = push(false, kEchoIntervalNs);
            copy.t_ns = r.t_ns;
            copy.index = r.index;
            copy.to_server = false;
            r = copy;
        }
    }

    const SynthConfig& cfg_;
    const Flow& f_;
    Rng& rng_;
    uint64_t t_;
    std::vector<Step>& out_;
    size_t hdr_ = 0;
    size_t count_ = 0;
    uint32_t cseq_ = 0, sseq_ = 0;
};

// SYN options: MSS, SACK permitted, window scale (RFC 9293, 2018, 7323).
std::vector<uint8_t> syn_options(const SynthConfig& cfg, bool v6) {
    size_t frame = cfg.size.mode == SizeMode::kJumbo ? kJumboFrame : 1514;
    uint16_t mss = static_cast<uint16_t>(frame - 14 - (v6 ? 40 : 20) - 20);
    return {2, 4, static_cast<uint8_t>(mss >> 8), static_cast<uint8_t>(mss), 1, 1, 4, 2, 1, 3, 3, 7};
}

}  // namespace

Flow make_flow(const SynthConfig& cfg, uint32_t id, Rng& rng) {
    Flow f;
    f.id = id;
    f.app = pick_app(cfg.mix, rng);
    bool v6 = rng.chance(cfg.ipv6_share);
    f.proto = f.app == App::kHttp || f.app == App::kTls ? L4Proto::kTcp
              : f.app == App::kDns                      ? L4Proto::kUdp
              : v6                                      ? L4Proto::kIcmpv6
                                                        : L4Proto::kIcmp;
    size_t taps = cfg.tap_srcs.size();
    int vm = static_cast<int>(rng.below(taps));
    bool two = taps >= 2 && rng.chance(cfg.two_tap_share);
    Endpoint a{lab_addr(cfg.tap_srcs[vm], v6), vm_mac(cfg.tap_srcs[vm]), 0, vm, 64};
    Endpoint b;
    if (two) {
        int other = static_cast<int>((static_cast<size_t>(vm) + 1 + rng.below(taps - 1)) % taps);
        b = {lab_addr(cfg.tap_srcs[other], v6), vm_mac(cfg.tap_srcs[other]), 0, other, 64};
    } else {
        b = {lab_addr(peer_addr(cfg, rng), v6), kAzureGatewayMac, 0, -1, static_cast<uint8_t>(64 - rng.between(4, 20))};
    }
    bool vm_is_client = two || rng.chance(0.5);
    f.client = vm_is_client ? a : b;
    f.server = vm_is_client ? b : a;
    f.client.port = static_cast<uint16_t>(f.app == App::kEcho ? rng.below(65536) : rng.between(32768, 60999));
    f.server.port = f.app == App::kHttp ? 80 : f.app == App::kTls ? 443 : f.app == App::kDns ? 53 : 0;
    f.rtt_ns = two ? rng.between(100'000, 1'000'000) : rng.between(2'000'000, 40'000'000);
    f.seed = rng.next();
    return f;
}

void script_flow(const SynthConfig& cfg, const Flow& flow, Rng& rng, uint64_t start_ns, std::vector<Step>& steps) {
    Scripter(cfg, flow, rng, start_ns, steps).run();
}

Result<void> step_frame(const SynthConfig& cfg, const Flow& f, const Step& s, MessageCache& cache, FrameSpec& spec,
                        std::vector<uint8_t>& frame) {
    const Endpoint& snd = s.to_server ? f.client : f.server;
    const Endpoint& rcv = s.to_server ? f.server : f.client;
    bool v6 = snd.ip.is_v6();
    spec.src_mac = snd.mac;
    spec.dst_mac = rcv.mac;
    spec.vlans.clear();
    if (cfg.inner_vlan) spec.vlans.push_back(*cfg.inner_vlan);
    spec.src = snd.ip;
    spec.dst = rcv.ip;
    spec.ttl = snd.ttl;
    spec.ip_id = static_cast<uint16_t>(mix_seed(f.seed, s.to_server) + s.index);
    // Linux sets DF on TCP (path MTU discovery); DNS and ping go without it here
    // so that frag_mtu can fragment them.
    spec.dont_fragment = f.proto == L4Proto::kTcp;
    spec.flow_label = v6 ? static_cast<uint32_t>(mix_seed(f.seed, 2 + s.to_server) & 0xfffff) : 0;
    spec.proto = f.proto;
    spec.src_port = snd.port;
    spec.dst_port = rcv.port;
    spec.seq = s.seq;
    spec.ack = s.ack;
    spec.tcp_flags = s.tcp_flags;
    spec.tcp_options.clear();
    bool syn = f.proto == L4Proto::kTcp && (s.tcp_flags & tcp_flag::kSyn);
    if (syn) spec.tcp_options = syn_options(cfg, v6);
    // Linux's usual values: the SYN's window is unscaled, later ones are scaled by 2^7.
    spec.window = syn ? (s.to_server ? 64240 : 65160) : (s.to_server ? 502 : 509);
    spec.echo_reply = !s.to_server;
    spec.icmp_id = f.client.port;
    spec.icmp_seq = static_cast<uint16_t>(s.seq);

    spec.payload.clear();
    if (s.len > 0) {
        bool request = s.to_server || f.app == App::kEcho;  // a reply echoes the request
        int64_t key = int64_t{s.txn} << 1 | (request ? 1 : 0);
        if (cache.key != key) {
            cache.filler = render_message({f.app, request, f.seed, s.txn}, s.msg_len, cache.bytes);
            cache.key = key;
        }
        auto first = cache.bytes.begin() + s.msg_off;
        spec.payload.assign(first, first + s.len);
        // Plant inside this segment's share of the filler; the offset depends
        // only on the message, so an echo reply carries it where the request did.
        size_t lo = std::max<size_t>(cache.filler.begin, s.msg_off);
        size_t hi = std::min<size_t>(cache.filler.end, s.msg_off + s.len);
        if (s.plant && hi >= lo + cfg.plant.size()) {
            size_t at = lo + mix_seed(f.seed, static_cast<uint64_t>(key) << 32 | s.msg_off) % (hi - lo - cfg.plant.size() + 1);
            std::copy(cfg.plant.begin(), cfg.plant.end(), spec.payload.begin() + static_cast<ptrdiff_t>(at - s.msg_off));
        }
    }
    return build_frame(spec, frame);
}

}  // namespace vtap::gen
