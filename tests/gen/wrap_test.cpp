#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <unistd.h>

#include <filesystem>

#include "gen/frame.hpp"
#include "gen/pcap_io.hpp"
#include "gen/wrap.hpp"

using namespace vtap::gen;

namespace {

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("vtap-wrap-" + std::to_string(getpid()) + "-" + name);
}

std::vector<uint8_t> frame(IpAddr src, IpAddr dst, uint16_t sport, uint16_t dport, size_t payload,
                           std::vector<uint16_t> vlans = {}) {
    FrameSpec s;
    s.dst_mac = {2, 0, 0, 0, 0, 2};
    s.src_mac = {2, 0, 0, 0, 0, 1};
    s.vlans = std::move(vlans);
    s.src = src;
    s.dst = dst;
    s.proto = L4Proto::kUdp;
    s.src_port = sport;
    s.dst_port = dport;
    s.payload.assign(payload, static_cast<uint8_t>(payload));
    auto f = build_frame(s);
    REQUIRE(f.has_value());
    return *f;
}

std::vector<std::pair<std::vector<uint8_t>, uint64_t>> read_all(const std::string& path) {
    auto r = PcapReader::open(path);
    REQUIRE(r.has_value());
    std::vector<std::pair<std::vector<uint8_t>, uint64_t>> out;
    while (true) {
        auto rec = r->next();
        REQUIRE(rec.has_value());
        if (!*rec) break;
        out.emplace_back(std::vector<uint8_t>((*rec)->data.begin(), (*rec)->data.end()), (*rec)->ts_ns);
    }
    return out;
}

}  // namespace

TEST_CASE("wrap mode preserves every inner frame byte for byte with its timestamp", "[gen]") {
    IpAddr vm = IpAddr::v4({198, 18, 0, 10}), peer = IpAddr::v4({198, 19, 5, 5});
    IpAddr vm6 = IpAddr::v6(lab_ipv6({198, 18, 0, 10})), peer6 = IpAddr::v6(lab_ipv6({198, 19, 5, 5}));
    IpAddr a = IpAddr::v4({198, 19, 1, 1}), b = IpAddr::v4({198, 19, 2, 2});  // no tapped VM among them
    std::vector<std::vector<uint8_t>> frames = {
        frame(vm, peer, 5000, 53, 0),  frame(peer, vm, 53, 5000, 333), frame(vm6, peer6, 7, 9, 1400, {100}),
        frame(peer6, vm6, 9, 7, 8900, {100}), frame(a, b, 1000, 2000, 10), frame(b, a, 2000, 1000, 20),
        std::vector<uint8_t>(60, 0xee),  // a non-IP frame
    };
    frames.back()[12] = 0x08;  // EtherType ARP
    frames.back()[13] = 0x06;
    auto in = temp_path("in.pcap"), out = temp_path("out.pcap");
    {
        auto w = PcapWriter::open(in.string());
        REQUIRE(w.has_value());
        // Out-of-order timestamps, as in merged real captures: wrap keeps them.
        uint64_t ts[] = {5'000'000'000, 4'000'001'000, 6'000'000'000, 6'000'000'000, 7'000'000'000, 7'000'001'000, 1'000'000};
        for (size_t i = 0; i < frames.size(); ++i) REQUIRE(w->write(frames[i], ts[i]).has_value());
        REQUIRE(w->close().has_value());
    }
    WrapConfig c;
    c.vtap.vni = vtap::Vni{4242};
    c.tap_srcs = {{198, 18, 0, 99}, {198, 18, 0, 10}};
    auto st = wrap_pcap(in.string(), out.string(), c);
    REQUIRE(st.has_value());
    REQUIRE(st->frames == frames.size());
    REQUIRE(st->truncated == 0);
    REQUIRE(st->flows == 4);  // two IPv4 and one IPv6 conversation, both directions; one non-IP
    auto original = read_all(in.string());
    auto wrapped = read_all(out.string());
    REQUIRE(wrapped.size() == frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
        const auto& w = wrapped[i].first;
        REQUIRE(w.size() == frames[i].size() + 50);
        REQUIRE(std::vector<uint8_t>(w.begin() + 50, w.end()) == frames[i]);
        REQUIRE(wrapped[i].second == original[i].second);
        REQUIRE(w[48] == 0x92);  // VNI 4242 = 0x001092
        REQUIRE(w[47] == 0x10);
    }
    // A configured VM address inside the inner packet wins (over IPv6 its
    // 2001:2:: lab twin): both directions come from 198.18.0.10.
    for (size_t i : {0u, 1u, 2u, 3u})
        REQUIRE(std::vector<uint8_t>(wrapped[i].first.begin() + 26, wrapped[i].first.begin() + 30) ==
                std::vector<uint8_t>{198, 18, 0, 10});
    // Otherwise a direction-free hash picks one, the same for both directions.
    REQUIRE(std::equal(wrapped[4].first.begin() + 26, wrapped[4].first.begin() + 30, wrapped[5].first.begin() + 26));
    REQUIRE(choose_tap(frames[4], c.tap_srcs) == choose_tap(frames[5], c.tap_srcs));
    std::filesystem::remove(in);
    std::filesystem::remove(out);
}

