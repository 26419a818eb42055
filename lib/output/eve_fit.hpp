// Fitting an EVE JSON line into a size limit without breaking it, for the
// datagram outputs (RFC 5426 UDP, unix sockets) whose messages cannot be
// split. Cold path. Large parts go first, in order of least value to a SOC:
// payload_printable, payload (payload_length stays, so the SIEM still sees
// that there was a payload), then the signature and category text are
// shortened at a character boundary, and "vtap_truncated":true is added.
// Only when even that cannot fit (a limit below the fixed fields) is the
// line cut, and then never inside a UTF-8 sequence or a JSON escape.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vtap::output {

enum class FitResult { kWhole, kTrimmed, kCut };

// `line` is one EVE line as EveFormatter writes it (valid UTF-8 JSON; a
// trailing '\n' is ignored). Replaces `out` with at most `max` bytes.
FitResult fit_eve_line(std::string_view line, size_t max, std::string& out);

// The longest prefix of JSON text s[0..n) no longer than `max` that does not
// end inside a UTF-8 sequence or a backslash escape.
size_t json_safe_prefix(std::string_view s, size_t max) noexcept;

}  // namespace vtap::output
