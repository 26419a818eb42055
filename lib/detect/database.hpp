// Cold path: a rule set compiled to Hyperscan databases, one per group of
// rules that can apply to the same kind of data, plus each rule's lowered
// program. Immutable once built and shared by every worker's Scanner
// (publish a new one with RCU; never mutate). compile() can load the
// databases from a cache dir keyed by a hash of the rule set and options.
#pragma once

#include <array>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <hs/hs.h>

#include "core/result.hpp"
#include "detect/addr_index.hpp"
#include "detect/program.hpp"
#include "rules/rule.hpp"

namespace vtap::detect {

// Which data a group's database scans. Stream groups are Hyperscan stream
// mode (one per TCP direction); the rest are block mode over one packet.
enum class GroupId : uint8_t {
    kStreamToServer,  // TCP reassembled client->server bytes: stream rules without to_client
    kStreamToClient,  // TCP reassembled server->client bytes: stream rules without to_server
    kTcpPacket,       // TCP packet whose payload went to a stream: packet-level rules only
    kTcpNoStream,     // TCP packet not in any stream: packet-level + stream rules (not only_stream)
    kUdp,
    kIcmp,
    kOther,           // any other IP protocol ("ip" rules)
    kCount,
};
inline constexpr size_t kGroupCount = static_cast<size_t>(GroupId::kCount);
const char* group_name(GroupId g);  // "stream_to_server", ... (stats keys)

struct CompileOptions {
    std::string cache_dir;  // empty: no cache
};

struct GroupStats {
    GroupId id = GroupId::kOther;
    uint32_t rules = 0;         // rules that can fire in this group
    uint32_t patterns = 0;      // distinct Hyperscan expressions
    uint32_t always = 0;        // rules evaluated on every scan (no anchor, no address key)
    uint32_t addr_indexed = 0;  // header-only rules nominated by address (AddrIndex)
    uint32_t flowbit_indexed = 0;  // unanchored rules nominated only when their flow has an isset bit
    size_t db_bytes = 0;        // hs_database_size
    size_t stream_state_bytes = 0;  // hs_stream_size (stream groups)
};

struct CompileStats {
    uint32_t rules_in = 0;
    uint32_t rules_compiled = 0;
    uint32_t rules_rejected = 0;        // see `rejected` for where and why
    uint32_t header_only = 0;           // no payload keywords: header checks alone
    uint32_t no_anchor = 0;             // payload keywords but nothing Hyperscan can nominate them by
    uint32_t pcre_anchors = 0;          // anchored by a pcre in Hyperscan
    uint32_t prefilter_anchors = 0;     // ... of which with HS_FLAG_PREFILTER (approximate, confirmed by pcre2)
    uint32_t flowbit_names = 0;         // distinct flowbits names (ids 0..n-1)
    uint32_t flowbit_check_rules = 0;   // rules with isset/isnotset: confirmed after the others of a scan
    uint32_t chain_anchors = 0;         // content chains compiled whole: conclusive, never inspected
    uint32_t chains_too_costly = 0;     // chains left to a literal anchor + inspection (chain.hpp: short content, wide repeats)
    uint32_t patterns = 0;              // sum over groups
    size_t db_bytes = 0;                // sum over groups
    double compile_ms = 0;              // wall time of compile() (lowering + Hyperscan or cache load)
    bool cache_hit = false;
    std::string cache_key;              // hex; empty without cache
    std::string cache_note;             // why the cache missed or could not be written ("" when fine)
    std::array<GroupStats, kGroupCount> groups{};
    std::vector<Error> rejected;
};

struct HsDbDeleter {
    void operator()(hs_database_t* db) const noexcept { hs_free_database(db); }
};

// One group: its Hyperscan database (null when it has no patterns), which
// rules each pattern nominates (CSR), the rules without an anchor (nominated
// by address through addr_index where their address lists allow, else on
// every scan), and a port gate that lets a scan be skipped when no rule's
// ports can match.
struct Group {
    GroupId id = GroupId::kOther;
    bool stream = false;
    std::unique_ptr<hs_database_t, HsDbDeleter> db;
    std::vector<uint32_t> pattern_first;  // size patterns+1; rules of pattern p: pattern_rules[first[p]..first[p+1])
    std::vector<uint32_t> pattern_rules;
    std::vector<uint32_t> always;         // every scan
    AddrIndex addr_index;                 // unanchored rules keyed by an IPv4 prefix list
    std::vector<uint32_t> always_v6;      // ... of those, the ones listing IPv6 prefixes shorter than /16: every IPv6 scan
    // Unanchored rules with a flowbits isset, by flowbit id (CSR, as the
    // patterns): nominated only when their flow carries one of those bits,
    // as Suricata's flowbits prefilter does. Empty when no rule qualifies.
    std::vector<uint32_t> flowbit_first;  // size max id + 2
    std::vector<uint32_t> flowbit_rules;
    std::vector<uint64_t> src_port_gate;  // 65536-bit sets: some rule accepts this source / destination port
    std::vector<uint64_t> dst_port_gate;
    bool gate_all = true;                 // every port pair passes (some rule has any/any)

    bool gate(uint16_t sp, uint16_t dp) const noexcept {
        return gate_all || (((src_port_gate[sp >> 6] >> (sp & 63)) & 1) && ((dst_port_gate[dp >> 6] >> (dp & 63)) & 1));
    }
};

class Database {
public:
    const std::vector<CompiledRule>& rules() const noexcept { return rules_; }
    // The source rule of rules()[i] (msg, classtype, priority, action for alerts).
    const rules::Rule& source(uint32_t i) const noexcept { return sources_[i]; }
    const Group& group(GroupId g) const noexcept { return groups_[static_cast<size_t>(g)]; }
    const CompileStats& stats() const noexcept { return stats_; }

private:
    friend class Builder;
    std::vector<CompiledRule> rules_;
    std::vector<rules::Rule> sources_;
    std::array<Group, kGroupCount> groups_;
    CompileStats stats_;
};

// Lowers and compiles `rules`. A rule the engine cannot evaluate (unknown
// byte_extract variable, bad pcre, ...) is left out and listed in
// stats().rejected; the call fails only when Hyperscan itself fails.
Result<std::shared_ptr<const Database>> compile(const std::vector<rules::Rule>& rules, const CompileOptions& opts);

// compile() on a background thread; the caller keeps serving with the old
// database until the future is ready.
std::future<Result<std::shared_ptr<const Database>>> compile_async(std::vector<rules::Rule> rules, CompileOptions opts);

}  // namespace vtap::detect
