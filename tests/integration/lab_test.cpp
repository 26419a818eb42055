// scripts/lab end to end: vm1 (tapped by the kernel's VXLAN + tc mirred)
// polls the web servers on vm2 and vm3; vtapd in the collector namespace
// must alert on the requests and on the responses, with each response in the
// same flow (so on the same worker) as its request; the collector must answer
// ping and the health probe through vtapd's exception path; `down` must
// leave nothing behind, also after vtapd was killed. Root only (exit 77).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/flat_json.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
using namespace std::chrono_literals;

namespace {

const bool kRoot = [] {
    if (geteuid() != 0) {
        std::printf("SKIP: the lab needs root (network namespaces, tc, VXLAN)\n");
        std::exit(77);
    }
    return true;
}();

constexpr unsigned kFlowIdBits = 46;  // lib/flow/flow_table.cpp: worker id above these bits
const std::string kVm1Underlay = "198.18.20.1", kCollector = "198.18.20.2";

// One lab instance with names of its own, so it never meets a user's lab.
struct Lab {
    std::string prefix = "vtlt" + std::to_string(getpid());
    TempDir dir;
    std::string env;

    Lab() {
        env = "LAB_PREFIX=" + prefix + " LAB_DIR=" + dir.path + " LAB_VNI=4242 LAB_WORKERS=2 LAB_POLL_S=0.2 VTAPD=" +
              vtapd_path() + " ";
    }
    ~Lab() { run("down"); }
    Output run(const std::string& cmd) const {
        return run_cmd(env + env_or("VTAP_SOURCE_ROOT", ".") + "/scripts/lab " + cmd);
    }
    Output in(const std::string& ns, const std::string& cmd) const {
        return run_cmd("ip netns exec " + prefix + "-" + ns + " " + cmd);
    }
    std::string log() const { return read_file(dir / "vtapd.log"); }
    double counter(const std::string& name) const {
        auto j = parse_flat_json(telemetry_query(prefix, "/vtap/stats"));
        auto it = j.numbers.find("/vtap/stats." + name);
        if (it == j.numbers.end()) throw std::runtime_error("telemetry has no " + name);
        return it->second;
    }
    std::vector<std::string> namespaces() const {
        std::vector<std::string> out;
        std::stringstream ss(run_cmd("ip netns list").text);
        for (std::string line; std::getline(ss, line);)
            if (line.starts_with(prefix + "-")) out.push_back(line);
        return out;
    }
};

struct Alert {
    uint64_t flow_id = 0;
    unsigned sid = 0;
    std::string src_ip, dest_ip, tunnel_src;
    unsigned src_port = 0, dest_port = 0, vni = 0;
};

std::vector<Alert> alerts_in(const std::string& log) {
    static const std::regex re(
        R"re("flow_id":(\d+).*"src_ip":"([\d.]+)","src_port":(\d+),"dest_ip":"([\d.]+)","dest_port":(\d+).*"tunnel":\{"src_ip":"([\d.]+)".*"vxlan_vni":(\d+).*"signature_id":(\d+))re");
    std::vector<Alert> out;
    std::stringstream ss(log);
    for (std::string line; std::getline(ss, line);) {
        std::smatch m;
        if (!line.starts_with("{\"timestamp\"") || !std::regex_search(line, m, re)) continue;
        out.push_back({std::stoull(m[1]), static_cast<unsigned>(std::stoul(m[8])), m[2], m[4], m[6],
                       static_cast<unsigned>(std::stoul(m[3])), static_cast<unsigned>(std::stoul(m[5])),
                       static_cast<unsigned>(std::stoul(m[7]))});
    }
    return out;
}

}  // namespace

