// GnuTLS client sessions for syslog over TLS (RFC 5425). The socket stays
// non-blocking; GnuTLS's own push function is replaced by send(MSG_NOSIGNAL)
// so a collector that vanished costs an EPIPE, never a SIGPIPE.
#include "output/tls_session.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace vtap::output {

namespace {

bool is_ip_literal(const std::string& s) {
    unsigned char buf[16];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Readable before handing the path to GnuTLS, whose own error for a missing
// file is an unhelpful "Error while reading file".
Result<void> check_readable(const std::string& path, const char* what, const std::string& where) {
    if (::access(path.c_str(), R_OK) != 0)
        return fail(where, std::string(what) + " " + path + ": " + std::strerror(errno));
    return {};
}

ssize_t push_nosignal(gnutls_transport_ptr_t p, const void* data, size_t len) {
    return ::send(static_cast<int>(reinterpret_cast<intptr_t>(p)), data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Why the collector's certificate was refused, in the words an operator
// searches for; GnuTLS's own wording for anything unusual.
std::string describe_verify_status(unsigned status, const std::string& name) {
    std::string out;
    auto add = [&](const std::string& s) { out += out.empty() ? s : "; " + s; };
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) add("certificate signed by unknown authority");
    if (status & GNUTLS_CERT_UNEXPECTED_OWNER) add("certificate is not valid for name '" + name + "'");
    if (status & GNUTLS_CERT_EXPIRED) add("certificate has expired");
    if (status & GNUTLS_CERT_NOT_ACTIVATED) add("certificate is not yet valid");
    if (status & GNUTLS_CERT_REVOKED) add("certificate is revoked");
    if (status & GNUTLS_CERT_INSECURE_ALGORITHM) add("certificate uses an insecure algorithm");
    if (out.empty()) {
        gnutls_datum_t txt{};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0) == 0) {
            add(reinterpret_cast<const char*>(txt.data));
            gnutls_free(txt.data);
        } else {
            add("certificate verification failed (status " + std::to_string(status) + ")");
        }
    }
    return out;
}

}  // namespace

Result<std::shared_ptr<const TlsCredentials>> TlsCredentials::load(const TlsConfig& cfg, std::string_view host) {
    const std::string where = "syslog tls " + std::string(host);
    if (cfg.cert_file.empty() != cfg.key_file.empty())
        return fail(where, "cert_file and key_file go together: set both for a client certificate, or neither");
    if (!cfg.ca_file.empty())
        if (auto r = check_readable(cfg.ca_file, "CA file", where); !r) return std::unexpected(r.error());
    if (!cfg.cert_file.empty()) {
        if (auto r = check_readable(cfg.cert_file, "client certificate", where); !r) return std::unexpected(r.error());
        if (auto r = check_readable(cfg.key_file, "client key", where); !r) return std::unexpected(r.error());
    }
    std::shared_ptr<TlsCredentials> c(new TlsCredentials());
    c->verify_ = cfg.verify;
    c->check_name_ = cfg.server_name.empty() ? std::string(host) : cfg.server_name;
    if (int rc = gnutls_certificate_allocate_credentials(&c->cred_); rc < 0)
        return fail(where, std::string("cannot allocate TLS credentials: ") + gnutls_strerror(rc));
    if (!cfg.ca_file.empty()) {
        const int n = gnutls_certificate_set_x509_trust_file(c->cred_, cfg.ca_file.c_str(), GNUTLS_X509_FMT_PEM);
        if (n < 0) return fail(where, "CA file " + cfg.ca_file + ": " + gnutls_strerror(n));
        if (n == 0) return fail(where, "CA file " + cfg.ca_file + ": no PEM certificate in it");
    } else if (cfg.verify) {
        const int n = gnutls_certificate_set_x509_system_trust(c->cred_);
        if (n <= 0)
            return fail(where, "no ca_file given and the system trust store has no certificates" +
                                   (n < 0 ? std::string(": ") + gnutls_strerror(n) : std::string()));
    }
    if (!cfg.cert_file.empty()) {
        const int rc = gnutls_certificate_set_x509_key_file(c->cred_, cfg.cert_file.c_str(), cfg.key_file.c_str(),
                                                            GNUTLS_X509_FMT_PEM);
        if (rc < 0)
            return fail(where, "client certificate " + cfg.cert_file + " with key " + cfg.key_file + ": " +
                                   gnutls_strerror(rc));
        c->has_client_cert_ = true;
    }
    return std::shared_ptr<const TlsCredentials>(std::move(c));
}

TlsCredentials::~TlsCredentials() {
    if (cred_) gnutls_certificate_free_credentials(cred_);
}

