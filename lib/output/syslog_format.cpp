// RFC 5424 formatting: header sanitising, RFC 3339 UTC timestamps.
#include "output/syslog_format.hpp"

#include <cstdio>
#include <ctime>
#include <unistd.h>

#include "alert/eve_json.hpp"

namespace vtap::output {

std::string sanitize_field(std::string_view s, size_t max) {
    std::string out;
    const size_t n = s.size() < max ? s.size() : max;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) {
        const auto c = static_cast<unsigned char>(s[i]);
        out.push_back(c >= 33 && c <= 126 ? static_cast<char>(c) : '_');
    }
    if (out.empty()) out = "-";
    return out;
}

Result<SyslogHeader> make_header(uint8_t facility, std::string_view hostname, std::string_view app_name,
                                 std::string_view procid, std::string_view msgid) {
    if (facility > 23)
        return fail("syslog", "facility " + std::to_string(facility) + " is out of range 0..23 (local5 = 21)");
    SyslogHeader h;
    h.facility = facility;
    const std::string host = hostname.empty() ? alert::local_hostname() : std::string(hostname);
    const std::string pid = procid.empty() ? std::to_string(::getpid()) : std::string(procid);
    h.hostname = sanitize_field(host, 255);
    h.app_name = sanitize_field(app_name, 48);
    h.procid = sanitize_field(pid, 128);
    h.msgid = sanitize_field(msgid, 32);
    return h;
}

void append_rfc3339_utc(uint64_t ts_ns, std::string& out) {
    const time_t sec = static_cast<time_t>(ts_ns / 1'000'000'000u);
    const unsigned usec = static_cast<unsigned>((ts_ns % 1'000'000'000u) / 1000u);
    struct tm tm {};
    gmtime_r(&sec, &tm);
    char buf[40];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
    out.append(buf, static_cast<size_t>(n));
}

void format_rfc5424(const SyslogHeader& h, uint8_t severity, uint64_t ts_ns, std::string_view msg,
                    std::string& out) {
    const unsigned pri = unsigned(h.facility) * 8u + (severity & 7u);
    out.push_back('<');
    out += std::to_string(pri);
    out += ">1 ";
    append_rfc3339_utc(ts_ns, out);
    out.push_back(' ');
    out += h.hostname;
    out.push_back(' ');
    out += h.app_name;
    out.push_back(' ');
    out += h.procid;
    out.push_back(' ');
    out += h.msgid;
    out += " - ";  // no STRUCTURED-DATA: everything is in the JSON
    if (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
    const size_t start = out.size();
    out += msg;
    for (size_t i = start; i < out.size(); i++)
        if (out[i] == '\n' || out[i] == '\r' || out[i] == '\0') out[i] = ' ';
}

}  // namespace vtap::output
