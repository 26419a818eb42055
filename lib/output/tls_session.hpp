// The TLS half of syslog over TLS (RFC 5425), GnuTLS underneath: credentials
// loaded once at start-up (TlsCredentials) and one client session per TCP
// connection (TlsSession) on the sender's own non-blocking socket. Nothing
// here blocks: handshake/send/drain report kAgain and the sender calls again
// from its next poll(). GnuTLS types stay out of this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "output/tls_config.hpp"

struct gnutls_session_int;
struct gnutls_certificate_credentials_st;

namespace vtap::output {

enum class TlsIo : uint8_t {
    kOk,      // done (handshake complete, bytes accepted, input drained)
    kAgain,   // the socket would block: call again later (send: with the same bytes)
    kClosed,  // the collector closed the session (close_notify or EOF)
    kError,   // fatal: error() says why; the connection must be dropped
};

// Trust anchors, the optional client certificate and the name to verify,
// validated and loaded once; immutable afterwards, shared by every session.
class TlsCredentials {
public:
    // `host` is the configured collector host, the name checked when
    // cfg.server_name is empty. Errors name the file and what is wrong with it.
    static Result<std::shared_ptr<const TlsCredentials>> load(const TlsConfig& cfg, std::string_view host);
    ~TlsCredentials();
    TlsCredentials(const TlsCredentials&) = delete;
    TlsCredentials& operator=(const TlsCredentials&) = delete;

    const std::string& check_name() const noexcept { return check_name_; }
    bool verify() const noexcept { return verify_; }
    bool has_client_cert() const noexcept { return has_client_cert_; }

private:
    TlsCredentials() = default;
    friend class TlsSession;
    gnutls_certificate_credentials_st* cred_ = nullptr;
    std::string check_name_;  // certificate subject the collector must present (and SNI, unless an IP)
    bool verify_ = true;
    bool has_client_cert_ = false;
};

// One client session over a connected non-blocking socket it does not own.
class TlsSession {
public:
    // Session set-up only (no I/O). `endpoint` ("127.0.0.1:6514") goes into errors.
    static Result<TlsSession> start(std::shared_ptr<const TlsCredentials> creds, int fd, std::string endpoint);
    TlsSession(TlsSession&&) noexcept;
    TlsSession& operator=(TlsSession&&) noexcept;
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;
    ~TlsSession();

    // Advances the handshake as far as the socket allows. kOk once complete
    // and, with verify on, the certificate chains to the CA and names the
    // collector; a failed verification is kError with verify_failed() set.
    TlsIo handshake();

    // Encrypts and sends up to `len` bytes as records. kOk sets `written`
    // (> 0, may be < len). kAgain: GnuTLS holds a record in progress and the
    // next call MUST pass the same `data` and `len` (the retry contract of
    // gnutls_record_send).
    TlsIo send(const char* data, size_t len, size_t& written);

    // Reads whatever the collector sent (TLS 1.3 session tickets, alerts)
    // and discards application data, without blocking.
    TlsIo drain_input();

    // The last call stopped because the socket would block on a write (poll
    // for POLLOUT) rather than on a read (POLLIN).
    bool wants_write() const noexcept;

    // Best-effort close_notify (one non-blocking attempt), before the fd closes.
    void bye() noexcept;

    const std::string& error() const noexcept { return error_; }
    bool verify_failed() const noexcept { return verify_failed_; }

private:
    TlsSession() = default;
    void set_error(int rc, std::string_view during);
    void release() noexcept;

    gnutls_session_int* session_ = nullptr;
    std::shared_ptr<const TlsCredentials> creds_;  // outlives the session: GnuTLS keeps pointers into it
    std::string endpoint_;
    std::string error_;
    bool verify_failed_ = false;
};

}  // namespace vtap::output