TEST_CASE("wrap --copies writes the capture again behind an inner VLAN tag per copy, later in time", "[gen]") {
    IpAddr a = IpAddr::v4({198, 19, 1, 1}), b = IpAddr::v4({198, 19, 2, 2});
    std::vector<std::vector<uint8_t>> frames = {frame(a, b, 1000, 2000, 10), frame(b, a, 2000, 1000, 20),
                                                frame(a, b, 1001, 2000, 30, {7})};
    // Out of order: the span is 3 s from the earliest.
    const uint64_t ts[] = {5'000'000'000, 2'000'000'000, 4'000'000'000};
    auto in = temp_path("copies-in.pcap"), out = temp_path("copies-out.pcap");
    {
        auto w = PcapWriter::open(in.string());
        REQUIRE(w.has_value());
        for (size_t i = 0; i < frames.size(); ++i) REQUIRE(w->write(frames[i], ts[i]).has_value());
        REQUIRE(w->close().has_value());
    }
    WrapConfig c;
    c.copies = 3;
    auto st = wrap_pcap(in.string(), out.string(), c);
    REQUIRE(st.has_value());
    CHECK(st->frames == 9);
    CHECK(st->flows == 6);  // two conversations, three times
    auto wrapped = read_all(out.string());
    REQUIRE(wrapped.size() == 9);
    for (uint16_t copy = 0; copy < 3; copy++)
        for (size_t i = 0; i < frames.size(); ++i) {
            CAPTURE(copy, i);
            std::vector<uint8_t> want = frames[i];
            if (copy > 0) {
                const uint8_t tag[] = {0x81, 0x00, 0x00, static_cast<uint8_t>(copy)};
                want.insert(want.begin() + 12, tag, tag + 4);  // in front of the frame's own tag
            }
            const auto& [got, got_ts] = wrapped[copy * frames.size() + i];
            CHECK(std::vector<uint8_t>(got.begin() + 50, got.end()) == want);
            CHECK(got_ts == ts[i] + copy * uint64_t{4'000'000'000});
        }
    c.copies = 0;
    auto bad = wrap_pcap(in.string(), out.string(), c);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().what.find("want 1..4094") != std::string::npos);
    std::filesystem::remove(in);
    std::filesystem::remove(out);
}

TEST_CASE("wrap mode reports a missing file and a non-Ethernet capture by path", "[gen]") {
    auto out = temp_path("never.pcap");
    auto r = wrap_pcap("/nonexistent/in.pcap", out.string(), WrapConfig{});
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.error().where == "/nonexistent/in.pcap");

    auto raw = temp_path("raw.pcap");
    pcap_t* p = pcap_open_dead(DLT_RAW, 65535);
    pcap_dumper_t* d = pcap_dump_open(p, raw.c_str());
    REQUIRE(d != nullptr);
    pcap_dump_close(d);
    pcap_close(p);
    r = wrap_pcap(raw.string(), out.string(), WrapConfig{});
    REQUIRE_FALSE(r.has_value());
    REQUIRE(r.error().what.find("want Ethernet") != std::string::npos);
    std::filesystem::remove(raw);
    std::filesystem::remove(out);
}

TEST_CASE("wrap mode counts truncated records and wraps what was captured", "[gen]") {
    auto in = temp_path("trunc.pcap"), out = temp_path("trunc-out.pcap");
    pcap_t* p = pcap_open_dead(DLT_EN10MB, 96);
    pcap_dumper_t* d = pcap_dump_open(p, in.c_str());
    REQUIRE(d != nullptr);
    auto f = frame(IpAddr::v4({1, 2, 3, 4}), IpAddr::v4({5, 6, 7, 8}), 1, 2, 500);
    pcap_pkthdr h{};
    h.caplen = 96;
    h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
    pcap_dump_close(d);
    pcap_close(p);
    auto st = wrap_pcap(in.string(), out.string(), WrapConfig{});
    REQUIRE(st.has_value());
    REQUIRE(st->frames == 1);
    REQUIRE(st->truncated == 1);
    auto wrapped = read_all(out.string());
    REQUIRE(wrapped.at(0).first.size() == 96 + 50);
    REQUIRE(std::equal(f.begin(), f.begin() + 96, wrapped[0].first.begin() + 50));
    std::filesystem::remove(in);
    std::filesystem::remove(out);
}
