// MapView: strict, positioned reads from a YAML mapping (see yaml_view.hpp).
#include "config/yaml_view.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace vtap::config::detail {

std::string where(const std::string& source, const YAML::Mark& mark) {
    if (mark.is_null()) return source;
    return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::string quote(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q += '\'';
    q += s;
    q += '\'';
    return q;
}

std::string join_path(const std::string& parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    return parent + "." + std::string(key);
}

bool parse_unsigned(std::string_view text, uint64_t& out, bool& overflow) {
    overflow = false;
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty()) return false;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, out, base);
    if (ptr != end) return false;  // also catches a leading '-' or '+'
    if (ec == std::errc::result_out_of_range) {
        overflow = true;
        return false;
    }
    return ec == std::errc{};
}

std::string_view kind_name(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Undefined: break;
    }
    return "nothing";
}

std::unexpected<Error> fail_node(const std::string& source, const YAML::Node& node,
                                 std::string what) {
    return fail(where(source, node.Mark()), std::move(what));
}

namespace {

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); j++) row[j] = j;
    for (size_t i = 1; i <= a.size(); i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); j++) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string unknown_key_message(std::string_view key, const std::string& path,
                                std::initializer_list<std::string_view> known) {
    std::string_view best;
    size_t best_d = 3;  // suggest only close misspellings
    std::string list;
    for (auto k : known) {
        if (!list.empty()) list += ", ";
        list += k;
        size_t d = edit_distance(key, k);
        if (d < best_d) best_d = d, best = k;
    }
    std::string msg = "unknown key '" + std::string(key) + "'";
    msg += path.empty() ? " at top level" : " in '" + path + "'";
    msg += " (";
    if (!best.empty()) msg += "did you mean '" + std::string(best) + "'? ";
    msg += "known: " + list + ")";
    return msg;
}

}  // namespace

MapView::MapView(const std::string& source, YAML::Node node, std::string path)
    : source_(source), node_(node), path_(std::move(path)) {}

std::string MapView::where() const { return detail::where(source_, node_.Mark()); }

std::string MapView::where(std::string_view key) const {
    YAML::Node v = child(key);
    return v.IsDefined() ? detail::where(source_, v.Mark()) : where();
}

std::unexpected<Error> MapView::fail_at(std::string_view key, std::string what) const {
    return fail(where(key), std::move(what));
}

std::unexpected<Error> MapView::fail_here(std::string what) const {
    return fail(where(), std::move(what));
}

Result<void> MapView::check_keys(std::initializer_list<std::string_view> known) const {
    if (!node_.IsDefined() || node_.IsNull()) return {};
    if (!node_.IsMap()) {
        std::string name = path_.empty() ? "the document" : quote(path_);
        return fail_here(name + " must be a mapping of keys, got " +
                         std::string(kind_name(node_)));
    }
    std::set<std::string, std::less<>> seen;
    for (const auto& kv : node_) {
        const YAML::Node& k = kv.first;
        if (!k.IsScalar())
            return fail_node(source_, k, "keys must be plain names, got " +
                                             std::string(kind_name(k)) +
                                             (path_.empty() ? " at top level" : " in " + quote(path_)));
        const std::string& name = k.Scalar();
        if (std::find(known.begin(), known.end(), name) == known.end())
            return fail_node(source_, k, unknown_key_message(name, path_, known));
        if (!seen.insert(name).second)
            return fail_node(source_, k, "key '" + join_path(path_, name) + "' is given twice");
    }
    return {};
}

bool MapView::has(std::string_view key) const { return child(key).IsDefined(); }

YAML::Node MapView::child(std::string_view key) const {
    // Iterate rather than node_[key]: subscripting a non-map throws, and a
    // const subscript on a missing key hands back a zombie node.
    if (node_.IsMap())
        for (const auto& kv : node_)
            if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    return YAML::Node(YAML::NodeType::Undefined);
}

