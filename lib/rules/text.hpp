// Small text helpers for the rule parser: trimming, comma splitting and
// strict number parsing (a trailing character is an error, never ignored).
// Internal to lib/rules.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vtap::rules::detail {

inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

// Comma-separated items, each trimmed. "a, b,,c" -> {"a", "b", "", "c"}.
inline std::vector<std::string_view> split_commas(std::string_view s) {
    std::vector<std::string_view> out;
    for (;;) {
        auto comma = s.find(',');
        out.push_back(trim(s.substr(0, comma)));
        if (comma == std::string_view::npos) return out;
        s.remove_prefix(comma + 1);
    }
}

// "name value" -> {"name", "value"}; value may be empty.
inline std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
    s = trim(s);
    size_t i = 0;
    while (i < s.size() && !is_space(s[i])) ++i;
    return {s.substr(0, i), trim(s.substr(i))};
}

// Decimal with optional sign, or 0x-prefixed hex. Whole string or false.
inline bool parse_i64(std::string_view s, int64_t& out) {
    s = trim(s);
    bool neg = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return false;
    if (neg) {
        if (v > uint64_t{1} << 63) return false;
        out = static_cast<int64_t>(0 - v);
    } else {
        if (v > static_cast<uint64_t>(INT64_MAX)) return false;
        out = static_cast<int64_t>(v);
    }
    return true;
}

inline bool parse_range(std::string_view s, int64_t lo, int64_t hi, int64_t& out) {
    return parse_i64(s, out) && out >= lo && out <= hi;
}

inline bool is_identifier(std::string_view s) {
    if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_')) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

// Index of the '"' closing the one at s[0] ('\' escapes a byte), or npos.
inline size_t closing_quote(std::string_view s) {
    if (s.empty() || s[0] != '"') return std::string_view::npos;
    for (size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '\\') ++i;
        else if (s[i] == '"') return i;
    }
    return std::string_view::npos;
}

// Built by appending: GCC 12's -Wrestrict misfires on "'" + std::string (PR 105651).
inline std::string quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '\'';
    out += s;
    out += '\'';
    return out;
}

}  // namespace vtap::rules::detail
