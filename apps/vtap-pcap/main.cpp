// vtap-pcap: writes VTAP-shaped captures for tests, the demo and benchmarks.
//   vtap-pcap synth --out FILE [options]   synthesize conversations
//   vtap-pcap wrap --in FILE --out FILE    VTAP-wrap every frame of a capture
// Parses arguments, calls lib/gen, prints a one-line summary (and JSON with
// --summary-json). Exit 0 ok, 1 runtime failure (files), 2 usage error.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gen/synth.hpp"
#include "gen/wrap.hpp"

namespace {

using namespace vtap;
using namespace vtap::gen;

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: vtap-pcap synth --out FILE [--flows N] [--seed S] [--size fixed:N|imix|jumbo]\n"
    "                       [--ipv6-share F] [--vlan ID] [--vni V] [--tap-src A.B.C.D[,...]]\n"
    "                       [--collector A.B.C.D] [--udp-port P] [--src-port P] [--outer-vlan ID]\n"
    "                       [--set-reserved] [--vxlan-flags F] [--peer-net A.B.C.D/len]\n"
    "                       [--mix HTTP,TLS,DNS,ECHO] [--plant STRING --plant-rate F]\n"
    "                       [--plant-in http|tls|dns|echo|any]\n"
    "                       [--two-taps] [--two-tap-share F] [--frag-mtu N] [--packets-max N]\n"
    "                       [--summary-json FILE]\n"
    "       vtap-pcap wrap --in FILE --out FILE [--vni V] [--tap-src A.B.C.D[,...]]\n"
    "                       [--collector A.B.C.D] [--udp-port P] [--src-port P] [--outer-vlan ID]\n"
    "                       [--set-reserved] [--vxlan-flags F] [--summary-json FILE]\n";

constexpr const char* kHelp =
    "\nsynth: N seeded conversations (HTTP, TLS, DNS, ping) of tapped VMs, both directions.\n"
    "  --flows N          conversations (default 100)       --seed S        RNG seed (default 1)\n"
    "  --size M           inner size of payload frames: fixed:N (60..65485), imix, jumbo (9000)\n"
    "  --ipv6-share F     fraction over IPv6 (2001:2::a.b.c.d twins of the IPv4 lab addresses)\n"
    "  --vlan ID          802.1Q tag on every inner frame   --outer-vlan ID  tag on the outer frame\n"
    "  --tap-src LIST     tapped VM addresses = outer sources (default 198.18.0.10,198.18.0.11)\n"
    "  --peer-net CIDR    the VMs' peers (default 198.19.0.0/16)\n"
    "  --two-taps         every conversation between two tapped VMs (seen twice); --two-tap-share F\n"
    "  --plant S          signature written into filler bytes of client-to-server payloads,\n"
    "  --plant-rate F     per segment (default 0.1), --plant-in restricts it to one protocol\n"
    "  --mix H,T,D,E      weights of HTTP, TLS, DNS, echo (default 35,25,30,10)\n"
    "  --frag-mtu N       fragment UDP/ICMP packets larger than N bytes of IP\n"
    "  --packets-max N    stop after N outer frames\n"
    "outer (both commands): --collector A.B.C.D (default 198.18.0.4), --vni V (default 27),\n"
    "  --udp-port P (default 4789), --src-port P (fixed; default a hash of the inner flow),\n"
    "  --vxlan-flags F, --set-reserved (negative tests)\n"
    "wrap: every frame of an Ethernet pcap/pcapng, byte for byte, original timestamps.\n"
    "--summary-json FILE writes the counts. Exit 0 ok, 1 file error, 2 usage error.\n";

// The command's options, checked as they are read. The first problem is kept
// (later reads return defaults) and reported once: "--vni '9999999': ...".
class ArgReader {
public:
    ArgReader(int argc, char** argv, std::vector<std::string_view> valued, std::vector<std::string_view> flags) {
        auto known = [](const auto& list, std::string_view a) { return std::find(list.begin(), list.end(), a) != list.end(); };
        for (int i = 2; i < argc && ok(); ++i) {
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

int usage(const std::string& what) {
    std::fprintf(stderr, "vtap-pcap: %s\n%s", what.c_str(), kUsage);
    return kExitUsage;
}

int runtime_error(const Error& e) {
    std::fprintf(stderr, "vtap-pcap: %s\n", e.to_string().c_str());
    return kExitRuntime;
}

const std::vector<std::string_view> kCommonValued = {"--vni",        "--tap-src",    "--collector",   "--udp-port", "--src-port",
                                                     "--outer-vlan", "--vxlan-flags", "--summary-json", "--out"};

VtapOptions vtap_options(ArgReader& a) {
    VtapOptions o;
    o.vni = Vni{a.number<uint32_t>("--vni", 0, 0xffffff, o.vni.value)};
    a.parsed("--collector", o.collector, parse_ipv4);
    o.udp_dst_port = a.number<uint16_t>("--udp-port", 1, 65535, o.udp_dst_port);
    if (a.has("--src-port")) o.fixed_src_port = a.number<uint16_t>("--src-port", 1, 65535, 1);
    if (a.has("--outer-vlan")) o.outer_vlan = a.number<uint16_t>("--outer-vlan", 0, 4095, 0);
    o.vxlan_flags = a.number<uint8_t>("--vxlan-flags", 0, 255, o.vxlan_flags);
    o.set_reserved = a.has("--set-reserved");
    return o;
}

Result<void> write_json(const std::string& path, const std::vector<std::pair<std::string, uint64_t>>& fields) {
    std::ofstream f(path);
    f << "{";
    for (size_t i = 0; i < fields.size(); ++i) f << (i ? ", " : "") << '"' << fields[i].first << "\": " << fields[i].second;
    f << "}\n";
    f.close();
    if (!f) return fail(path, "cannot write the summary");
    return {};
}

int finish(ArgReader& a, const std::string& line, const std::vector<std::pair<std::string, uint64_t>>& fields) {
    std::printf("%s\n", line.c_str());
    if (a.has("--summary-json"))
        if (auto ok = write_json(a.text("--summary-json"), fields); !ok) return runtime_error(ok.error());
    return 0;
}

// "HTTP,TLS,DNS,ECHO" relative weights.
Result<Mix> parse_mix(std::string_view m) {
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

int synth(int argc, char** argv) {
    std::vector<std::string_view> valued = kCommonValued;
    for (auto v : {"--flows", "--seed", "--size", "--ipv6-share", "--vlan", "--peer-net", "--mix", "--plant", "--plant-rate", "--plant-in",
                   "--two-tap-share", "--frag-mtu", "--packets-max"})
        valued.push_back(v);
    ArgReader a(argc, argv, valued, {"--two-taps", "--set-reserved"});
    SynthConfig c;
    std::string out = a.text("--out", true);
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
    if (!a.ok()) return usage(a.error_text());
    if (auto ok = validate(c); !ok) return usage(ok.error().to_string());

    auto st = synthesize_pcap(c, out);
    if (!st) return runtime_error(st.error());
    std::string line = std::string("vtap-pcap synth: ") + std::to_string(st->frames) + " frames, " + std::to_string(st->flows) +
                       " flows, " + std::to_string(st->planted) + " planted hits, " + std::to_string(st->inner_bytes) +
                       " inner bytes -> " + out;
    return finish(a, line,
                  {{"frames", st->frames}, {"flows", st->flows}, {"planted", st->planted},
                   {"inner_bytes", st->inner_bytes}, {"outer_bytes", st->outer_bytes}, {"tcp_flows", st->tcp_flows},
                   {"udp_flows", st->udp_flows}, {"icmp_flows", st->icmp_flows}, {"ipv6_flows", st->ipv6_flows},
                   {"two_tap_flows", st->two_tap_flows}, {"vni", c.vtap.vni.value}, {"seed", c.seed}});
}

int wrap(int argc, char** argv) {
    std::vector<std::string_view> valued = kCommonValued;
    valued.push_back("--in");
    ArgReader a(argc, argv, valued, {"--set-reserved"});
    WrapConfig c;
    std::string in = a.text("--in", true);
    std::string out = a.text("--out", true);
    c.tap_srcs = a.ipv4_list("--tap-src", c.tap_srcs);
    c.vtap = vtap_options(a);
    if (!a.ok()) return usage(a.error_text());
    if (auto ok = validate(c.vtap); !ok) return usage(ok.error().to_string());

    auto st = wrap_pcap(in, out, c);
    if (!st) return runtime_error(st.error());
    if (st->oversize)
        std::fprintf(stderr, "vtap-pcap: %llu frames too large for one VTAP frame were not written\n",
                     static_cast<unsigned long long>(st->oversize));
    std::string line = std::string("vtap-pcap wrap: ") + std::to_string(st->frames) + " frames, " + std::to_string(st->flows) +
                       " flows, 0 planted hits, " + std::to_string(st->inner_bytes) + " inner bytes -> " + out + " (" +
                       std::to_string(st->truncated) + " truncated, " + std::to_string(st->oversize) + " oversize skipped)";
    return finish(a, line,
                  {{"frames", st->frames}, {"flows", st->flows}, {"planted", 0}, {"inner_bytes", st->inner_bytes},
                   {"outer_bytes", st->outer_bytes}, {"truncated", st->truncated}, {"oversize", st->oversize},
                   {"vni", c.vtap.vni.value}});
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view cmd = argc > 1 ? argv[1] : "";
    if (cmd == "synth") return synth(argc, argv);
    if (cmd == "wrap") return wrap(argc, argv);
    if (cmd == "-h" || cmd == "--help") {
        std::fputs(kUsage, stdout);
        std::fputs(kHelp, stdout);
        return 0;
    }
    return usage(cmd.empty() ? "missing command" : std::string("unknown command '") + std::string(cmd) + "'");
}
