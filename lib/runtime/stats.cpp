#include "runtime/stats.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <rte_telemetry.h>

namespace vtap::runtime {

uint64_t StatsSnapshot::get(std::string_view name) const {
    for (const auto& [k, v] : values)
        if (k == name) return v;
    return 0;
}

namespace {

bool is_drop_counter(std::string_view name) {
    return name.starts_with("decap.") && name != "decap.delivered";
}

}  // namespace

std::string format_table(const StatsSnapshot& s) {
    std::string out;
    char line[160];
    std::snprintf(line, sizeof line, "%-40s %20.3f\n", "elapsed_s", s.elapsed_s);
    out += line;
    for (const auto& [k, v] : s.values) {
        if (v == 0 && (is_drop_counter(k) || k == "shard.ring_full" || k.ends_with("flow_table_full")))
            continue;
        std::snprintf(line, sizeof line, "%-40s %20" PRIu64 "\n", k.c_str(), v);
        out += line;
    }
    return out;
}

std::string format_json(const StatsSnapshot& s) {
    std::string out = "{";
    char num[64];
    std::snprintf(num, sizeof num, "\"elapsed_s\": %.6f", s.elapsed_s);
    out += num;
    for (const auto& [k, v] : s.values) {
        // Counter names are [a-z0-9_.] by construction: no escaping needed,
        // but refuse anything else rather than emit broken JSON.
        out += ", \"";
        for (char c : k) out += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
        std::snprintf(num, sizeof num, "\": %" PRIu64, v);
        out += num;
    }
    out += "}\n";
    return out;
}

Result<void> write_json(const StatsSnapshot& s, const std::string& path) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f) return fail(path, std::string("cannot write statistics: ") + std::strerror(errno));
        f << format_json(s);
        if (!f.flush()) return fail(path, std::string("cannot write statistics: ") + std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        return fail(path, std::string("cannot rename statistics file: ") + std::strerror(errno));
    return {};
}

namespace {

std::function<StatsSnapshot()> g_source;

int telemetry_stats(const char*, const char*, struct rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    if (!g_source) return 0;
    StatsSnapshot s = g_source();
    for (const auto& [k, v] : s.values) rte_tel_data_add_dict_u64(d, k.c_str(), v);
    return 0;
}

}  // namespace

Result<void> register_telemetry(std::function<StatsSnapshot()> source) {
    g_source = std::move(source);
    int rc = rte_telemetry_register_cmd("/vtap/stats", telemetry_stats,
                                        "vtapd counters: rx, decap drops by reason, shard, workers, ports");
    if (rc != 0) return fail("telemetry", "cannot register /vtap/stats: " + std::string(std::strerror(-rc)));
    return {};
}

}  // namespace vtap::runtime
