#include "alert/json_escape.hpp"

#include <array>

namespace vtap::alert {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// 0: copy as is; 1: needs an escape or a UTF-8 check.
constexpr std::array<uint8_t, 256> make_special() {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 256; c++) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x7F;
    return t;
}
constexpr auto kSpecial = make_special();

void append_u00(std::string& out, uint8_t c) {
    const char e[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
    out.append(e, 6);
}

void append_control_or_quote(std::string& out, uint8_t c) {
    switch (c) {
        case '"': out.append("\\\"", 2); return;
        case '\\': out.append("\\\\", 2); return;
        case '\b': out.append("\\b", 2); return;
        case '\f': out.append("\\f", 2); return;
        case '\n': out.append("\\n", 2); return;
        case '\r': out.append("\\r", 2); return;
        case '\t': out.append("\\t", 2); return;
        default: append_u00(out, c); return;
    }
}

}  // namespace

size_t utf8_sequence_len(const uint8_t* s, size_t n) noexcept {
    const uint8_t c = s[0];
    auto cont = [&](size_t i, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
        return i < n && s[i] >= lo && s[i] <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;                  // no overlongs
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;            // no surrogates
    if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;  // <= U+10FFFF
    return 0;  // 0x80..0xC1 (continuation, overlong lead), 0xF5..0xFF
}

void append_json_escaped(std::string& out, std::string_view sv) {
    const auto* s = reinterpret_cast<const uint8_t*>(sv.data());
    const size_t n = sv.size();
    size_t run = 0;  // start of the pending run of bytes copied verbatim
    size_t i = 0;
    while (i < n) {
        const uint8_t c = s[i];
        if (!kSpecial[c]) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            if (const size_t len = utf8_sequence_len(s + i, n - i)) {
                i += len;  // well-formed: part of the verbatim run
                continue;
            }
        }
        out.append(sv.data() + run, i - run);
        if (c >= 0x80) {
            const char e[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
            out.append("\\", 1);  // JSON-escape the backslash of \xHH
            out.append(e, 4);
        } else {
            append_control_or_quote(out, c);
        }
        run = ++i;
    }
    out.append(sv.data() + run, n - run);
}

void append_json_printable(std::string& out, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t c = p[i];
        if (c == '\n') out.append("\\n", 2);
        else if (c == '\r') out.append("\\r", 2);
        else if (c == '"') out.append("\\\"", 2);
        else if (c == '\\') out.append("\\\\", 2);
        else if (c >= 0x20 && c < 0x7F) out.push_back(static_cast<char>(c));
        else out.push_back('.');
    }
}

}  // namespace vtap::alert
