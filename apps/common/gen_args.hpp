// Command-line pieces shared by the generator programs (vtap-pcap, vtap-gen):
// an option reader that keeps the first problem, the outer VXLAN options and
// the synthesizer's options, so both programs accept the same spellings.
#pragma once

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gen/synth.hpp"

namespace vtap::gen::cli {

// The command's options, checked as they are read. The first problem is kept
// (later reads return defaults) and reported once: "--vni '9999999': ...".
class ArgReader {
public:
    // Options start at argv[first] (after the command word, if any).
    ArgReader(int argc, char** argv, std::vector<std::string_view> valued, std::vector<std::string_view> flags, int first = 2) {
        auto known = [](const auto& list, std::string_view a) { return std::find(list.begin(), list.end(), a) != list.end(); };
        for (int i = first; i < argc && ok(); ++i) {
            std::string_view a = argv[i];
            if (known(flags, a)) {
                args_[std::string(a)] = "";
            } else if (!known(valued, a)) {
                error(std::string("unknown option '") + std::string(a) + "'");
            } else if (i + 1 >= argc) {
                error(std::string(a) + " needs a value");
            } else {
                args_[std::string(a)] = argv[++i];
            }
        }
    }

    bool ok() const { return error_.empty(); }
    const std::string& error_text() const { return error_; }
    void error(std::string what) {
        if (ok()) error_ = std::move(what);
    }
    bool has(const std::string& key) const { return args_.contains(key); }

    std::string text(const std::string& key, bool required = false) {
        auto it = args_.find(key);
        if (it != args_.end()) return it->second;
        if (required) error(key + " is required");
        return "";
    }

    template <class T>
    T number(const std::string& key, T lo, T hi, T def) {
        auto it = args_.find(key);
        if (it == args_.end()) return def;
        const std::string& v = it->second;
        int base = v.starts_with("0x") ? 16 : 10;
        const char* first = v.data() + (base == 16 ? 2 : 0);
        T n{};
        auto [ptr, ec] = std::from_chars(first, v.data() + v.size(), n, base);
        if (ec == std::errc{} && ptr == v.data() + v.size() && first != ptr && n >= lo && n <= hi) return n;
        error(key + " '" + v + "': want an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
        return def;
    }

    double fraction(const std::string& key, double def) {
        auto it = args_.find(key);
        if (it == args_.end()) return def;
        const std::string& v = it->second;
        double d = 0;
        auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
        if (ec == std::errc{} && ptr == v.data() + v.size() && d >= 0 && d <= 1) return d;
        error(key + " '" + v + "': want a number in 0..1");
        return def;
    }

    // Applies a lib/gen parser to the option's value, if given.
    template <class T, class Parse>
    void parsed(const std::string& key, T& into, Parse parse) {
        if (!has(key)) return;
        auto r = parse(args_.at(key));
        if (r) into = *r;
        else error(key + ": " + r.error().to_string());
    }

    std::vector<Ipv4> ipv4_list(const std::string& key, std::vector<Ipv4> def) {
        if (!has(key)) return def;
        std::vector<Ipv4> out;
        std::string_view v = args_.at(key);
        for (size_t start = 0; start <= v.size();) {
            size_t comma = std::min(v.find(',', start), v.size());
            auto a = parse_ipv4(v.substr(start, comma - start));
            if (!a) {
                error(key + ": " + a.error().what);
                return def;
            }
            out.push_back(*a);
            start = comma + 1;
        }
        return out;
    }

private:
    std::map<std::string, std::string> args_;
    std::string error_;
};

inline const std::vector<std::string_view> kCommonValued = {"--vni",        "--tap-src",    "--collector",   "--udp-port", "--src-port",
                                                     "--outer-vlan", "--vxlan-flags", "--summary-json", "--out",
                                                     "--outer-dst-mac", "--outer-src-mac"};

inline VtapOptions vtap_options(ArgReader& a) {
    VtapOptions o;
    o.vni = Vni{a.number<uint32_t>("--vni", 0, 0xffffff, o.vni.value)};
    a.parsed("--collector", o.collector, parse_ipv4);
    a.parsed("--outer-dst-mac", o.outer_dst_mac, parse_mac);  // the collector NIC (a real port)
    a.parsed("--outer-src-mac", o.outer_src_mac, parse_mac);
    o.udp_dst_port = a.number<uint16_t>("--udp-port", 1, 65535, o.udp_dst_port);
    if (a.has("--src-port")) o.fixed_src_port = a.number<uint16_t>("--src-port", 1, 65535, 1);
    if (a.has("--outer-vlan")) o.outer_vlan = a.number<uint16_t>("--outer-vlan", 0, 4095, 0);
    o.vxlan_flags = a.number<uint8_t>("--vxlan-flags", 0, 255, o.vxlan_flags);
    o.set_reserved = a.has("--set-reserved");
    return o;
}

// "HTTP,TLS,DNS,ECHO" relative weights.
inline Result<Mix> parse_mix(std::string_view m) {
    double w[4] = {};
    size_t start = 0;
    for (int i = 0; i < 4; ++i) {
        size_t end = i < 3 ? m.find(',', start) : m.size();
        if (end == std::string_view::npos) return fail("", std::string("'") + std::string(m) + "': want four weights HTTP,TLS,DNS,ECHO");
        auto [ptr, ec] = std::from_chars(m.data() + start, m.data() + end, w[i]);
        if (ec != std::errc{} || ptr != m.data() + end || w[i] < 0)
            return fail("", std::string("'") + std::string(m) + "': weights are non-negative numbers");
        start = end + 1;
    }
    return Mix{w[0], w[1], w[2], w[3]};
}

// The synthesizer's options (everything `vtap-pcap synth` takes besides --out).
inline const std::vector<std::string_view> kSynthValued = {
    "--flows", "--seed", "--size", "--ipv6-share", "--vlan", "--peer-net", "--mix", "--plant", "--plant-rate",
    "--plant-in", "--two-tap-share", "--frag-mtu", "--packets-max"};
inline const std::vector<std::string_view> kSynthFlags = {"--two-taps", "--set-reserved"};

inline SynthConfig synth_config(ArgReader& a) {
    SynthConfig c;
    c.flows = a.number<uint32_t>("--flows", 1, 10'000'000, c.flows);
    c.seed = a.number<uint64_t>("--seed", 0, UINT64_MAX, c.seed);
    a.parsed("--size", c.size, parse_size);
    c.ipv6_share = a.fraction("--ipv6-share", 0);
    if (a.has("--vlan")) c.inner_vlan = a.number<uint16_t>("--vlan", 0, 4095, 0);
    c.tap_srcs = a.ipv4_list("--tap-src", c.tap_srcs);
    a.parsed("--peer-net", c.peer_net, parse_ipv4_net);
    a.parsed("--mix", c.mix, parse_mix);
    c.plant = a.text("--plant");
    c.plant_rate = a.fraction("--plant-rate", c.plant.empty() ? 0 : 0.1);
    if (a.has("--plant-in") && a.text("--plant-in") != "any") {
        App app{};
        a.parsed("--plant-in", app, parse_app);
        c.plant_app = app;
    }
    c.two_tap_share = a.has("--two-taps") ? 1.0 : a.fraction("--two-tap-share", 0);
    c.frag_mtu = a.number<size_t>("--frag-mtu", 0, 65535, 0);
    c.packets_max = a.number<uint64_t>("--packets-max", 0, UINT64_MAX, 0);
    c.vtap = vtap_options(a);
    return c;
}

}  // namespace vtap::gen::cli