Result<void> MapView::read(std::string_view key, uint64_t& out, uint64_t lo,
                           uint64_t hi) const {
    YAML::Node v = child(key);
    if (!v.IsDefined()) return {};
    std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    if (!v.IsScalar())
        return fail_at(key, quote(path(key)) + " must be an integer in " + range + ", got " +
                                std::string(kind_name(v)));
    uint64_t x = 0;
    bool overflow = false;
    if (!parse_unsigned(v.Scalar(), x, overflow) && !overflow)
        return fail_at(key, quote(path(key)) + " must be an integer in " + range + ", got '" +
                                v.Scalar() + "'");
    if (overflow || x < lo || x > hi)
        return fail_at(key, quote(path(key)) + " is " + v.Scalar() + ", out of range (allowed " +
                                range + ")");
    out = x;
    return {};
}

Result<void> MapView::read(std::string_view key, uint32_t& out, uint32_t lo, uint32_t hi) const {
    uint64_t x = out;
    auto r = read(key, x, lo, hi);
    if (r) out = static_cast<uint32_t>(x);
    return r;
}

Result<void> MapView::read(std::string_view key, uint16_t& out, uint16_t lo, uint16_t hi) const {
    uint64_t x = out;
    auto r = read(key, x, lo, hi);
    if (r) out = static_cast<uint16_t>(x);
    return r;
}

Result<void> MapView::read(std::string_view key, bool& out) const {
    YAML::Node v = child(key);
    if (!v.IsDefined()) return {};
    // YAML 1.2 booleans only: "yes"/"on" are YAML 1.1 and read as strings
    // by most other tools, so accepting them would make the file ambiguous.
    if (v.IsScalar()) {
        const std::string& s = v.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") {
            out = true;
            return {};
        }
        if (s == "false" || s == "False" || s == "FALSE") {
            out = false;
            return {};
        }
    }
    std::string got = v.IsScalar() ? quote(v.Scalar()) : std::string(kind_name(v));
    return fail_at(key, quote(path(key)) + " must be true or false, got " + got);
}

Result<void> MapView::read(std::string_view key, std::string& out) const {
    YAML::Node v = child(key);
    if (!v.IsDefined()) return {};
    if (v.IsNull()) {
        out.clear();
        return {};
    }
    if (!v.IsScalar())
        return fail_at(key, quote(path(key)) + " must be a string, got " +
                                std::string(kind_name(v)));
    out = v.Scalar();
    return {};
}

Result<void> MapView::read(std::string_view key, std::vector<std::string>& out) const {
    YAML::Node v = child(key);
    if (!v.IsDefined()) return {};
    if (v.IsNull()) {
        out.clear();
        return {};
    }
    if (!v.IsSequence())
        return fail_at(key, quote(path(key)) + " must be a list of strings, got " +
                                std::string(kind_name(v)));
    std::vector<std::string> items;
    size_t i = 0;
    for (const auto& e : v) {
        if (!e.IsScalar())
            return fail_node(source_, e, std::string("'") + path(key) + "[" + std::to_string(i) +
                                             "]' must be a string, got " +
                                             std::string(kind_name(e)));
        items.push_back(e.Scalar());
        i++;
    }
    out = std::move(items);
    return {};
}

Result<void> MapView::read(std::string_view key, std::vector<uint64_t>& out, uint64_t lo,
                           uint64_t hi) const {
    YAML::Node v = child(key);
    if (!v.IsDefined()) return {};
    if (v.IsNull()) {
        out.clear();
        return {};
    }
    std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    if (!v.IsSequence())
        return fail_at(key, quote(path(key)) + " must be a list of integers in " + range +
                                ", got " + std::string(kind_name(v)));
    std::vector<uint64_t> items;
    size_t i = 0;
    for (const auto& e : v) {
        std::string name = std::string("'") + path(key) + "[" + std::to_string(i) + "]'";
        uint64_t x = 0;
        bool overflow = false;
        if (!e.IsScalar() || (!parse_unsigned(e.Scalar(), x, overflow) && !overflow))
            return fail_node(source_, e, name + " must be an integer in " + range + ", got " +
                                             (e.IsScalar() ? quote(e.Scalar())
                                                           : std::string(kind_name(e))));
        if (overflow || x < lo || x > hi)
            return fail_node(source_, e, name + " is " + e.Scalar() +
                                             ", out of range (allowed " + range + ")");
        items.push_back(x);
        i++;
    }
    out = std::move(items);
    return {};
}

}  // namespace vtap::config::detail
