// vtapd live on net_af_packet: a veth pair whose peer lives in a network
// namespace this test creates; vtapd listens on the host end, a raw socket
// in the namespace replays a vtap-pcap capture into the peer at a bounded
// rate, and every frame sent must be received, decapsulated and seen by a
// worker, exactly. Needs root: without it the binary exits 77 (skipped).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "support/flat_json.hpp"
#include "support/netns.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
using namespace std::chrono_literals;

namespace {

// Runs before main, so nothing is set up when the test cannot run.
const bool kRoot = [] {
    if (geteuid() != 0) {
        std::printf("SKIP: needs root for network namespaces\n");
        std::exit(77);
    }
    return true;
}();

const std::string kVtapPcap = env_or("VTAP_PCAP", "apps/vtap-pcap/vtap-pcap");
constexpr unsigned kPacketsPerSecond = 2000;

struct Sent {
    std::string error;
    unsigned frames = 0;
};

// Sends `frames` out of `iface` in namespace `ns`, one every 1/pps seconds.
// setns() moves only the calling thread, so the sender has its own.
Sent send_paced(const std::string& ns, const std::string& iface, const std::vector<std::vector<uint8_t>>& frames,
                unsigned pps) {
    Sent out;
    std::thread sender([&] {
        int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
            out.error = "setns " + ns + ": " + std::strerror(errno);
            if (nsfd >= 0) close(nsfd);
            return;
        }
        close(nsfd);
        int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: sends only, receives nothing
        if (fd < 0) {
            out.error = "socket: " + std::string(std::strerror(errno));
            return;
        }
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
        to.sll_halen = 6;
        const auto period = std::chrono::nanoseconds(1000000000 / pps);
        const auto t0 = std::chrono::steady_clock::now();
        for (size_t i = 0; i < frames.size(); i++) {
            std::this_thread::sleep_until(t0 + period * i);
            const auto& f = frames[i];
            if (sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) !=
                static_cast<ssize_t>(f.size())) {
                out.error = "sendto frame " + std::to_string(i) + " (" + std::to_string(f.size()) +
                            " bytes): " + std::strerror(errno);
                break;
            }
            out.frames++;
        }
        close(fd);
    });
    sender.join();
    return out;
}

double live_counter(const std::string& prefix, const std::string& name) {
    auto j = parse_flat_json(telemetry_query(prefix, "/vtap/stats"));
    auto it = j.numbers.find("/vtap/stats." + name);
    if (it == j.numbers.end()) throw std::runtime_error("telemetry has no " + name);
    return it->second;
}

}  // namespace

TEST_CASE("vtapd on af_packet receives, decapsulates and works every frame replayed into a veth", "[integration][live]") {
    TempDir dir;
    // IPv6 is off (support/netns.hpp), the IPv4 addresses are never used as
    // destinations (no ARP), and the replayed frames are addressed to a MAC
    // that is not the host end's, so its kernel drops them without
    // answering: the only frames on the wire are ours. 1564-byte outer
    // frames (1500-byte inner IP + 50 + 14) need MTU 1600.
    vtap::test::VethNetns net("live", "198.18.200.1/30", "198.18.200.2/30", 1600);
    REQUIRE(net.create());

    const std::string capture = dir / "vtap.pcap", summary = dir / "summary.json";
    auto gen = run_cmd(kVtapPcap + " synth --out " + capture + " --flows 30 --seed 5 --size imix --ipv6-share 0.2" +
                       " --summary-json " + summary);
    INFO(gen.text);
    REQUIRE(gen.status == 0);
    const auto frames = read_pcap(capture);
    const auto sum = parse_flat_json(read_file(summary));
    REQUIRE(frames.size() == sum.numbers.at("frames"));
    REQUIRE(frames.size() >= 200);

    VtapdConfig vc;
    vc.prefix = eal_prefix("live");
    vc.ports = "  - driver: af_packet\n    iface: " + net.host + "\n    promiscuous: true\n";
    vc.workers = 1;
    const std::string cfg = write_vtapd_config(dir / "vtapd.yaml", vc);
    const std::string stats = dir / "stats.json";
    Background vtapd({vtapd_path(), "-c", cfg, "--stats-file", stats}, dir / "vtapd.log");
    REQUIRE(vtapd.wait_for_output("vtapd: running", 15s));
    INFO(vtapd.output());

    // A quiet spell first: nothing but our replay may reach the port.
    std::this_thread::sleep_for(300ms);
    CHECK(live_counter(vc.prefix, "rx.packets") == 0);

    const auto start = std::chrono::steady_clock::now();
    const Sent sent = send_paced(net.ns, net.peer, frames, kPacketsPerSecond);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(sent.error == "");
    REQUIRE(sent.frames == frames.size());
    // Bounded rate: the replay took at least (n - 1) periods.
    CHECK(seconds >= (frames.size() - 1) / double(kPacketsPerSecond));

    // Wait until the port has everything (or time out), then a little more
    // so that a stray extra frame would be counted too.
    for (auto end = std::chrono::steady_clock::now() + 5s;
         std::chrono::steady_clock::now() < end && live_counter(vc.prefix, "rx.packets") < sent.frames;)
        std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(300ms);
    REQUIRE(vtapd.stop(SIGTERM) == 0);

    auto s = read_stats(stats);
    CHECK(s["rx.packets"] == sent.frames);
    CHECK(s["port.af_packet0.ipackets"] == sent.frames);
    CHECK(s["port.af_packet0.imissed"] == 0);
    CHECK(s["decap.delivered"] == sent.frames);
    CHECK(s["drops.total"] == 0);
    CHECK(s["shard.ring_full"] == 0);
    CHECK(s["worker.packets"] == sent.frames);
    CHECK(s["worker0.packets"] == sent.frames);
    // Inner bytes and conversations as the generator wrote them.
    CHECK(s["worker.bytes"] == sum.numbers.at("inner_bytes"));
    CHECK(s["worker.flows"] == sum.numbers.at("flows"));
}
