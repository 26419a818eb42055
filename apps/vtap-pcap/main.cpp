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

#include "apps/common/gen_args.hpp"
#include "gen/synth.hpp"
#include "gen/wrap.hpp"

namespace {

using namespace vtap;
using namespace vtap::gen;
using namespace vtap::gen::cli;

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
    "                       [--set-reserved] [--vxlan-flags F] [--copies K] [--summary-json FILE]\n";

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
    "  --outer-dst-mac M (collector NIC, default 00:0d:3a:c0:11:ec), --outer-src-mac M (12:34:56:78:9a:bc),\n"
    "  --udp-port P (default 4789), --src-port P (fixed; default a hash of the inner flow),\n"
    "  --vxlan-flags F, --set-reserved (negative tests)\n"
    "wrap: every frame of an Ethernet pcap/pcapng, byte for byte, original timestamps.\n"
    "  --copies K         write the capture K times (benchmarks): copy c >= 1 carries an inner\n"
    "                     802.1Q tag with VLAN ID c (new flows, same rules) and later timestamps\n"
    "--summary-json FILE writes the counts. Exit 0 ok, 1 file error, 2 usage error.\n";

int usage(const std::string& what) {
    std::fprintf(stderr, "vtap-pcap: %s\n%s", what.c_str(), kUsage);
    return kExitUsage;
}

int runtime_error(const Error& e) {
    std::fprintf(stderr, "vtap-pcap: %s\n", e.to_string().c_str());
    return kExitRuntime;
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

int synth(int argc, char** argv) {
    std::vector<std::string_view> valued = kCommonValued;
    valued.insert(valued.end(), kSynthValued.begin(), kSynthValued.end());
    ArgReader a(argc, argv, valued, kSynthFlags);
    std::string out = a.text("--out", true);
    SynthConfig c = synth_config(a);
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
    valued.push_back("--copies");
    ArgReader a(argc, argv, valued, {"--set-reserved"});
    WrapConfig c;
    std::string in = a.text("--in", true);
    std::string out = a.text("--out", true);
    c.copies = a.number<uint16_t>("--copies", 1, kMaxWrapCopies, 1);
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
                   {"vni", c.vtap.vni.value}, {"copies", c.copies}});
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
