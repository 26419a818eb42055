// What the configuration says about each alert output and the alert-storm
// limit, as plain values: lib/config fills these from YAML (`outputs:`,
// `alerts.rate_limit`), lib/output builds the senders from them. Header only,
// so config depends on no socket code.
#pragma once

#include <cstdint>
#include <string>

#include "output/tls_config.hpp"

namespace vtap::output {

enum class OutputType : uint8_t { kEve, kSyslog };
enum class Transport : uint8_t { kUdp, kTcp, kTls, kUnix };
// kRfc5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG` (network syslog).
// kLocal: `<PRI>Mmm dd hh:mm:ss APP[PID]: MSG`, what glibc's syslog(3)
// writes to /dev/log and what rsyslog imuxsock's default parser and
// systemd-journald read.
enum class MessageFormat : uint8_t { kRfc5424, kLocal };

inline constexpr uint16_t kSyslogPort = 514;      // RFC 5426 (UDP), customary for TCP
inline constexpr uint16_t kSyslogTlsPort = 6514;  // RFC 5425
inline constexpr uint32_t kUdpMaxMessage = 2048;  // RFC 5426 3.2: receivers SHOULD take 2048
inline constexpr uint32_t kUnixMaxMessage = 8192; // rsyslog's default maxMessageSize
inline constexpr const char* kDevLog = "/dev/log";

struct OutputSpec {
    std::string name;               // stats label, output.<name>.*: [a-z0-9_], unique
    OutputType type = OutputType::kEve;
    std::string path;               // eve: file or "-" (stdout); syslog unix: socket path
    // syslog only
    Transport transport = Transport::kUdp;
    MessageFormat format = MessageFormat::kRfc5424;
    std::string host = "127.0.0.1";
    uint16_t port = kSyslogPort;
    uint8_t facility = 21;          // local5
    std::string app_name = "vtapd";
    std::string hostname;           // "" = this machine's name
    uint32_t queue_frames = 4096;   // messages waiting for the collector
    bool drop_newest = false;       // queue full: false drops the oldest, true refuses the new one
    uint32_t max_message_bytes = kUdpMaxMessage;  // datagram transports (udp, unix)
    TlsConfig tls;                  // transport tls
};

// Per-signature token bucket: at most `per_signature` alerts of one gid:sid
// in any `per_seconds` window on average, bursts up to `per_signature`.
// per_signature 0 = no limit.
struct RateLimitSpec {
    uint32_t per_signature = 0;
    uint32_t per_seconds = 1;
};

}  // namespace vtap::output
