// Alerts per second from one output thread to a local rsyslogd (issue 4):
// EVE JSON + RFC 5424 formatting, queueing and sending through
// SyslogTcpSender, over TCP and over TLS, against a baseline measured in the
// same run: a minimal writer sending the same pre-formatted frames (same
// bytes, same sizes) one blocking send() (or one TLS record) per frame.
// Needs rsyslogd with the gtls driver and certtool (scripts/setup.sh);
// without them it prints why and exits 77.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "output/tls_session.hpp"
#include "tests/output/syslog_harness.hpp"

using namespace vtap;
using namespace vtap::output;

namespace {

constexpr size_t kAlerts = 1024;  // per iteration: one burst, sent completely
constexpr size_t kPollEvery = 64;  // alerts formatted between two sender polls

// One rsyslogd for plain TCP and one for TLS, started once per process.
// They parse every message and store none (`stop`): with omfile writing two
// files per message rsyslogd itself tops out near 30k messages/s here, and
// both sender and baseline would measure only that.
struct Collectors {
    test::TempDir tcp_dir, tls_dir;
    test::TestPki pki = test::make_pki(tls_dir);
    uint16_t tcp_port = test::free_port();
    uint16_t tls_port = test::free_port();
    test::RsyslogTls tcp{tcp_dir, tcp_port, test::RsyslogOptions{.discard = true}};
    test::RsyslogTls tls{tls_dir, tls_port, test::RsyslogOptions{.pki = &pki, .discard = true}};
    Collectors() {
        if (!test::wait_listening(tcp_port, 20000) || !test::wait_listening(tls_port, 20000))
            throw std::runtime_error("rsyslogd did not start:\n" + test::read_file_or_empty(tcp.log()) +
                                     test::read_file_or_empty(tls.log()));
    }
};

Collectors& collectors() {
    static Collectors c;
    return c;
}

std::vector<alert::AlertRecord> records() {
    std::vector<alert::AlertRecord> r;
    for (uint32_t i = 0; i < kAlerts; i++) r.push_back(test::sample_alert(2'000'000 + i));
    return r;
}

SyslogHeader header() { return *make_header(kFacilityLocal5, "sensor-1", "vtapd", "4242", "alert"); }

// The frames the sender would put on the wire for records(), for the baseline.
std::vector<std::string> frames(size_t& bytes) {
    alert::EveFormatter f{alert::EveOptions{.host = "sensor-1"}};
    const SyslogHeader h = header();
    std::vector<std::string> out;
    bytes = 0;
    for (const auto& rec : records()) {
        const std::string m = test::syslog_message(f, h, rec);
        out.push_back(std::to_string(m.size()) + " " + m);
        bytes += out.back().size();
    }
    return out;
}

void wait_writable(int fd) {
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 1);
}

// What vtapd's output thread does per alert, then polls until the kernel
// (or GnuTLS) has taken every frame.
void run_sender(benchmark::State& st, SyslogTcpConfig cfg) {
    cfg.queue_frames = 2 * kAlerts;
    auto s = SyslogTcpSender::create(std::move(cfg));
    if (!s) return st.SkipWithError(s.error().to_string().c_str());
    const auto recs = records();
    alert::EveFormatter f{alert::EveOptions{.host = "sensor-1"}};
    const SyslogHeader h = header();
    std::string line, msg;
    line.reserve(4096);
    msg.reserve(4096);
    const uint64_t bytes0 = s->counters().bytes.get();
    for (auto _ : st) {
        for (size_t i = 0; i < recs.size(); i++) {
            line.clear();
            msg.clear();
            f.format(recs[i], line);
            format_alert(h, recs[i], line, msg);
            s->enqueue(msg);
            // As the output thread does: a poll per batch drained from the
            // alert ring, so the collector is fed while the rest is formatted.
            if (i % kPollEvery == kPollEvery - 1) s->poll(SyslogTcpSender::monotonic_ns());
        }
        for (int spins = 0; s->queued_frames() > 0; spins++) {
            s->poll(SyslogTcpSender::monotonic_ns());
            if (s->queued_frames() == 0) break;
            if (s->fd() >= 0) wait_writable(s->fd());
            if (spins > 2'000'000) return st.SkipWithError(("collector stalled: " + s->last_error()).c_str());
        }
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(kAlerts));
    st.SetBytesProcessed(int64_t(s->counters().bytes.get() - bytes0));
    st.counters["reconnects"] = double(s->counters().reconnects.get());
}

