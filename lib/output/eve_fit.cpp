#include "output/eve_fit.hpp"

namespace vtap::output {

namespace {

constexpr std::string_view kMarker = ",\"vtap_truncated\":true";

// Length of the token at s[i]: a whole escape or UTF-8 sequence, else 1.
size_t token_len(std::string_view s, size_t i) noexcept {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 1;
    if (c == '\\') n = i + 1 < s.size() && s[i + 1] == 'u' ? 6 : 2;
    else if (c >= 0xF0) n = 4;
    else if (c >= 0xE0) n = 3;
    else if (c >= 0xC0) n = 2;
    return n;
}

// [begin, end) of the contents of the string value of top-level or nested
// `key`. The pattern starts with a raw '"' after ',' or '{', which cannot
// occur inside a JSON string (quotes there are escaped), so a match is
// structural.
bool find_string_value(const std::string& s, std::string_view key, size_t& begin, size_t& end) {
    const std::string pat = "\"" + std::string(key) + "\":\"";
    for (size_t at = s.find(pat); at != std::string::npos; at = s.find(pat, at + 1)) {
        if (at == 0 || (s[at - 1] != ',' && s[at - 1] != '{')) continue;
        begin = at + pat.size();
        for (size_t i = begin; i < s.size(); i += token_len(s, i))
            if (s[i] == '"') {
                end = i;
                return true;
            }
        return false;
    }
    return false;
}

// Removes `,"key":"..."` when present.
void remove_field(std::string& s, std::string_view key) {
    size_t b, e;
    if (!find_string_value(s, key, b, e)) return;
    const size_t start = b - (key.size() + 4) - 1;  // the ',' before "key":"
    if (s[start] != ',') return;                     // first member: leave it
    s.erase(start, e + 1 - start);
}

// Shortens the value of `key` by up to `excess` bytes; returns bytes removed.
size_t shorten_field(std::string& s, std::string_view key, size_t excess) {
    size_t b, e;
    if (!find_string_value(s, key, b, e)) return 0;
    const size_t len = e - b;
    const size_t keep = excess >= len ? 0 : json_safe_prefix(std::string_view(s).substr(b, len), len - excess);
    s.erase(b + keep, len - keep);
    return len - keep;
}

}  // namespace

size_t json_safe_prefix(std::string_view s, size_t max) noexcept {
    size_t i = 0;
    while (i < s.size()) {
        const size_t n = token_len(s, i);
        if (i + n > max) break;
        i += n;
    }
    return i;
}

FitResult fit_eve_line(std::string_view line, size_t max, std::string& out) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.size() <= max) {
        out.assign(line);
        return FitResult::kWhole;
    }
    std::string s(line);
    const bool object = !s.empty() && s.back() == '}';
    if (object) {
        // Room for the marker is reserved from the start: whatever is kept,
        // the SIEM must be able to tell the alert was shortened.
        const size_t room = max >= kMarker.size() ? max - kMarker.size() : 0;
        remove_field(s, "payload_printable");
        if (s.size() > room) remove_field(s, "payload");
        if (s.size() > room) {
            size_t excess = s.size() - room;
            excess -= shorten_field(s, "signature", excess);
            if (excess) shorten_field(s, "category", excess);
        }
        if (s.size() <= room) {
            s.insert(s.size() - 1, kMarker);
            out = std::move(s);
            return FitResult::kTrimmed;
        }
    }
    out.assign(s, 0, json_safe_prefix(s, max));
    return FitResult::kCut;
}

}  // namespace vtap::output
