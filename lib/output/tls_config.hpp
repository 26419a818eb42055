// TLS settings for syslog over TLS (RFC 5425), shared by the config parser
// (lib/config, `outputs: - type: syslog, transport: tls, tls: {...}`) and the
// sender (syslog_tcp.cpp, GnuTLS). Agreed here so both sides build against
// the same fields. Verification is on by default: a collector whose
// certificate does not chain to `ca_file` or does not carry `server_name`
// fails the handshake, and the sender reports why (fail closed).
#pragma once

#include <string>

namespace vtap::output {

struct TlsConfig {
    std::string ca_file;      // PEM bundle the collector's certificate must chain to; "" = system trust store
    std::string cert_file;    // optional client certificate (PEM), for collectors that require one
    std::string key_file;     // its private key (PEM); required when cert_file is set
    std::string server_name;  // name checked against the certificate and sent as SNI; "" = the configured host
    bool verify = true;       // false = encrypt without authenticating the collector (lab only; logged loudly)
};

}  // namespace vtap::output
