// RFC 5424 syslog messages carrying one EVE JSON alert each, for the SIEM
// outputs (issue 4). Cold path: runs on the output/control thread. The frame
// around the message (RFC 6587 octet counting) is the sender's business
// (syslog_tcp.hpp); this file only makes `<PRI>1 TIMESTAMP HOST APP PROCID
// MSGID - MSG`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "alert/alert_record.hpp"
#include "core/result.hpp"

namespace vtap::output {

inline constexpr uint8_t kFacilityLocal5 = 21;

// The fixed part of every message. Fields are sanitised by make_header, so a
// SyslogHeader always holds PRINTUSASCII (33..126) within RFC 5424's limits,
// or "-" (NILVALUE) for an empty field.
struct SyslogHeader {
    uint8_t facility = kFacilityLocal5;  // 0..23
    std::string hostname;  // <= 255
    std::string app_name;  // <= 48
    std::string procid;    // <= 128
    std::string msgid;     // <= 32
};

// facility > 23 is an Error (names the value). hostname "" = local_hostname();
// procid "" = getpid().
Result<SyslogHeader> make_header(uint8_t facility, std::string_view hostname = {},
                                 std::string_view app_name = "vtapd", std::string_view procid = {},
                                 std::string_view msgid = "alert");

// RFC 5424 header field: bytes outside 33..126 become '_', cut to `max`
// bytes, "" becomes "-".
std::string sanitize_field(std::string_view s, size_t max);

// Rule priority -> syslog severity. Suricata priorities run 1 (most severe)
// to 4 and beyond: 1 -> 2 crit, 2 -> 3 err, 3 -> 4 warning, anything else
// (0, 4, ...) -> 5 notice. Nothing maps to emerg/alert: those mean the host
// itself is unusable, which a network alert never says.
constexpr uint8_t severity_for_priority(uint8_t priority) noexcept {
    switch (priority) {
        case 1: return 2;
        case 2: return 3;
        case 3: return 4;
        default: return 5;
    }
}

// "2026-11-21T23:55:26.123456Z": RFC 3339 UTC with microseconds.
void append_rfc3339_utc(uint64_t ts_ns, std::string& out);

// Appends one RFC 5424 message (no framing, no trailing newline) to `out`.
// `msg` is the EVE line; one trailing '\n' is removed. EVE escapes control
// characters, but as a guard any remaining CR, LF or NUL becomes a space, so
// a receiver that splits on newlines still sees one message.
void format_rfc5424(const SyslogHeader& h, uint8_t severity, uint64_t ts_ns, std::string_view msg,
                    std::string& out);

// The alert's own time (packet time) and priority drive TIMESTAMP and PRI.
inline void format_alert(const SyslogHeader& h, const alert::AlertRecord& rec, std::string_view eve_line,
                         std::string& out) {
    format_rfc5424(h, severity_for_priority(rec.priority), rec.ts_ns, eve_line, out);
}

}  // namespace vtap::output
