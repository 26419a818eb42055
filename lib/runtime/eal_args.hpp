// Builds the EAL argument vector: the config's eal.args, what each port needs
// (PCI allow-list entries), and an lcore map when the user gave none.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace vtap::runtime {

// Lcores the pipeline needs: the main (control) lcore + RX lcores + workers.
unsigned lcores_needed(const config::PipelineConfig& p);

// `cpus` are the CPUs this process may run on (sched_getaffinity). When the
// config's EAL args hold no -l/-c/--lcores, lcores are mapped onto them:
// data lcores on CPUs in order, the (mostly sleeping) main lcore on the last
// CPU; with fewer CPUs than lcores they share — correct, but not fast.
Result<std::vector<std::string>> build_eal_args(const config::Config& cfg, const std::string& argv0,
                                                const std::vector<unsigned>& cpus);

std::vector<unsigned> allowed_cpus();

}  // namespace vtap::runtime
