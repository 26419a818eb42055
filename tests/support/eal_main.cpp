// Catch2 main for [eal] tests: starts the real DPDK EAL without hugepages or
// PCI (vdevs only), registers vtapd's mbuf dynfield, then runs the tests.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "core/pkt_meta.hpp"

int main(int argc, char** argv) {
    // A per-process file prefix keeps parallel test binaries apart.
    // --no-shconf, not --in-memory: DPDK 22.11 turns --no-huge into legacy
    // memory mode and then rejects --in-memory ("Option --legacy-mem is not
    // compatible with --in-memory"); --no-shconf keeps the run file-free too.
    std::string prefix = "--file-prefix=vtaptest" + std::to_string(getpid());
    const char* eal_argv[] = {
        argv[0], "--no-huge", "-m", "512", "--no-shconf", "--no-pci", "-l", "0",
        "--log-level=lib.eal:error", "--no-telemetry", prefix.c_str(),
    };
    int eal_argc = static_cast<int>(sizeof(eal_argv) / sizeof(eal_argv[0]));
    if (rte_eal_init(eal_argc, const_cast<char**>(eal_argv)) < 0) {
        std::fprintf(stderr, "eal_main: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 2;
    }
    if (auto r = vtap::register_pkt_meta(); !r) {
        std::fprintf(stderr, "eal_main: %s\n", r.error().to_string().c_str());
        return 2;
    }
    int rc = Catch::Session().run(argc, argv);
    // --no-shconf still creates an (empty) runtime dir; don't leave one per run.
    const std::string run_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    ::rmdir(run_dir.c_str());
    return rc;
}
