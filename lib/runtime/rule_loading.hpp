// Rule files -> compiled detection database, with the report an operator
// reads (vtapd --test-rules prints it; vtapd prints its summary line at
// start). Control path.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "detect/database.hpp"

namespace vtap::runtime {

struct LoadedRules {
    std::shared_ptr<const detect::Database> db;
    std::map<std::string, std::pair<std::string, uint8_t>> classes;
    std::string report;    // per-file load report + compile statistics
    std::string summary;   // one line
    uint32_t errors = 0;   // rule syntax errors + rules the compiler rejected
};

// Fails only when a file cannot be read or Hyperscan fails; rule errors are
// counted in `errors` and listed in `report`.
Result<LoadedRules> load_and_compile(const config::DetectConfig& dc);

}  // namespace vtap::runtime
