// Cold path: lower every rule, sort rules into groups, build one Hyperscan
// database per group (or load it from the cache), and count what happened.
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>

#include "detect/cache.hpp"
#include "detect/database.hpp"
#include "detect/lower.hpp"

namespace vtap::detect {

const char* group_name(GroupId g) {
    switch (g) {
        case GroupId::kStreamToServer: return "stream_to_server";
        case GroupId::kStreamToClient: return "stream_to_client";
        case GroupId::kTcpPacket: return "tcp_packet";
        case GroupId::kTcpNoStream: return "tcp_no_stream";
        case GroupId::kUdp: return "udp";
        case GroupId::kIcmp: return "icmp";
        case GroupId::kOther: return "other";
        case GroupId::kCount: break;
    }
    return "?";
}

namespace {

struct Pattern {
    std::string expression;
    unsigned flags = 0;
    hs_expr_ext_t ext{};
    std::vector<uint32_t> rules;
};

// Groups a rule belongs to (Suricata: stream rules inspect reassembled data
// and fall back to the packet only when it did not go into a stream;
// dsize / no_stream / header-only rules are packet-level).
std::vector<GroupId> groups_of(const CompiledRule& r) {
    std::vector<GroupId> out;
    const bool ip = r.proto == rules::Proto::kIp;
    const bool only_stream = r.flow.only_stream;
    if (ip || r.proto == rules::Proto::kTcp) {
        if (r.packet_level) {
            out.push_back(GroupId::kTcpPacket);
            out.push_back(GroupId::kTcpNoStream);
        } else {
            if (!r.flow.to_client) out.push_back(GroupId::kStreamToServer);
            if (!r.flow.to_server) out.push_back(GroupId::kStreamToClient);
            if (!only_stream) out.push_back(GroupId::kTcpNoStream);
        }
    }
    if ((ip || r.proto == rules::Proto::kUdp) && !only_stream) out.push_back(GroupId::kUdp);
    if ((ip || r.proto == rules::Proto::kIcmp) && !only_stream) out.push_back(GroupId::kIcmp);
    if (ip && !only_stream) out.push_back(GroupId::kOther);
    return out;
}

// Ports a spec accepts, as a 65536-bit set; false when it accepts all.
bool port_set(const rules::PortSpec& s, std::vector<uint64_t>& bits) {
    bits.assign(1024, 0);
    const bool all_in = s.any || s.include.empty();
    if (all_in && s.exclude.empty()) return false;
    auto set_range = [&](uint32_t lo, uint32_t hi, bool v) {
        for (uint32_t p = lo; p <= hi; ++p) {
            if (v) bits[p >> 6] |= 1ull << (p & 63);
            else bits[p >> 6] &= ~(1ull << (p & 63));
        }
    };
    if (all_in) set_range(0, 65535, true);
    else
        for (const auto& r : s.include) set_range(r.lo, r.hi, true);
    for (const auto& r : s.exclude) set_range(r.lo, r.hi, false);
    return true;
}

void build_gate(Group& g, const std::vector<CompiledRule>& rules, const std::vector<uint32_t>& members) {
    g.gate_all = false;
    g.src_port_gate.assign(1024, 0);
    g.dst_port_gate.assign(1024, 0);
    std::vector<uint64_t> s, d;
    for (uint32_t idx : members) {
        const CompiledRule& r = rules[idx];
        const bool s_some = port_set(r.src_ports, s);
        const bool d_some = port_set(r.dst_ports, d);
        if (!s_some && !d_some) {
            g.gate_all = true;
            break;
        }
        if (!s_some) s.assign(1024, ~0ull);
        if (!d_some) d.assign(1024, ~0ull);
        for (size_t w = 0; w < 1024; ++w) {
            const uint64_t sd = r.bidirectional ? (s[w] | d[w]) : 0;
            g.src_port_gate[w] |= r.bidirectional ? sd : s[w];
            g.dst_port_gate[w] |= r.bidirectional ? sd : d[w];
        }
    }
    if (g.gate_all) {
        g.src_port_gate.clear();
        g.dst_port_gate.clear();
    }
}

uint64_t hash_patterns(const std::vector<Pattern>& pats) {
    uint64_t h = fnv1a("", 0);
    for (const auto& p : pats) {
        h = fnv1a(p.expression.data(), p.expression.size(), h);
        h = fnv1a(&p.flags, sizeof(p.flags), h);
        h = fnv1a(&p.ext.flags, sizeof(p.ext.flags), h);
        h = fnv1a(&p.ext.min_offset, sizeof(p.ext.min_offset), h);
        h = fnv1a(&p.ext.max_offset, sizeof(p.ext.max_offset), h);
        h = fnv1a(p.rules.data(), p.rules.size() * sizeof(uint32_t), h);
    }
    return h;
}

}  // namespace

class Builder {
public:
    Result<std::shared_ptr<const Database>> run(const std::vector<rules::Rule>& in, const CompileOptions& opts) {
        const auto t0 = std::chrono::steady_clock::now();
        auto db = std::make_shared<Database>();
        CompileStats& st = db->stats_;
        st.rules_in = static_cast<uint32_t>(in.size());

        for (const auto& rule : in) {
            auto lowered = lower_rule(rule);
            if (lowered) {
                if (auto ok = resolve_flowbits(rule, *lowered); !ok) lowered = std::unexpected(ok.error());
            }
            if (!lowered) {
                st.rejected.push_back(lowered.error());
                continue;
            }
            db->rules_.push_back(std::move(*lowered));
            db->sources_.push_back(rule);
            anchors_.push_back(choose_anchor(rule));
            const CompiledRule& cr = db->rules_.back();
            const Anchor& a = anchors_.back();
            if (cr.ops.empty()) ++st.header_only;
            else if (a.kind == AnchorKind::kNone) ++st.no_anchor;
            if (a.kind == AnchorKind::kChain) ++st.chain_anchors;
            else if (a.chain_too_costly) ++st.chains_too_costly;
            if (a.kind == AnchorKind::kRegex) {
                ++st.pcre_anchors;
                if (a.flags & HS_FLAG_PREFILTER) ++st.prefilter_anchors;
            }
            for (GroupId g : groups_of(cr)) members_[static_cast<size_t>(g)].push_back(static_cast<uint32_t>(db->rules_.size() - 1));
        }
        st.rules_compiled = static_cast<uint32_t>(db->rules_.size());
        st.flowbit_names = static_cast<uint32_t>(flowbit_ids_.size());
        for (const auto& r : db->rules_) st.flowbit_check_rules += !r.flowbit_checks.empty();
        st.rules_rejected = static_cast<uint32_t>(st.rejected.size());

        bool loaded = false;
        std::string path;
        if (!opts.cache_dir.empty()) {
            st.cache_key = rule_set_key(in, opts);
            path = cache_path(opts.cache_dir, st.cache_key);
            auto cached = read_cache(path, st.cache_key);
            if (cached) {
                auto ok = load(*db, *cached);
                if (ok) loaded = true;
                else st.cache_note = ok.error().to_string();
            } else {
                st.cache_note = cached.error().to_string();
            }
        }
        if (!loaded) {
            for (auto& d : demoted_) d.clear();
            for (size_t g = 0; g < kGroupCount; ++g) {
                auto ok = build_group(*db, static_cast<GroupId>(g));
                if (!ok) return std::unexpected(ok.error());
            }
            if (!path.empty()) {
                auto w = save(*db, path, st.cache_key);
                if (!w) st.cache_note = w.error().to_string();
            }
        }
        st.cache_hit = loaded;

        for (size_t g = 0; g < kGroupCount; ++g) {
            Group& grp = db->groups_[g];
            build_gate(grp, db->rules_, members_[g]);
            GroupStats& gs = st.groups[g];
            gs.id = static_cast<GroupId>(g);
            gs.rules = static_cast<uint32_t>(members_[g].size());
            gs.patterns = grp.pattern_first.empty() ? 0 : static_cast<uint32_t>(grp.pattern_first.size() - 1);
            gs.always = static_cast<uint32_t>(grp.always.size());
            gs.addr_indexed = static_cast<uint32_t>(grp.addr_index.rules_indexed());
            gs.flowbit_indexed = static_cast<uint32_t>(grp.flowbit_rules.size());
            if (grp.db) {
                hs_database_size(grp.db.get(), &gs.db_bytes);
                if (grp.stream) hs_stream_size(grp.db.get(), &gs.stream_state_bytes);
            }
            st.patterns += gs.patterns;
            st.db_bytes += gs.db_bytes;
        }
        st.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return std::shared_ptr<const Database>(std::move(db));
    }

private:
    static bool is_stream(GroupId g) { return g == GroupId::kStreamToServer || g == GroupId::kStreamToClient; }

