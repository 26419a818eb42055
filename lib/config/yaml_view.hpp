// Typed, position-aware reads from a yaml-cpp map (internal to lib/config).
// A MapView is one YAML mapping plus its key path ("decap", "ports[1]"); it
// rejects unknown and duplicate keys, and every read names file:line:col,
// the full key path and the allowed values, so an operator can fix the file
// without reading code. Nothing here throws: yaml-cpp calls are kept to ones
// that cannot throw on a well-formed node tree.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/result.hpp"

// Returns the error of a Result<void> expression from the enclosing function.
#define VTAP_CONFIG_TRY(expr)                                            \
    do {                                                                 \
        if (auto r_ = (expr); !r_) return std::unexpected(r_.error());   \
    } while (0)

namespace vtap::config::detail {

// "vtapd.yaml:14:5" (yaml-cpp marks are 0-based, operators count from 1);
// just the source name when the node carries no position.
std::string where(const std::string& source, const YAML::Mark& mark);

// "name" -> "'name'", for key paths and values in messages.
std::string quote(std::string_view s);

// "a" + "b" -> "a.b"; "" + "b" -> "b".
std::string join_path(const std::string& parent, std::string_view key);

// A decimal or 0x-hex unsigned integer, nothing else (no sign, no spaces,
// no floats): YAML's looser forms hide typos like "4789.0" or "-1".
bool parse_unsigned(std::string_view text, uint64_t& out, bool& overflow);

class MapView {
public:
    // `node` may be undefined or null (section left out): it reads as empty.
    MapView(const std::string& source, YAML::Node node, std::string path);

    // Fails unless the node is a mapping whose keys are all in `known`, each
    // at most once. Must be called before the reads below.
    Result<void> check_keys(std::initializer_list<std::string_view> known) const;

    bool has(std::string_view key) const;
    YAML::Node child(std::string_view key) const;  // undefined node if absent
    std::string path(std::string_view key) const { return join_path(path_, key); }
    const std::string& path() const { return path_; }
    const std::string& source() const { return source_; }
    // Position of this map, or of `key`'s value when present.
    std::string where() const;
    std::string where(std::string_view key) const;

    // Each read leaves `out` untouched when the key is absent (the default
    // stays) and fails when the value has the wrong type or range.
    Result<void> read(std::string_view key, uint64_t& out, uint64_t lo, uint64_t hi) const;
    Result<void> read(std::string_view key, uint32_t& out, uint32_t lo, uint32_t hi) const;
    Result<void> read(std::string_view key, uint16_t& out, uint16_t lo, uint16_t hi) const;
    Result<void> read(std::string_view key, bool& out) const;
    // A scalar; null/empty reads as "".
    Result<void> read(std::string_view key, std::string& out) const;
    // A sequence of scalars; null reads as an empty list.
    Result<void> read(std::string_view key, std::vector<std::string>& out) const;
    // A sequence of unsigned integers in lo..hi.
    Result<void> read(std::string_view key, std::vector<uint64_t>& out, uint64_t lo,
                      uint64_t hi) const;

    // Error helpers for checks done by the caller.
    std::unexpected<Error> fail_at(std::string_view key, std::string what) const;
    std::unexpected<Error> fail_here(std::string what) const;

private:
    std::string source_;
    YAML::Node node_;
    std::string path_;
};

// Error for `node` (an element of a sequence, a value) at key path `path`.
std::unexpected<Error> fail_node(const std::string& source, const YAML::Node& node,
                                 std::string what);

// A readable name for a node's kind in messages: "a mapping", "a list", ...
std::string_view kind_name(const YAML::Node& node);

}  // namespace vtap::config::detail