Result<TlsSession> TlsSession::start(std::shared_ptr<const TlsCredentials> creds, int fd, std::string endpoint) {
    TlsSession s;
    s.creds_ = std::move(creds);
    s.endpoint_ = std::move(endpoint);
    const std::string where = "syslog tls " + s.endpoint_;
    if (int rc = gnutls_init(&s.session_, GNUTLS_CLIENT | GNUTLS_NONBLOCK); rc < 0)
        return fail(where, std::string("gnutls_init: ") + gnutls_strerror(rc));
    // RFC 5425 as updated by RFC 9662: TLS 1.2 or later.
    const char* err_pos = nullptr;
    if (int rc = gnutls_set_default_priority_append(s.session_, "-VERS-TLS1.1:-VERS-TLS1.0", &err_pos, 0); rc < 0)
        return fail(where, std::string("TLS priorities: ") + gnutls_strerror(rc));
    if (int rc = gnutls_credentials_set(s.session_, GNUTLS_CRD_CERTIFICATE, s.creds_->cred_); rc < 0)
        return fail(where, std::string("TLS credentials: ") + gnutls_strerror(rc));
    const std::string& name = s.creds_->check_name_;
    // RFC 6066 3: SNI carries DNS names only, never an address literal.
    if (!name.empty() && !is_ip_literal(name))
        if (int rc = gnutls_server_name_set(s.session_, GNUTLS_NAME_DNS, name.data(), name.size()); rc < 0)
            return fail(where, std::string("SNI: ") + gnutls_strerror(rc));
    // The name pointer must outlive the session: it lives in the shared credentials.
    if (s.creds_->verify_) gnutls_session_set_verify_cert(s.session_, name.c_str(), 0);
    gnutls_transport_set_int(s.session_, fd);
    gnutls_transport_set_push_function(s.session_, push_nosignal);
    return s;
}

TlsSession::TlsSession(TlsSession&& o) noexcept
    : session_(std::exchange(o.session_, nullptr)), creds_(std::move(o.creds_)), endpoint_(std::move(o.endpoint_)),
      error_(std::move(o.error_)), verify_failed_(o.verify_failed_) {}

TlsSession& TlsSession::operator=(TlsSession&& o) noexcept {
    if (this != &o) {
        release();
        session_ = std::exchange(o.session_, nullptr);
        creds_ = std::move(o.creds_);
        endpoint_ = std::move(o.endpoint_);
        error_ = std::move(o.error_);
        verify_failed_ = o.verify_failed_;
    }
    return *this;
}

TlsSession::~TlsSession() { release(); }

void TlsSession::release() noexcept {
    if (session_) gnutls_deinit(session_);
    session_ = nullptr;
}

void TlsSession::set_error(int rc, std::string_view during) {
    if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        verify_failed_ = true;
        error_ = describe_verify_status(gnutls_session_get_verify_cert_status(session_), creds_->check_name_) +
                 " for " + endpoint_;
        return;
    }
    error_ = std::string(during) + " with " + endpoint_ + " failed: " + gnutls_strerror(rc);
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
        error_ += std::string(" (") + gnutls_alert_get_name(gnutls_alert_get(session_)) + ")";
}

// Loops below retry EINTR and non-fatal results (warning alerts, session
// tickets) a bounded number of times, so a chatty peer cannot hold poll().
constexpr int kMaxRetries = 64;

TlsIo TlsSession::handshake() {
    for (int i = 0; i < kMaxRetries; i++) {
        const int rc = gnutls_handshake(session_);
        if (rc == GNUTLS_E_SUCCESS) return TlsIo::kOk;
        if (rc == GNUTLS_E_AGAIN) return TlsIo::kAgain;
        if (rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(rc)) continue;  // e.g. a warning alert
        set_error(rc, "TLS handshake");
        return TlsIo::kError;
    }
    return TlsIo::kAgain;
}

TlsIo TlsSession::send(const char* data, size_t len, size_t& written) {
    for (;;) {
        const ssize_t rc = gnutls_record_send(session_, data, len);
        if (rc > 0) {
            written = size_t(rc);
            return TlsIo::kOk;
        }
        if (rc == GNUTLS_E_AGAIN) return TlsIo::kAgain;
        if (rc == GNUTLS_E_INTERRUPTED) continue;  // same data, same length: the retry contract
        set_error(int(rc), "TLS send");
        return TlsIo::kError;
    }
}

TlsIo TlsSession::drain_input() {
    char sink[1024];
    for (int i = 0; i < kMaxRetries; i++) {
        const ssize_t rc = gnutls_record_recv(session_, sink, sizeof sink);
        if (rc > 0) continue;  // a collector has nothing to say; ignore it
        if (rc == 0) return TlsIo::kClosed;
        if (rc == GNUTLS_E_AGAIN) return TlsIo::kOk;
        if (rc == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(int(rc))) continue;
        if (rc == GNUTLS_E_PREMATURE_TERMINATION) return TlsIo::kClosed;
        set_error(int(rc), "TLS receive");
        return TlsIo::kError;
    }
    return TlsIo::kOk;
}

bool TlsSession::wants_write() const noexcept { return session_ && gnutls_record_get_direction(session_) == 1; }

void TlsSession::bye() noexcept {
    if (session_) gnutls_bye(session_, GNUTLS_SHUT_WR);  // non-blocking: one try, result ignored
}

}  // namespace vtap::output
