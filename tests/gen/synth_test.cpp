#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <unistd.h>

#include "check.hpp"
#include "gen/frame.hpp"
#include "gen/inspect.hpp"
#include "gen/synth.hpp"

using namespace vtap::gen;
using vtap::gen::test::count_occurrences;
using vtap::gen::test::verify_checksums;

namespace {

struct Captured {
    std::vector<uint8_t> outer;
    std::vector<uint8_t> inner;
    uint64_t ts_ns;
    uint32_t flow;
    Ipv4 tap;
    bool to_server;
    bool planted;
};

std::vector<Captured> run(const SynthConfig& c, SynthStats* stats = nullptr) {
    std::vector<Captured> out;
    auto st = synthesize(c, [&](const EmittedFrame& e) -> vtap::Result<void> {
        out.push_back({{e.outer.begin(), e.outer.end()}, {e.inner.begin(), e.inner.end()}, e.ts_ns, e.flow, e.tap_src,
                       e.to_server, e.planted});
        return {};
    });
    REQUIRE(st.has_value());
    if (stats) *stats = *st;
    return out;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("vtap-gen-" + std::to_string(getpid()) + "-" + name);
}

bool is_endpoint(const Ipv4& tap, const FrameInfo& fi) {
    IpAddr t = fi.src.is_v6() ? IpAddr::v6(lab_ipv6(tap)) : IpAddr::v4(tap);
    return t == fi.src || t == fi.dst;
}

}  // namespace

