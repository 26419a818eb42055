// main() for benchmarks that need the DPDK EAL (mbufs, rings, mempools):
// starts EAL without hugepages or PCI (--no-shconf: DPDK 22.11 rejects
// --in-memory with --no-huge), registers vtapd's mbuf dynfield, runs the
// registered benchmarks, and removes the runtime directory EAL leaves.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "core/pkt_meta.hpp"

int main(int argc, char** argv) {
    const std::string prefix = "--file-prefix=vtapbench" + std::to_string(getpid());
    const char* eal_argv[] = {argv[0], "--no-huge", "-m", "512", "--no-shconf", "--no-pci", "-l", "0",
                              "--log-level=lib.eal:error", "--no-telemetry", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "%s: rte_eal_init failed: %s\n", argv[0], rte_strerror(rte_errno));
        return 2;
    }
    if (auto r = vtap::register_pkt_meta(); !r) {
        std::fprintf(stderr, "%s: %s\n", argv[0], r.error().to_string().c_str());
        return 2;
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    rmdir(runtime_dir.c_str());
    return 0;
}