TEST_CASE("the lab's tapped conversations reach vtapd in both directions, each on one worker, and the collector "
          "answers ping and the health probe through the exception path", "[integration][lab]") {
    Lab lab;
    const Output up = lab.run("up");
    INFO(up.text);
    INFO(lab.log());
    REQUIRE(up.status == 0);
    CHECK(lab.run("up").text.find("already up") != std::string::npos);  // idempotent

    // Let vm1 poll for a while: at 5 polls a second, >= 20 conversations.
    std::map<unsigned, unsigned> by_sid;
    for (auto end = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < end;) {
        std::this_thread::sleep_for(500ms);
        by_sid.clear();
        for (const auto& a : alerts_in(lab.log())) by_sid[a.sid]++;
        if (by_sid[9100001] >= 20 && by_sid[9100002] >= 10 && by_sid[9100003] >= 10) break;
    }

    // The exception path: ARP (vm1 resolves the collector), ping, the health
    // probe on tcp:8081 answered 200; tcp:80 is not forwarded.
    const Output ping = lab.in("vm1", "ping -c 3 -i 0.2 -W 2 " + kCollector);
    INFO(ping.text);
    CHECK(ping.status == 0);
    CHECK(ping.text.find("3 received") != std::string::npos);
    const Output probe = lab.in("vm1", "curl -s -m 3 -w ' %{http_code}' http://" + kCollector + ":8081/health");
    INFO(probe.text);
    CHECK(probe.text.find("{\"status\":\"ok\"") == 0);
    CHECK(probe.text.ends_with(" 200"));
    const Output closed = lab.in("vm1", "curl -s -m 1 http://" + kCollector + ":80/");
    CHECK(closed.status != 0);
    CHECK(lab.counter("exception.forward.arp") >= 1);
    CHECK(lab.counter("exception.forward.icmp") >= 3);
    CHECK(lab.counter("exception.forward.tcp_8081") >= 3);  // SYN, request, ACKs
    CHECK(lab.counter("exception.not_forwarded") >= 1);     // the SYN to port 80
    CHECK(lab.counter("exception.tx") >= 4);                // ARP reply, echo replies, SYN-ACK, response
    CHECK(lab.counter("exception.tx_dropped") == 0);
    CHECK(lab.counter("exception.to_kernel_dropped") == 0);
    CHECK(lab.counter("health.ok") == 1);
    CHECK(lab.counter("decap.source_denied") == 0);

    const Output down = lab.run("down");
    REQUIRE(down.status == 0);
    const std::string log = lab.log();
    INFO(log);
    const auto alerts = alerts_in(log);
    REQUIRE(alerts.size() > 0);

    // Every alert came through the tap of vm1 with the configured VNI.
    for (const auto& a : alerts) {
        CHECK(a.tunnel_src == kVm1Underlay);
        CHECK(a.vni == 4242);
    }
    // Requests (vm1 -> vm2/vm3:80) and responses (:80 -> vm1), keyed by the
    // client's port; a response must carry its request's flow_id.
    std::map<unsigned, uint64_t> request_flow;  // client port -> flow_id
    for (const auto& a : alerts)
        if (a.sid == 9100001) {
            CHECK(a.src_ip == "198.18.10.11");
            CHECK(a.dest_port == 80);
            request_flow[a.src_port] = a.flow_id;
        }
    unsigned paired = 0, responses = 0;
    std::set<uint64_t> workers;
    for (const auto& a : alerts) {
        if (a.sid != 9100002 && a.sid != 9100003) continue;
        responses++;
        CHECK(a.dest_ip == "198.18.10.11");
        CHECK(a.src_ip == (a.sid == 9100002 ? "198.18.10.12" : "198.18.10.13"));
        auto it = request_flow.find(a.dest_port);
        if (it == request_flow.end()) continue;  // request alerted before vtapd listened
        paired++;
        CHECK(it->second == a.flow_id);
        workers.insert(a.flow_id >> kFlowIdBits);
    }
    CHECK(request_flow.size() >= 20);
    CHECK(responses >= 20);
    CHECK(paired >= responses - 2);
    // Two workers and >= 20 conversations with random client ports: both get
    // some (all on one would have probability 2^-19).
    CHECK(workers == std::set<uint64_t>{0, 1});

    const auto stats = read_stats(lab.dir / "stats.json");
    CHECK(stats.at("decap.delivered") == stats.at("worker0.packets") + stats.at("worker1.packets"));
    CHECK(stats.at("decap.vni_denied") == 0);
    CHECK(lab.namespaces().empty());
}

TEST_CASE("lab down removes every namespace and process, also after vtapd was killed", "[integration][lab]") {
    Lab lab;
    const Output up = lab.run("up");
    INFO(up.text);
    REQUIRE(up.status == 0);
    CHECK(lab.namespaces().size() == 5);  // sw, vm1..vm3, collector
    const std::string pid = read_file(lab.dir / "vtapd.pid");
    REQUIRE(std::system(("kill -9 " + pid).c_str()) == 0);
    CHECK(lab.run("status").status != 0);  // vtapd not running
    REQUIRE(lab.run("down").status == 0);
    CHECK(lab.namespaces().empty());
    CHECK(run_cmd("test -e " + dpdk_runtime_dir(lab.prefix)).status != 0);
    CHECK(lab.run("status").text.find("down") != std::string::npos);
}
