// pmd_available(): is a PMD part of the DPDK this process runs with?
//
// DPDK keeps no public list of registered drivers (the vdev and PCI driver
// lists are bus internals), and probing a vdev to find out would create a
// device. What is observable and honest:
//  1. A shared DPDK (Debian's) loads every PMD as a plugin from
//     RTE_EAL_PMD_PATH during rte_eal_init, and -d loads more: after EAL init
//     the PMD's librte_<pmd>.so is mapped into the process (/proc/self/maps).
//  2. Before EAL init (eal_args), the plugin file in RTE_EAL_PMD_PATH is what
//     EAL will load.
//  3. A static DPDK has no plugin directory; its PMDs are linked in, exactly
//     those rte_build_config.h lists (RTE_NET_<X>), which each Family records.
#include <sys/stat.h>

#include <fstream>
#include <string>

#include <rte_build_config.h>

#include "drivers/driver.hpp"
#include "drivers/family.hpp"

namespace vtap::drivers {
namespace {

#ifdef RTE_EAL_PMD_PATH
constexpr const char* kPluginDir = RTE_EAL_PMD_PATH;
#else
constexpr const char* kPluginDir = "";
#endif

bool mapped_in_process(const std::string& lib) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const std::string needle = "/" + lib;  // "/librte_net_null.so" matches ".so.23.0" too
    while (std::getline(maps, line))
        if (line.find(needle) != std::string::npos) return true;
    return false;
}

bool is_dir(const std::string& path) {
    struct stat st{};
    return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
    struct stat st{};
    return stat(path.c_str(), &st) == 0;
}

}  // namespace

bool pmd_available(std::string_view pmd) {
    if (pmd.empty()) return false;
    const std::string lib = cat("librte_", pmd, ".so");
    if (mapped_in_process(lib)) return true;
    const std::string dir = kPluginDir;
    if (is_dir(dir)) return exists(dir + "/" + lib);
    const Family* fam = find_family_by_pmd(pmd);
    return fam != nullptr && fam->in_build_config;
}

}  // namespace vtap::drivers
