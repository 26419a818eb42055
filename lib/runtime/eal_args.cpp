#include "runtime/eal_args.hpp"

#include <sched.h>

#include "drivers/driver.hpp"

namespace vtap::runtime {

unsigned lcores_needed(const config::PipelineConfig& p) { return 1u + p.rx_lcores + p.workers; }

std::vector<unsigned> allowed_cpus() {
    std::vector<unsigned> cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        for (unsigned c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) cpus.push_back(c);
    if (cpus.empty()) cpus.push_back(0);
    return cpus;
}

namespace {

bool has_lcore_option(const std::vector<std::string>& args) {
    for (const auto& a : args)
        if (a == "-l" || a == "-c" || a.starts_with("--lcores") || a.starts_with("-l") ||
            (a.starts_with("-c") && a.size() > 2))
            return true;
    return false;
}

}  // namespace

Result<std::vector<std::string>> build_eal_args(const config::Config& cfg, const std::string& argv0,
                                                const std::vector<unsigned>& cpus) {
    std::vector<std::string> args{argv0};
    args.insert(args.end(), cfg.eal_args.begin(), cfg.eal_args.end());
    for (unsigned i = 0; i < cfg.ports.size(); i++) {
        auto extra = drivers::eal_args(cfg.ports[i], i);
        if (!extra) return std::unexpected(extra.error());
        args.insert(args.end(), extra->begin(), extra->end());
    }
    // No port on a PCI bus and no PCI choice by the user: keep EAL's hands
    // off the host's own NICs (it would otherwise probe every PCI device).
    bool pci_named = false;
    for (const auto& a : args)
        if (a == "-a" || a == "-b" || a.starts_with("--allow") || a.starts_with("--block") || a == "--no-pci")
            pci_named = true;
    if (!pci_named) args.push_back("--no-pci");

    if (!has_lcore_option(cfg.eal_args)) {
        // --lcores=0@C0,1@C1,...: lcore ids are dense, CPUs may repeat.
        const unsigned n = lcores_needed(cfg.pipeline);
        std::string map = "--lcores=";
        // Data lcores take CPUs in order; the main lcore, which mostly sleeps,
        // shares the last CPU.
        for (unsigned l = 0; l < n; l++) {
            unsigned cpu = l == 0 ? cpus.back() : cpus[(l - 1) % cpus.size()];
            if (l) map += ',';
            map += std::to_string(l) + "@" + std::to_string(cpu);
        }
        args.push_back(map);
    }
    return args;
}

}  // namespace vtap::runtime