int connect_blocking(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void BM_SyslogTcpBurst(benchmark::State& st) {
    run_sender(st, SyslogTcpConfig{.host = "127.0.0.1", .port = collectors().tcp_port});
}

void BM_SyslogTlsBurst(benchmark::State& st) {
    run_sender(st, SyslogTcpConfig{.host = "127.0.0.1", .port = collectors().tls_port,
                                   .tls = TlsConfig{.ca_file = collectors().pki.ca}});
}

// Baseline: pre-formatted frames, one blocking send() each, no queue.
void BM_RawTcpBurst(benchmark::State& st) {
    size_t bytes = 0;
    const auto fr = frames(bytes);
    const int fd = connect_blocking(collectors().tcp_port);
    if (fd < 0) return st.SkipWithError("cannot connect to rsyslogd");
    for (auto _ : st) {
        for (const auto& f : fr) {
            size_t off = 0;
            while (off < f.size()) {
                const ssize_t w = ::send(fd, f.data() + off, f.size() - off, MSG_NOSIGNAL);
                if (w <= 0) {
                    ::close(fd);
                    return st.SkipWithError("send failed");
                }
                off += size_t(w);
            }
        }
    }
    ::close(fd);
    st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(kAlerts));
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(bytes));
}

// Baseline over TLS: the same frames, one GnuTLS record each, no queue.
void BM_RawTlsBurst(benchmark::State& st) {
    size_t bytes = 0;
    const auto fr = frames(bytes);
    auto creds = TlsCredentials::load(TlsConfig{.ca_file = collectors().pki.ca}, "127.0.0.1");
    if (!creds) return st.SkipWithError(creds.error().to_string().c_str());
    const int fd = connect_blocking(collectors().tls_port);
    if (fd < 0) return st.SkipWithError("cannot connect to rsyslogd");
    auto tls = TlsSession::start(*creds, fd, "127.0.0.1");
    if (!tls) return st.SkipWithError(tls.error().to_string().c_str());
    TlsIo r;
    while ((r = tls->handshake()) == TlsIo::kAgain) wait_writable(fd);
    if (r != TlsIo::kOk) return st.SkipWithError(tls->error().c_str());
    for (auto _ : st) {
        for (const auto& f : fr) {
            size_t off = 0;
            while (off < f.size()) {
                size_t w = 0;
                r = tls->send(f.data() + off, f.size() - off, w);
                if (r == TlsIo::kAgain) {
                    wait_writable(fd);
                    continue;
                }
                if (r != TlsIo::kOk) return st.SkipWithError(tls->error().c_str());
                off += w;
            }
        }
    }
    tls->bye();
    ::close(fd);
    st.SetItemsProcessed(int64_t(st.iterations()) * int64_t(kAlerts));
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(bytes));
}

}  // namespace

BENCHMARK(BM_RawTcpBurst)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SyslogTcpBurst)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RawTlsBurst)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SyslogTlsBurst)->UseRealTime()->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
    for (const char* p : {test::Rsyslog::kBinary, test::RsyslogTls::kDriver, "/usr/bin/certtool"}) {
        if (::access(p, R_OK) != 0) {
            std::printf("SKIP: %s is absent (scripts/setup.sh installs rsyslog, rsyslog-gnutls, gnutls-bin)\n", p);
            return 77;
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    collectors();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
