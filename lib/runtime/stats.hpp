// Statistics snapshots: every counter of the pipeline as (name, value),
// names "module.reason" as in core/drop_reasons.def. Rendered as a table for
// people, as flat JSON for scripts and tests, and served live as DPDK
// telemetry /vtap/stats (dpdk-telemetry.py). Control path.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace vtap::runtime {

struct StatsSnapshot {
    std::vector<std::pair<std::string, uint64_t>> values;  // in report order
    double elapsed_s = 0;

    void add(std::string name, uint64_t v) { values.emplace_back(std::move(name), v); }
    // 0 when absent.
    uint64_t get(std::string_view name) const;
};

// Human-readable report; zero drop counters are left out to keep it short.
std::string format_table(const StatsSnapshot& s);
// {"elapsed_s": 1.5, "rx.packets": 10, ...}
std::string format_json(const StatsSnapshot& s);
Result<void> write_json(const StatsSnapshot& s, const std::string& path);

// Registers /vtap/stats; `source` is called on the telemetry thread and must
// only read counters. Returns an error if telemetry is not running. The reply
// nests names at their dots: "decap.wrong_port" is {"decap": {"wrong_port": N}}
// (DPDK 22.11 allows only [A-Za-z0-9_/] in a name).
Result<void> register_telemetry(std::function<StatsSnapshot()> source);
// Detaches the source (DPDK cannot unregister a command): later requests get
// an empty dict. Waits for a request in progress to finish.
void unregister_telemetry();

}  // namespace vtap::runtime