    // Distinct expressions of group g and the rules each nominates; rules
    // without a usable anchor go to `always`.
    std::vector<Pattern> plan(const Database& db, GroupId g, std::vector<uint32_t>& always) const {
        const size_t gi = static_cast<size_t>(g);
        std::vector<Pattern> pats;
        std::map<std::string, size_t> index;
        always.clear();
        for (uint32_t r : members_[gi]) {
            const Anchor& a = anchors_[r];
            const bool usable = a.kind != AnchorKind::kNone && !demoted_[gi].count(r) && (!is_stream(g) || a.stream_safe);
            if (!usable || db.rules_[r].ops.empty()) {
                always.push_back(r);
                continue;
            }
            const unsigned flags = a.flags | (is_stream(g) ? 0u : HS_FLAG_SINGLEMATCH);
            std::string key = a.expression;
            key.push_back('\0');
            key += std::to_string(flags) + "/" + std::to_string(a.ext.flags) + "/" + std::to_string(a.ext.min_offset) + "/" +
                   std::to_string(a.ext.max_offset);
            auto [it, fresh] = index.emplace(key, pats.size());
            if (fresh) pats.push_back(Pattern{a.expression, flags, a.ext, {}});
            pats[it->second].rules.push_back(r);
        }
        return pats;
    }

