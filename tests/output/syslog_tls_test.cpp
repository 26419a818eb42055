// Syslog over TLS (RFC 5425) against a real rsyslogd with the gtls netstream
// driver and certificates made by certtool at run time: every alert arrives
// once when the collector is verified; a wrong CA or a wrong name fails
// closed with a clear error and no byte of an alert reaches the collector;
// verify=false connects anyway (lab only); a client certificate is presented
// when configured. Exits 77 (skipped) without rsyslogd, its gtls driver or
// certtool (scripts/setup.sh installs rsyslog-gnutls and gnutls-bin).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include "tests/output/syslog_harness.hpp"

using namespace vtap;
using namespace vtap::output;
using vtap::test::RsyslogTls;
using vtap::test::TempDir;
using vtap::test::TestPki;

namespace {

constexpr uint64_t kMs = 1'000'000;
// Generous for a loaded CI machine: rsyslogd with gtls can take seconds to start.
constexpr int kStartMs = 20000;
constexpr int kDeliverMs = 20000;

SyslogTcpConfig tls_config(uint16_t port, TlsConfig tls) {
    return SyslogTcpConfig{.host = "127.0.0.1", .port = port, .backoff_min_ns = 20 * kMs,
                           .backoff_max_ns = 100 * kMs, .tls = std::move(tls)};
}

std::vector<uint32_t> enqueue_alerts(SyslogTcpSender& s, uint32_t first, uint32_t n) {
    auto h = make_header(kFacilityLocal5, "sensor-1", "vtapd", "4242", "alert");
    REQUIRE(h);
    alert::EveFormatter f{alert::EveOptions{.host = "sensor-1"}};
    std::vector<uint32_t> sids;
    for (uint32_t sid = first; sid < first + n; sid++) {
        REQUIRE(s.enqueue(test::syslog_message(f, *h, test::sample_alert(sid))));
        sids.push_back(sid);
    }
    return sids;
}

// The exact set, once each, every line valid RFC 5424 (rsyslog parsed the
// header into hdrs.log) with a JSON MSG.
void check_received(const RsyslogTls& rs, const std::vector<uint32_t>& expect) {
    auto got = test::json_sid_list(VTAP_PYTHON3, rs.msgs());
    std::sort(got.begin(), got.end());
    CHECK(got == expect);
    const std::string hdrs = test::read_file_or_empty(rs.hdrs());
    CHECK(test::count_lines(rs.hdrs()) == expect.size());
    size_t ok = 0;
    for (size_t i = 0; (i = hdrs.find("vtapd 4242 alert sensor-1\n", i)) != std::string::npos; i++) ok++;
    CHECK(ok == expect.size());
}

// A collector that refuses the sender: the handshake fails over and over,
// the queue keeps every frame, and the collector never receives one.
void check_failed_closed(const SyslogTcpSender& s, const RsyslogTls& rs, size_t queued) {
    CHECK(s.state() != SenderState::kConnected);
    CHECK(s.counters().connects.get() == 0);
    CHECK(s.counters().sent.get() == 0);
    CHECK(s.counters().bytes.get() == 0);
    CHECK(s.counters().tls_failures.get() >= 2);  // retried, with backoff
    CHECK(s.counters().tls_failures.get() == s.counters().connect_failures.get());
    CHECK(s.queued_frames() == queued);
    CHECK(rs.running());
    CHECK(test::count_lines(rs.msgs()) == 0);
}

}  // namespace

TEST_CASE("rsyslog over TLS receives every alert exactly once from a sender that verified it",
          "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const uint16_t port = test::free_port();
    RsyslogTls rs(dir, port, pki);
    REQUIRE(test::wait_listening(port, kStartMs));
    // Checked against the certificate's IP address SAN (127.0.0.1).
    auto s = SyslogTcpSender::create(tls_config(port, TlsConfig{.ca_file = pki.ca}));
    REQUIRE(s);
    CHECK(s->tls());
    const auto expect = enqueue_alerts(*s, 1000, 200);
    const bool ok = test::deliver_lines(*s, rs.msgs(), expect.size(), kDeliverMs);
    INFO("rsyslogd output: " << test::read_file_or_empty(rs.log()) << "\nlast error: " << s->last_error()
                              << "\nlines " << test::count_lines(rs.msgs()) << ", sent " << s->counters().sent.get()
                              << ", connects " << s->counters().connects.get());
    REQUIRE(ok);
    test::sleep_ms(100);  // nothing more may arrive
    rs.stop();
    check_received(rs, expect);
    CHECK(s->counters().sent.get() == 200);
    CHECK(s->counters().connects.get() == 1);
    CHECK(s->counters().tls_failures.get() == 0);
    CHECK(s->queued_frames() == 0);
}

