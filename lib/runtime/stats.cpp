#include "runtime/stats.hpp"

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>

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

// The telemetry thread reads the source while the control thread may clear
// it on shutdown: the lock keeps a request from outliving the pipeline.
std::mutex g_source_lock;
std::function<StatsSnapshot()> g_source;

// DPDK 22.11 telemetry refuses dict names with anything but [A-Za-z0-9_/]
// (rte_tel_data_add_dict_u64 returns -EINVAL for "decap.wrong_port"), so the
// dotted names are served as nested dicts: counter "decap.wrong_port" is
// reply["/vtap/stats"]["decap"]["wrong_port"], the same name as a JSON path.
struct TelNode {
    std::string name;
    uint64_t value = 0;
    bool leaf = false;
    std::vector<TelNode> kids;

    TelNode& kid(std::string_view n) {
        for (auto& k : kids)
            if (k.name == n) return k;
        kids.push_back(TelNode{std::string(n)});
        return kids.back();
    }
};

std::string tel_name(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
    return out;
}

void tel_emit(rte_tel_data* d, const TelNode& n) {
    for (const auto& k : n.kids) {
        if (k.kids.empty()) {
            rte_tel_data_add_dict_u64(d, k.name.c_str(), k.value);
            continue;
        }
        rte_tel_data* c = rte_tel_data_alloc();
        if (!c) return;
        rte_tel_data_start_dict(c);
        // Never both a counter and a prefix by construction; keep the value if so.
        if (k.leaf) rte_tel_data_add_dict_u64(c, "value", k.value);
        tel_emit(c, k);
        if (rte_tel_data_add_dict_container(d, k.name.c_str(), c, 0) != 0) rte_tel_data_free(c);
    }
}

int telemetry_stats(const char*, const char*, struct rte_tel_data* d) {
    rte_tel_data_start_dict(d);
    std::lock_guard lock(g_source_lock);
    if (!g_source) return 0;
    StatsSnapshot s = g_source();
    TelNode root;
    for (const auto& [k, v] : s.values) {
        TelNode* n = &root;
        for (size_t b = 0;;) {
            size_t e = k.find('.', b);
            n = &n->kid(tel_name(std::string_view(k).substr(b, e == std::string::npos ? e : e - b)));
            if (e == std::string::npos) break;
            b = e + 1;
        }
        n->leaf = true;
        n->value = v;
    }
    tel_emit(d, root);
    return 0;
}

}  // namespace

Result<void> register_telemetry(std::function<StatsSnapshot()> source) {
    {
        std::lock_guard lock(g_source_lock);
        g_source = std::move(source);
    }
    int rc = rte_telemetry_register_cmd("/vtap/stats", telemetry_stats,
                                        "vtapd counters, nested by name: decap.wrong_port is .decap.wrong_port");
    if (rc != 0) return fail("telemetry", "cannot register /vtap/stats: " + std::string(std::strerror(-rc)));
    return {};
}

void unregister_telemetry() {
    std::lock_guard lock(g_source_lock);
    g_source = nullptr;
}

}  // namespace vtap::runtime
