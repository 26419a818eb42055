// A network namespace and a veth pair for root-only tests, with names unique
// to the process; removed by the destructor, which also runs when a REQUIRE
// throws. IPv6 is turned off on both ends before they come up, so no router
// solicitations or MLD reports mix into what a test counts.
#pragma once

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace vtap::test {

inline int run_quiet(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

struct VethNetns {
    std::string ns, host, peer;
    std::string host_cidr, peer_cidr;  // e.g. 198.18.0.1/30, 198.18.0.2/30
    unsigned mtu = 0;                  // 0 = leave the default

    // `tag` keeps concurrent tests apart; interface names stay within IFNAMSIZ.
    VethNetns(const std::string& tag, std::string host_addr, std::string peer_addr, unsigned mtu_ = 0)
        : ns("vtapd-" + tag + "-" + std::to_string(getpid())),
          host("vt" + tag.substr(0, 1) + std::to_string(getpid()) + "h"),
          peer("vt" + tag.substr(0, 1) + std::to_string(getpid()) + "n"),
          host_cidr(std::move(host_addr)), peer_cidr(std::move(peer_addr)), mtu(mtu_) {}

    bool create() {
        const bool ok = run_quiet("ip netns add " + ns) == 0 &&
                        run_quiet("ip link add " + host + " type veth peer name " + peer) == 0 &&
                        run_quiet("ip link set " + peer + " netns " + ns) == 0 &&
                        run_quiet("sysctl -qw net.ipv6.conf." + host + ".disable_ipv6=1") == 0 &&
                        run_quiet("ip netns exec " + ns + " sysctl -qw net.ipv6.conf." + peer + ".disable_ipv6=1") == 0;
        if (!ok) return false;
        if (mtu && (run_quiet("ip link set " + host + " mtu " + std::to_string(mtu)) != 0 ||
                    run_quiet("ip -n " + ns + " link set " + peer + " mtu " + std::to_string(mtu)) != 0))
            return false;
        return run_quiet("ip addr add " + host_cidr + " dev " + host) == 0 &&
               run_quiet("ip -n " + ns + " addr add " + peer_cidr + " dev " + peer) == 0 &&
               run_quiet("ip link set " + host + " up") == 0 &&
               run_quiet("ip -n " + ns + " link set " + peer + " up") == 0;
    }
    ~VethNetns() {
        run_quiet("ip netns del " + ns);  // takes the peer, and so the pair, with it
        run_quiet("ip link del " + host);
    }
};

}  // namespace vtap::test