    static void install(Group& grp, const std::vector<CompiledRule>& rules, const std::vector<Pattern>& pats,
                        const std::vector<uint32_t>& unanchored) {
        grp.pattern_first.clear();
        grp.pattern_rules.clear();
        grp.pattern_first.push_back(0);
        for (const auto& p : pats) {
            grp.pattern_rules.insert(grp.pattern_rules.end(), p.rules.begin(), p.rules.end());
            grp.pattern_first.push_back(static_cast<uint32_t>(grp.pattern_rules.size()));
        }
        const std::vector<uint32_t> rest = index_by_flowbit(grp, rules, unanchored);
        // Ports key rules only where every packet has them.
        const bool ported = grp.id == GroupId::kTcpPacket || grp.id == GroupId::kTcpNoStream ||
                            grp.id == GroupId::kUdp || grp.id == GroupId::kStreamToServer ||
                            grp.id == GroupId::kStreamToClient;
        grp.always = grp.addr_index.build(rules, rest, grp.always_v6, ported);
    }

    // An unanchored rule that requires a bit set (an isset; with '|', any of
    // its names) cannot match on a flow without it: key it by those bits
    // instead of nominating it on every scan. Returns the other rules.
    static std::vector<uint32_t> index_by_flowbit(Group& grp, const std::vector<CompiledRule>& rules,
                                                  const std::vector<uint32_t>& unanchored) {
        grp.flowbit_first.clear();
        grp.flowbit_rules.clear();
        std::vector<uint32_t> rest;
        std::vector<std::vector<uint32_t>> by_id;
        for (uint32_t r : unanchored) {
            const FlowbitOp* key = nullptr;
            for (const FlowbitOp& c : rules[r].flowbit_checks)
                if (c.cmd == rules::Flowbit::Cmd::kIsSet) { key = &c; break; }
            if (key == nullptr) {
                rest.push_back(r);
                continue;
            }
            for (uint16_t id : key->ids) {
                if (id >= by_id.size()) by_id.resize(size_t{id} + 1);
                by_id[id].push_back(r);
            }
        }
        if (by_id.empty()) return rest;
        grp.flowbit_first.push_back(0);
        for (const auto& list : by_id) {
            grp.flowbit_rules.insert(grp.flowbit_rules.end(), list.begin(), list.end());
            grp.flowbit_first.push_back(static_cast<uint32_t>(grp.flowbit_rules.size()));
        }
        return rest;
    }

    Result<void> build_group(Database& db, GroupId g) {
        const size_t gi = static_cast<size_t>(g);
        Group& grp = db.groups_[gi];
        grp.id = g;
        grp.stream = is_stream(g);
        for (;;) {
            std::vector<uint32_t> always;
            std::vector<Pattern> pats = plan(db, g, always);
            install(grp, db.rules_, pats, always);
            grp.db.reset();
            if (pats.empty()) return {};
            std::vector<const char*> exprs;
            std::vector<unsigned> flags, ids;
            std::vector<const hs_expr_ext_t*> exts;
            for (size_t i = 0; i < pats.size(); ++i) {
                exprs.push_back(pats[i].expression.c_str());
                flags.push_back(pats[i].flags);
                ids.push_back(static_cast<unsigned>(i));
                exts.push_back(pats[i].ext.flags != 0 ? &pats[i].ext : nullptr);
            }
            hs_database_t* out = nullptr;
            hs_compile_error_t* err = nullptr;
            const unsigned mode = grp.stream ? HS_MODE_STREAM : HS_MODE_BLOCK;
            const hs_error_t rc = hs_compile_ext_multi(exprs.data(), flags.data(), ids.data(), exts.data(),
                                                       static_cast<unsigned>(pats.size()), mode, nullptr, &out, &err);
            if (rc == HS_SUCCESS) {
                grp.db.reset(out);
                pattern_hash_[gi] = hash_patterns(pats);
                return {};
            }
            const int bad = err != nullptr ? err->expression : -1;
            const std::string msg = err != nullptr ? err->message : "unknown error";
            hs_free_compile_error(err);
            if (bad < 0 || static_cast<size_t>(bad) >= pats.size())
                return fail(std::string("hyperscan group ") + group_name(g), "compile failed: " + msg);
            // One expression Hyperscan refuses: its rules are still evaluated, on every scan.
            for (uint32_t r : pats[static_cast<size_t>(bad)].rules) demoted_[gi].insert(r);
        }
    }

