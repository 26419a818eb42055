// Suricata-compatible EVE JSON for alerts: one AlertRecord -> one line, the
// field names, value formats and order of Suricata 7's alert events (output-
// json.c CreateEveHeader, output-json-alert.c), plus the VXLAN VNI in the
// tunnel object. Cold path: runs on the output thread, never on a worker.
#pragma once

#include <cstdint>
#include <string>

#include "alert/alert_record.hpp"

namespace vtap::alert {

struct EveOptions {
    std::string host;              // "host" (Suricata: sensor-name); "" = omitted
    std::string in_iface;          // "in_iface"; "" = omitted
    bool local_time = false;       // false: UTC, "+0000"; true: local zone, as Suricata's default
    bool community_id = true;
    uint16_t community_id_seed = 0;
    bool payload = true;           // "payload": base64 of the excerpt (lossless)
    bool payload_printable = true; // "payload_printable": Suricata's printable rendering
    uint16_t vxlan_port = 4789;    // tunnel "dest_port" (decap accepts only this port)
};

// The machine's host name (gethostname), or "" when it has none.
std::string local_hostname();

// Suricata's name for an IP protocol ("TCP", "IPv6-ICMP"), or its decimal
// number when Suricata has no name for it.
std::string_view proto_name(uint8_t ip_proto, char (&num)[4]) noexcept;

// Flow ids are printed masked to 53 bits so that every JSON reader, including
// those that parse numbers as IEEE doubles, reads the exact value.
inline constexpr uint64_t kFlowIdMask = (uint64_t{1} << 53) - 1;

class EveFormatter {
public:
    explicit EveFormatter(EveOptions opts);

    // Appends one EVE line for `rec`, terminated by '\n', to `out`. The line
    // contains no other newline and is valid UTF-8 JSON whatever the record
    // holds. Not thread-safe (caches the formatted second): one per thread.
    void format(const AlertRecord& rec, std::string& out);

    // "2026-11-21T23:55:26.123456+0000": Suricata's CreateIsoTimeString,
    // microseconds, numeric zone without a colon.
    void append_timestamp(uint64_t ts_ns, std::string& out);

    const EveOptions& options() const noexcept { return opts_; }

private:
    EveOptions opts_;
    std::string host_json_;   // pre-escaped
    std::string iface_json_;  // pre-escaped
    int64_t cached_sec_ = INT64_MIN;
    char cached_prefix_[32] = {};  // "YYYY-MM-DDTHH:MM:SS"
    size_t cached_prefix_len_ = 0;
    char cached_zone_[8] = {};     // "+0000"
};

}  // namespace vtap::alert
