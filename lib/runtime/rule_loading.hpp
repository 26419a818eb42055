// Rule files -> compiled detection database, with the report an operator
// reads (vtapd --test-rules prints it; vtapd prints its summary line at
// start). Control path.
#pragma once

#include <future>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "detect/database.hpp"
#include "rules/parser.hpp"

namespace vtap::runtime {

struct LoadedRules {
    std::shared_ptr<const detect::Database> db;
    std::map<std::string, std::pair<std::string, uint8_t>> classes;
    std::string report;    // per-file load report + compile statistics
    std::string summary;   // one line
    uint32_t errors = 0;   // rule syntax errors + rules the compiler rejected
};

// Rule files parsing, then their Hyperscan databases compiling, on a
// background thread: vtapd brings up EAL, the mempool and the ports
// meanwhile, so a start costs max(parse + compile, bring-up), not the sum
// (with a warm cache, parsing 25k ET Open rules is most of the rules' part).
struct PendingRules {
    std::future<Result<LoadedRules>> loaded;
};

// Starts the work; never blocks on it.
PendingRules start_loading(const config::DetectConfig& dc);

// Waits for it. Fails when a rule file cannot be read or Hyperscan fails;
// rule errors are counted in `errors` and listed in `report`.
Result<LoadedRules> finish_loading(PendingRules pending);

// Both in one call (vtapd --test-rules, benchmarks).
Result<LoadedRules> load_and_compile(const config::DetectConfig& dc);

}  // namespace vtap::runtime