    Result<void> save(const Database& db, const std::string& path, const std::string& key) const {
        std::vector<CachedGroup> out;
        for (size_t g = 0; g < kGroupCount; ++g) {
            const Group& grp = db.groups_[g];
            CachedGroup cg;
            cg.id = static_cast<uint8_t>(g);
            cg.patterns = grp.pattern_first.empty() ? 0 : static_cast<uint32_t>(grp.pattern_first.size() - 1);
            cg.pattern_hash = pattern_hash_[g];
            cg.demoted.assign(demoted_[g].begin(), demoted_[g].end());
            if (grp.db) {
                char* bytes = nullptr;
                size_t len = 0;
                if (hs_serialize_database(grp.db.get(), &bytes, &len) != HS_SUCCESS)
                    return fail(path, std::string("hs_serialize_database failed for group ") + group_name(grp.id));
                cg.blob.assign(bytes, len);
                std::free(bytes);
            }
            out.push_back(std::move(cg));
        }
        return write_cache(path, key, out);
    }

    Result<void> load(Database& db, const std::vector<CachedGroup>& cached) {
        if (cached.size() != kGroupCount) return fail("cache", "group count differs");
        for (const auto& cg : cached) demoted_[cg.id] = std::set<uint32_t>(cg.demoted.begin(), cg.demoted.end());
        for (const auto& cg : cached) {
            const auto g = static_cast<GroupId>(cg.id);
            Group& grp = db.groups_[cg.id];
            grp.id = g;
            grp.stream = is_stream(g);
            std::vector<uint32_t> always;
            const std::vector<Pattern> pats = plan(db, g, always);
            if (pats.size() != cg.patterns || (cg.patterns != 0 && hash_patterns(pats) != cg.pattern_hash))
                return fail(std::string("cache group ") + group_name(g), "pattern list differs from the rule set's");
            install(grp, db.rules_, pats, always);
            pattern_hash_[cg.id] = cg.pattern_hash;
            if (pats.empty()) continue;
            hs_database_t* out = nullptr;
            if (hs_deserialize_database(cg.blob.data(), cg.blob.size(), &out) != HS_SUCCESS)
                return fail(std::string("cache group ") + group_name(g), "hs_deserialize_database failed (other Hyperscan build or CPU?)");
            grp.db.reset(out);
        }
        return {};
    }

    std::vector<Anchor> anchors_;
    std::map<std::string, uint16_t, std::less<>> flowbit_ids_;  // name -> id, ids from 0 in order of first use

    // Names -> ids, shared by every rule of the set (a bit one rule sets is
    // the bit another tests). Checks and actions split, each in rule order.
    Result<void> resolve_flowbits(const rules::Rule& rule, CompiledRule& c) {
        for (const rules::Flowbit& fb : rule.flowbits) {
            FlowbitOp op{fb.cmd, fb.any, {}};
            for (const std::string& name : fb.names) {
                auto it = flowbit_ids_.find(name);
                if (it == flowbit_ids_.end()) {
                    if (flowbit_ids_.size() > UINT16_MAX)
                        return fail(rule_where(rule), "more than 65536 flowbit names in the rule set");
                    it = flowbit_ids_.emplace(name, static_cast<uint16_t>(flowbit_ids_.size())).first;
                }
                op.ids.push_back(it->second);
            }
            (fb.is_check() ? c.flowbit_checks : c.flowbit_actions).push_back(std::move(op));
        }
        return {};
    }
    std::array<std::vector<uint32_t>, kGroupCount> members_;
    std::array<std::set<uint32_t>, kGroupCount> demoted_;
    std::array<uint64_t, kGroupCount> pattern_hash_{};
};

Result<std::shared_ptr<const Database>> compile(const std::vector<rules::Rule>& rules, const CompileOptions& opts) {
    return Builder().run(rules, opts);
}

std::future<Result<std::shared_ptr<const Database>>> compile_async(std::vector<rules::Rule> rules, CompileOptions opts) {
    return std::async(std::launch::async, [rules = std::move(rules), opts = std::move(opts)] { return compile(rules, opts); });
}

}  // namespace vtap::detect