TEST_CASE("a TLS collector restarted mid-run gets the rest of the alerts once each over a new session",
          "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const uint16_t port = test::free_port();
    // server_name: the DNS SAN is checked and sent as SNI.
    auto s = SyslogTcpSender::create(tls_config(port, TlsConfig{.ca_file = pki.ca, .server_name = "localhost"}));
    REQUIRE(s);
    std::vector<uint32_t> expect = enqueue_alerts(*s, 1, 50);
    {
        RsyslogTls rs(dir, port, pki);
        REQUIRE(test::wait_listening(port, kStartMs));  // the first connection is not a reconnect
        REQUIRE(test::deliver_lines(*s, rs.msgs(), 50, kDeliverMs));
        rs.stop();
    }
    const auto more = enqueue_alerts(*s, 51, 50);
    expect.insert(expect.end(), more.begin(), more.end());
    test::poll_for(*s, 200);  // notices the closed session; frames stay queued or go nowhere
    RsyslogTls rs(dir, port, pki);
    REQUIRE(test::wait_listening(port, kStartMs));
    const bool ok = test::deliver_lines(*s, rs.msgs(), 100, kDeliverMs);
    INFO("rsyslogd output: " << test::read_file_or_empty(rs.log()) << "\nlast error: " << s->last_error()
                              << "\nlines " << test::count_lines(rs.msgs()) << ", sent " << s->counters().sent.get()
                              << ", connects " << s->counters().connects.get());
    REQUIRE(ok);
    test::sleep_ms(100);
    rs.stop();
    check_received(rs, expect);
    CHECK(s->counters().sent.get() == 100);
    CHECK(s->counters().connects.get() == 2);
    CHECK(s->counters().reconnects.get() == 1);
    CHECK(s->counters().tls_failures.get() == 0);
}

TEST_CASE("a collector whose certificate is not signed by the configured CA fails closed with a clear error",
          "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const uint16_t port = test::free_port();
    RsyslogTls rs(dir, port, pki);
    REQUIRE(test::wait_listening(port, kStartMs));
    auto s = SyslogTcpSender::create(tls_config(port, TlsConfig{.ca_file = pki.other_ca}));
    REQUIRE(s);
    enqueue_alerts(*s, 1, 20);
    test::poll_for(*s, 500);
    CHECK(s->last_error() == "certificate signed by unknown authority for 127.0.0.1:" + std::to_string(port));
    check_failed_closed(*s, rs, 20);
    auto r = s->flush(SyslogTcpSender::monotonic_ns() + 50 * kMs);
    REQUIRE_FALSE(r);
    CHECK(r.error().what.find("certificate signed by unknown authority") != std::string::npos);
}

TEST_CASE("a collector whose certificate names another host fails closed", "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const uint16_t port = test::free_port();
    RsyslogTls rs(dir, port, pki);
    REQUIRE(test::wait_listening(port, kStartMs));
    auto s = SyslogTcpSender::create(
        tls_config(port, TlsConfig{.ca_file = pki.ca, .server_name = "siem.example.net"}));
    REQUIRE(s);
    enqueue_alerts(*s, 1, 20);
    test::poll_for(*s, 500);
    CHECK(s->last_error() ==
          "certificate is not valid for name 'siem.example.net' for 127.0.0.1:" + std::to_string(port));
    check_failed_closed(*s, rs, 20);
}

TEST_CASE("verify=false encrypts to a collector it cannot authenticate (lab only)", "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const uint16_t port = test::free_port();
    RsyslogTls rs(dir, port, pki);
    REQUIRE(test::wait_listening(port, kStartMs));
    auto s = SyslogTcpSender::create(
        tls_config(port, TlsConfig{.ca_file = pki.other_ca, .server_name = "siem.example.net", .verify = false}));
    REQUIRE(s);
    const auto expect = enqueue_alerts(*s, 500, 30);
    const bool ok = test::deliver_lines(*s, rs.msgs(), expect.size(), kDeliverMs);
    INFO("rsyslogd output: " << test::read_file_or_empty(rs.log()) << "\nlast error: " << s->last_error()
                              << "\nlines " << test::count_lines(rs.msgs()) << ", sent " << s->counters().sent.get()
                              << ", connects " << s->counters().connects.get());
    REQUIRE(ok);
    rs.stop();
    check_received(rs, expect);
    CHECK(s->counters().tls_failures.get() == 0);
}