TEST_CASE("the same seed gives a byte-identical capture, a different seed a different one", "[gen]") {
    SynthConfig c;
    c.flows = 40;
    c.seed = 99;
    c.ipv6_share = 0.3;
    auto a = temp_path("a.pcap"), b = temp_path("b.pcap"), d = temp_path("d.pcap");
    REQUIRE(synthesize_pcap(c, a.string()).has_value());
    REQUIRE(synthesize_pcap(c, b.string()).has_value());
    c.seed = 100;
    REQUIRE(synthesize_pcap(c, d.string()).has_value());
    std::string ba = slurp(a), bb = slurp(b), bd = slurp(d);
    REQUIRE(ba.size() > 10'000);
    REQUIRE(ba == bb);
    REQUIRE(ba != bd);
    for (const auto& p : {a, b, d}) std::filesystem::remove(p);
}

TEST_CASE("every synthesized frame has valid outer and inner checksums", "[gen]") {
    SynthConfig c;
    c.flows = 60;
    c.ipv6_share = 0.4;
    c.inner_vlan = 42;
    c.two_tap_share = 0.3;
    SynthStats st;
    auto frames = run(c, &st);
    REQUIRE(frames.size() == st.frames);
    uint64_t inner_bytes = 0;
    for (const auto& f : frames) {
        REQUIRE(vtap::gen::test::ones_sum(std::span<const uint8_t>(f.outer).subspan(14, 20)) == 0xffff);
        INFO("flow " << f.flow);
        REQUIRE(verify_checksums(f.inner) == "");
        REQUIRE(inspect_frame(f.inner).vlan_tci[0] == 42);
        inner_bytes += f.inner.size();
    }
    REQUIRE(inner_bytes == st.inner_bytes);
    REQUIRE(st.ipv6_flows > 0);
    REQUIRE(st.tcp_flows + st.udp_flows + st.icmp_flows == st.flows);
    REQUIRE(st.flows == 60);
}

TEST_CASE("both directions of each TCP conversation appear with the tapped VM as tap source", "[gen]") {
    SynthConfig c;
    c.flows = 50;
    c.ipv6_share = 0.3;
    c.mix = {1, 1, 0, 0};
    auto frames = run(c);
    struct Conv {
        std::set<Ipv4> taps;
        std::map<bool, uint64_t> frames_by_dir;
        int syn = 0, synack = 0, fin = 0;
        std::map<std::pair<IpAddr, uint16_t>, uint32_t> isn, fin_seq, sent;
    };
    std::map<uint32_t, Conv> convs;
    for (const auto& f : frames) {
        FrameInfo fi = inspect_frame(f.inner);
        REQUIRE(fi.proto == 6);
        REQUIRE(is_endpoint(f.tap, fi));
        Conv& cv = convs[f.flow];
        cv.taps.insert(f.tap);
        ++cv.frames_by_dir[f.to_server];
        auto who = std::make_pair(fi.src, fi.src_port);
        if (fi.tcp_flags & tcp_flag::kSyn) {
            (fi.tcp_flags & tcp_flag::kAck) ? ++cv.synack : ++cv.syn;
            cv.isn[who] = fi.seq;
        }
        if (fi.tcp_flags & tcp_flag::kFin) {
            ++cv.fin;
            cv.fin_seq[who] = fi.seq;
        }
        cv.sent[who] += static_cast<uint32_t>(fi.payload_len);
    }
    REQUIRE(convs.size() == 50);
    for (const auto& [id, cv] : convs) {
        INFO("conversation " << id);
        REQUIRE(cv.taps.size() == 1);
        REQUIRE(cv.frames_by_dir.at(true) > 0);
        REQUIRE(cv.frames_by_dir.at(false) > 0);
        REQUIRE(cv.syn == 1);
        REQUIRE(cv.synack == 1);
        REQUIRE(cv.fin == 2);
        // Sequence space adds up: FIN sits right after the SYN and every data byte.
        for (const auto& [who, isn] : cv.isn) REQUIRE(cv.fin_seq.at(who) == isn + 1 + cv.sent.at(who));
    }
}

TEST_CASE("a conversation between two tapped VMs appears twice, once per tap source", "[gen]") {
    SynthConfig c;
    c.flows = 30;
    c.two_tap_share = 1.0;
    c.tap_srcs = {{198, 18, 0, 10}, {198, 18, 0, 11}, {198, 18, 0, 12}};
    SynthStats st;
    auto frames = run(c, &st);
    REQUIRE(frames.size() % 2 == 0);
    REQUIRE(st.two_tap_flows == 30);
    for (size_t i = 0; i < frames.size(); i += 2) {
        const auto& a = frames[i];
        const auto& b = frames[i + 1];
        REQUIRE(a.inner == b.inner);
        REQUIRE(a.tap != b.tap);
        FrameInfo fi = inspect_frame(a.inner);
        // The sender's copy comes first.
        REQUIRE(IpAddr::v4(a.tap) == fi.src);
        REQUIRE(IpAddr::v4(b.tap) == fi.dst);
        REQUIRE(b.ts_ns > a.ts_ns);
    }
}

TEST_CASE("the planted count equals the frames that contain the signature", "[gen]") {
    const std::string sig = "vtapd-unit-test-signature";
    for (double two : {0.0, 0.5}) {
        SynthConfig c;
        c.flows = 80;
        c.seed = 5;
        c.size = {SizeMode::kFixed, 400};
        c.plant = sig;
        c.plant_rate = 0.3;
        c.two_tap_share = two;
        c.ipv6_share = 0.2;
        SynthStats st;
        auto frames = run(c, &st);
        uint64_t with = 0, marked = 0;
        for (const auto& f : frames) {
            size_t n = count_occurrences(f.outer, sig);
            REQUIRE(n <= 1);
            with += n;
            marked += f.planted;
            if (f.planted) REQUIRE(n == 1);
        }
        INFO("two-tap share " << two);
        REQUIRE(st.planted > 10);
        REQUIRE(st.planted == with);
        REQUIRE(st.planted == marked);
    }
}

TEST_CASE("jumbo size makes every payload-bearing inner frame exactly 9000 bytes", "[gen]") {
    SynthConfig c;
    c.flows = 20;
    c.size = {SizeMode::kJumbo, 0};
    c.ipv6_share = 0.5;
    auto frames = run(c);
    size_t payload_frames = 0, largest = 0;
    for (const auto& f : frames) {
        FrameInfo fi = inspect_frame(f.inner);
        largest = std::max(largest, f.inner.size());
        if (fi.payload_len > 0) {
            REQUIRE(f.inner.size() == kJumboFrame);
            REQUIRE(f.outer.size() == kJumboFrame + 50);
            ++payload_frames;
        } else {
            REQUIRE(f.inner.size() < 100);
        }
    }
    REQUIRE(payload_frames > 20);
    REQUIRE(largest == kJumboFrame);
}

TEST_CASE("a fixed size applies to every payload-bearing frame and templates stay well formed", "[gen]") {
    SynthConfig c;
    c.flows = 40;
    c.size = {SizeMode::kFixed, 590};
    c.mix = {1, 0, 0, 0};
    auto frames = run(c);
    size_t requests = 0;
    for (const auto& f : frames) {
        FrameInfo fi = inspect_frame(f.inner);
        if (fi.payload_len == 0) continue;
        REQUIRE(f.inner.size() == 590);
        std::string p(f.inner.begin() + static_cast<ptrdiff_t>(fi.payload_off), f.inner.end());
        if (f.to_server) {
            REQUIRE(p.starts_with("GET /"));
            REQUIRE(p.ends_with("\r\n\r\n"));
            ++requests;
        }
    }
    REQUIRE(requests >= 40);
}

TEST_CASE("timestamps increase strictly and packets-max caps the capture", "[gen]") {
    SynthConfig c;
    c.flows = 100;
    c.packets_max = 333;
    c.two_tap_share = 0.5;
    SynthStats st;
    auto frames = run(c, &st);
    REQUIRE(frames.size() == 333);
    REQUIRE(st.frames == 333);
    std::set<uint32_t> flows;
    for (size_t i = 0; i < frames.size(); ++i) {
        REQUIRE(frames[i].ts_ns % 1000 == 0);
        if (i) REQUIRE(frames[i].ts_ns > frames[i - 1].ts_ns);
        flows.insert(frames[i].flow);
    }
    REQUIRE(st.flows == flows.size());
    REQUIRE(frames.front().ts_ns >= c.start_ns);
}

TEST_CASE("frag-mtu splits large UDP and ICMP packets and leaves TCP alone", "[gen]") {
    SynthConfig c;
    c.flows = 30;
    c.size = {SizeMode::kJumbo, 0};
    c.frag_mtu = 1500;
    c.ipv6_share = 0.5;
    auto frames = run(c);
    size_t fragments = 0;
    for (const auto& f : frames) {
        FrameInfo fi = inspect_frame(f.inner);
        REQUIRE(fi.has_ip);
        if (fi.proto == 6) continue;
        REQUIRE(f.inner.size() - fi.l3_off <= 1500);
        fragments += fi.fragment;
    }
    REQUIRE(fragments > 10);
}

TEST_CASE("synthesis refuses contradictory settings with a named reason", "[gen]") {
    SynthConfig c;
    c.tap_srcs = {{198, 18, 0, 10}};
    c.two_tap_share = 0.5;
    REQUIRE(validate(c).error().where == "two-tap share");
    c = SynthConfig{};
    c.plant_rate = 0.5;
    REQUIRE(validate(c).error().where == "plant");
    c = SynthConfig{};
    c.vtap.vni = vtap::Vni{1u << 24};
    REQUIRE_FALSE(synthesize(c, [](const EmittedFrame&) -> vtap::Result<void> { return {}; }).has_value());
    REQUIRE_FALSE(parse_size("fixed:59").has_value());
    REQUIRE_FALSE(parse_size("huge").has_value());
    REQUIRE(parse_size("fixed:1514")->fixed == 1514);
    REQUIRE_FALSE(synthesize_pcap(SynthConfig{}, "/nonexistent-dir/x.pcap").has_value());
}
