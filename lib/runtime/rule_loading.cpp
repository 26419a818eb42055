#include "runtime/rule_loading.hpp"

#include <algorithm>
#include <cstdio>

#include "rules/parser.hpp"

namespace vtap::runtime {

namespace {

// The background thread's whole job: parse, compile (or load from the
// cache), and write the report.
Result<LoadedRules> load(const config::DetectConfig& dc) {
    rules::Vars vars;
    for (const auto& [k, v] : dc.address_vars) vars.addr[k] = v;
    for (const auto& [k, v] : dc.port_vars) vars.port[k] = v;
    auto parsed = rules::load_files(dc.rule_files, vars, dc.classification_file);
    if (!parsed) return std::unexpected(parsed.error());
    rules::RuleSet& set = *parsed;
    LoadedRules out;
    out.report = rules::format_report(set);
    out.classes = set.classifications;
    auto db = detect::compile(set.rules, detect::CompileOptions{dc.cache_dir});
    if (!db) return std::unexpected(db.error());
    out.db = std::move(*db);
    const auto& st = out.db->stats();

    char line[512];
    std::snprintf(line, sizeof line,
                  "compile: %u rules compiled, %u rejected, %u patterns, %zu bytes of Hyperscan databases, "
                  "%.1f ms%s\n",
                  st.rules_compiled, st.rules_rejected, st.patterns, st.db_bytes, st.compile_ms,
                  st.cache_hit ? " (cache hit)" : "");
    out.report += line;
    size_t stream_state = 0;
    for (auto g : {detect::GroupId::kStreamToServer, detect::GroupId::kStreamToClient})
        stream_state = std::max(stream_state, st.groups[static_cast<size_t>(g)].stream_state_bytes);
    std::snprintf(line, sizeof line,
                  "compile: %u content chains compiled whole (conclusive), %u left to inspection as too costly for Hyperscan; "
                  "Hyperscan stream state %zu bytes per stream\n",
                  st.chain_anchors, st.chains_too_costly, stream_state);
    out.report += line;
    for (const auto& e : st.rejected) out.report += "  rejected: " + e.to_string() + "\n";
    if (!st.cache_note.empty()) out.report += "  cache: " + st.cache_note + "\n";
    if (st.flowbit_names != 0) {
        std::snprintf(line, sizeof line, "  flowbits: %u names, %u rules test them\n", st.flowbit_names,
                      st.flowbit_check_rules);
        out.report += line;
    }

    uint32_t loaded = 0, skipped = 0;
    for (const auto& r : set.reports) loaded += r.loaded, skipped += r.skipped;
    out.errors = set.errors() + st.rules_rejected;
    std::snprintf(line, sizeof line,
                  "rules: %u loaded, %u skipped (unsupported keywords), %u errors, %u compiled into %u "
                  "patterns in %.1f ms%s",
                  loaded, skipped, out.errors, st.rules_compiled, st.patterns, st.compile_ms,
                  st.cache_hit ? " (cache hit)" : "");
    out.summary = line;
    return out;
}

}  // namespace

PendingRules start_loading(const config::DetectConfig& dc) {
    return PendingRules{std::async(std::launch::async, [dc] { return load(dc); })};
}

Result<LoadedRules> finish_loading(PendingRules pending) { return pending.loaded.get(); }

Result<LoadedRules> load_and_compile(const config::DetectConfig& dc) { return load(dc); }

}  // namespace vtap::runtime