TEST_CASE("a collector that requires a client certificate accepts the configured one and no sender without it",
          "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const uint16_t port = test::free_port();
    RsyslogTls rs(dir, port, pki, /*require_client_cert=*/true);
    REQUIRE(test::wait_listening(port, kStartMs));

    // Without a certificate: under TLS 1.3 the client finishes its handshake
    // before the server judges it, so the refusal shows as a lost session;
    // either way rsyslog stores nothing.
    auto anon = SyslogTcpSender::create(tls_config(port, TlsConfig{.ca_file = pki.ca}));
    REQUIRE(anon);
    enqueue_alerts(*anon, 1, 10);
    test::poll_for(*anon, 500);
    CHECK(anon->counters().disconnects.get() + anon->counters().tls_failures.get() >= 1);
    CHECK(test::count_lines(rs.msgs()) == 0);

    auto s = SyslogTcpSender::create(
        tls_config(port, TlsConfig{.ca_file = pki.ca, .cert_file = pki.client, .key_file = pki.client_key}));
    REQUIRE(s);
    const auto expect = enqueue_alerts(*s, 100, 40);
    const bool ok = test::deliver_lines(*s, rs.msgs(), expect.size(), kDeliverMs);
    INFO("rsyslogd output: " << test::read_file_or_empty(rs.log()) << "\nlast error: " << s->last_error()
                              << "\nlines " << test::count_lines(rs.msgs()) << ", sent " << s->counters().sent.get()
                              << ", connects " << s->counters().connects.get());
    REQUIRE(ok);
    test::sleep_ms(100);
    rs.stop();
    check_received(rs, expect);
    CHECK(s->counters().tls_failures.get() == 0);
}

TEST_CASE("a TLS sender never writes an alert in plaintext, even to a peer that does not speak TLS",
          "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(l, 4) == 0);
    REQUIRE(::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    auto s = SyslogTcpSender::create(tls_config(ntohs(a.sin_port), TlsConfig{.ca_file = pki.ca}));
    REQUIRE(s);
    REQUIRE(s->enqueue("<173>1 - - vtapd - alert - {\"secret\":\"plaintext-marker\"}"));
    std::string seen;
    int c = -1;
    for (int i = 0; i < 300 && c < 0; i++) {
        s->poll(SyslogTcpSender::monotonic_ns());
        pollfd p{l, POLLIN, 0};
        if (::poll(&p, 1, 5) > 0) c = ::accept(l, nullptr, nullptr);
    }
    REQUIRE(c >= 0);
    for (int i = 0; i < 50; i++) {
        s->poll(SyslogTcpSender::monotonic_ns());
        char buf[4096];
        const ssize_t n = ::recv(c, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) seen.append(buf, size_t(n));
        test::sleep_ms(2);
    }
    ::close(c);  // a plain peer hangs up on the ClientHello
    test::poll_for(*s, 100);
    ::close(l);
    REQUIRE(seen.size() >= 5);
    CHECK(uint8_t(seen[0]) == 0x16);  // TLS handshake record: a ClientHello
    CHECK(uint8_t(seen[1]) == 0x03);
    CHECK(seen.find("plaintext-marker") == std::string::npos);
    CHECK(s->counters().sent.get() == 0);
    CHECK(s->counters().tls_failures.get() >= 1);
    CHECK(s->queued_frames() == 1);
}

TEST_CASE("TLS settings that name a missing file or half a key pair are errors at create",
          "[output][syslog][tls]") {
    TempDir dir;
    const TestPki pki = test::make_pki(dir);
    auto a = SyslogTcpSender::create(tls_config(6514, TlsConfig{.ca_file = dir / "nope.pem"}));
    REQUIRE_FALSE(a);
    CHECK(a.error().what == "CA file " + (dir / "nope.pem") + ": No such file or directory");
    CHECK(a.error().where == "syslog tcp 127.0.0.1:6514");
    auto b = SyslogTcpSender::create(tls_config(6514, TlsConfig{.ca_file = pki.ca, .cert_file = pki.client}));
    REQUIRE_FALSE(b);
    CHECK(b.error().what.find("cert_file and key_file go together") != std::string::npos);
    auto c = SyslogTcpSender::create(
        tls_config(6514, TlsConfig{.ca_file = pki.ca, .cert_file = pki.client, .key_file = dir / "gone.pem"}));
    REQUIRE_FALSE(c);
    CHECK(c.error().what == "client key " + (dir / "gone.pem") + ": No such file or directory");
    // A file that exists but holds no certificate.
    auto d = SyslogTcpSender::create(tls_config(6514, TlsConfig{.ca_file = dir / "ca.tmpl"}));
    REQUIRE_FALSE(d);
    CHECK(d.error().what.find("CA file " + (dir / "ca.tmpl")) == 0);
    // Client certificate and key that do not belong together.
    auto e = SyslogTcpSender::create(
        tls_config(6514, TlsConfig{.ca_file = pki.ca, .cert_file = pki.client, .key_file = pki.server_key}));
    REQUIRE_FALSE(e);
    CHECK(e.error().what.find("client certificate " + pki.client) == 0);
}

int main(int argc, char** argv) {
    for (const char* p : {test::Rsyslog::kBinary, RsyslogTls::kDriver, "/usr/bin/certtool"}) {
        if (::access(p, R_OK) != 0) {
            std::printf("SKIP: %s is absent (scripts/setup.sh installs rsyslog, rsyslog-gnutls, gnutls-bin)\n", p);
            return 77;
        }
    }
    return Catch::Session().run(argc, argv);
}
