// Cold path: the compiled-database cache. The key is a 128-bit hash of a
// canonical encoding of every rule field, the compile options, the Hyperscan
// version and this file format; a file holds, per group, the serialized
// database and what is needed to check it still fits the plan (pattern
// count and hash, rules demoted to "always" because Hyperscan refused their
// pattern). Writes go to a temp file renamed into place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "detect/database.hpp"
#include "rules/rule.hpp"

namespace vtap::detect {

struct CachedGroup {
    uint8_t id = 0;
    uint32_t patterns = 0;
    uint64_t pattern_hash = 0;
    std::vector<uint32_t> demoted;  // rule indexes (into the compiled rule list)
    std::string blob;               // hs_serialize_database output; empty: no database
};

std::string rule_set_key(const std::vector<rules::Rule>& rules, const CompileOptions& opts);
std::string cache_path(const std::string& dir, const std::string& key);

// 64-bit FNV-1a, also used for pattern-list hashes.
uint64_t fnv1a(const void* data, size_t len, uint64_t h = 0xcbf29ce484222325ull);

Result<std::vector<CachedGroup>> read_cache(const std::string& path, const std::string& key);
Result<void> write_cache(const std::string& path, const std::string& key, const std::vector<CachedGroup>& groups);

}  // namespace vtap::detect
