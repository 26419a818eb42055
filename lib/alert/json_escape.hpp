// JSON string escaping for bytes that come from traffic or rule text. The
// output is always valid UTF-8 and never contains a raw control character,
// so one alert is exactly one line and cannot inject a field, a line or a
// syslog frame, whatever the bytes were.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vtap::alert {

// Appends the body of a JSON string (no surrounding quotes):
// - '"' and '\' are backslash-escaped; \b \f \n \r \t use their short forms;
//   every other byte below 0x20, and 0x7F, becomes \u00XX;
// - well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF) is copied;
// - each byte of an ill-formed sequence becomes the four characters \xHH
//   (JSON "\\xHH"), Suricata's convention (rust/src/jsonbuilder.rs), so the
//   byte value stays visible. A literal "\xHH" in the input reads the same:
//   the lossless copy of a payload is EVE "payload" (base64).
void append_json_escaped(std::string& out, std::string_view s);
inline void append_json_escaped(std::string& out, const uint8_t* p, size_t n) {
    append_json_escaped(out, std::string_view(reinterpret_cast<const char*>(p), n));
}

// Suricata's payload_printable (util-print.c PrintStringsToBuffer): printable
// ASCII, '\n' and '\r' are kept, every other byte becomes '.'; the result is
// then JSON-escaped as above.
void append_json_printable(std::string& out, const uint8_t* p, size_t n);

// Length of the well-formed UTF-8 sequence at s[0..n), or 0 if ill-formed
// (Unicode 15, table 3-7). s[0] must be >= 0x80.
size_t utf8_sequence_len(const uint8_t* s, size_t n) noexcept;

}  // namespace vtap::alert
