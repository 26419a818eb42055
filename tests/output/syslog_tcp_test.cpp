// SyslogTcpSender against a plain loopback receiver in the test: octet
// counting, partial writes (a small per-poll byte budget forces them), a
// connection lost mid-frame, the drop policies, and a refused connection.
#include <catch2/catch.hpp>

#include "tests/output/syslog_harness.hpp"

using namespace vtap::output;
using vtap::test::unframe;

namespace {

// A listening socket on 127.0.0.1 with a port of its own.
struct Listener {
    int fd = -1;
    uint16_t port = 0;
    Listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 4) == 0);
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port = ntohs(a.sin_port);
    }
    ~Listener() { ::close(fd); }
    // Accepts one connection, polling the sender meanwhile (at most 2 s).
    int accept_while(SyslogTcpSender& s) {
        for (int i = 0; i < 400; i++) {
            s.poll(SyslogTcpSender::monotonic_ns());
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 5) > 0) return ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        return -1;
    }
};

// Reads what is available without waiting.
void drain(int c, std::string& stream) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(c, buf, sizeof buf, MSG_DONTWAIT)) > 0;) stream.append(buf, size_t(n));
}

std::string message(int i, size_t size) {
    std::string m = "<173>1 2026-11-21T23:55:26.000000Z h vtapd 1 alert - {\"i\":" + std::to_string(i) + ",\"pad\":\"";
    m.append(size > m.size() + 2 ? size - m.size() - 2 : 0, char('a' + i % 26));
    return m + "\"}";
}

}  // namespace

TEST_CASE("frames cut into many partial writes arrive whole, in order, once each", "[output][syslog][tcp]") {
    Listener l;
    auto s = SyslogTcpSender::create({.host = "127.0.0.1", .port = l.port, .max_bytes_per_poll = 777});
    REQUIRE(s);
    std::vector<std::string> sent;
    for (int i = 0; i < 300; i++) {
        sent.push_back(message(i, 100 + size_t(i) * 37 % 5000));
        REQUIRE(s->enqueue(sent.back()));
    }
    const int c = l.accept_while(*s);
    REQUIRE(c >= 0);
    std::string stream;
    for (int i = 0; i < 20000 && s->queued_frames() > 0; i++) {
        s->poll(SyslogTcpSender::monotonic_ns());
        drain(c, stream);
    }
    vtap::test::sleep_ms(20);
    drain(c, stream);
    ::close(c);
    std::vector<std::string> got;
    REQUIRE(unframe(stream, got));
    CHECK(got == sent);
    uint64_t bytes = 0;
    for (auto& m : sent) bytes += std::to_string(m.size()).size() + 1 + m.size();
    CHECK(stream.size() == bytes);
    CHECK(s->counters().sent.get() == 300);
    CHECK(s->counters().bytes.get() == bytes);
    CHECK(s->counters().connects.get() == 1);
    CHECK(s->counters().reconnects.get() == 0);
}

TEST_CASE("a connection lost in the middle of a frame is re-established and the frame sent again whole",
          "[output][syslog][tcp]") {
    Listener l;
    auto s = SyslogTcpSender::create({.host = "127.0.0.1", .port = l.port, .backoff_min_ns = 1'000'000,
                                      .backoff_max_ns = 4'000'000, .max_bytes_per_poll = 10});
    REQUIRE(s);
    std::vector<std::string> sent;
    for (int i = 0; i < 5; i++) {
        sent.push_back(message(i, 200));
        REQUIRE(s->enqueue(sent.back()));
    }
    const int c1 = l.accept_while(*s);  // the polls wrote 10-byte pieces of frame 0
    REQUIRE(c1 >= 0);
    std::string first;
    drain(c1, first);
    REQUIRE(!first.empty());
    REQUIRE(first.size() < 200);  // frame 0 is not complete
    ::close(c1);

    const int c2 = l.accept_while(*s);
    REQUIRE(c2 >= 0);
    std::string stream;
    for (int i = 0; i < 5000 && s->queued_frames() > 0; i++) {
        s->poll(SyslogTcpSender::monotonic_ns());
        drain(c2, stream);
    }
    vtap::test::sleep_ms(20);
    drain(c2, stream);
    ::close(c2);
    std::vector<std::string> got;
    REQUIRE(unframe(stream, got));  // the new connection starts on a frame boundary
    CHECK(got == sent);
    CHECK(s->counters().disconnects.get() == 1);
    CHECK(s->counters().resent_partial.get() == 1);
    CHECK(s->counters().reconnects.get() == 1);
    CHECK(s->counters().sent.get() == 5);
}

TEST_CASE("a full queue drops the oldest frames by default and counts them", "[output][syslog][tcp]") {
    Listener l;
    auto s = SyslogTcpSender::create({.host = "127.0.0.1", .port = l.port, .queue_frames = 3});
    REQUIRE(s);
    for (int i = 0; i < 5; i++) CHECK(s->enqueue(message(i, 50)));
    CHECK(s->counters().dropped_full.get() == 2);
    CHECK(s->counters().queued.get() == 5);
    CHECK(s->queued_frames() == 3);
    REQUIRE(s->flush(SyslogTcpSender::monotonic_ns() + 2'000'000'000));
    const int c = ::accept(l.fd, nullptr, nullptr);
    REQUIRE(c >= 0);
    vtap::test::sleep_ms(20);
    std::string stream;
    drain(c, stream);
    ::close(c);
    std::vector<std::string> got;
    REQUIRE(unframe(stream, got));
    CHECK(got == std::vector<std::string>{message(2, 50), message(3, 50), message(4, 50)});
}

TEST_CASE("with drop-newest a full queue refuses new frames and keeps the queued ones", "[output][syslog][tcp]") {
    auto s = SyslogTcpSender::create(
        {.host = "127.0.0.1", .port = vtap::test::free_port(), .queue_frames = 2, .drop = DropPolicy::kNewest});
    REQUIRE(s);
    CHECK(s->enqueue("a"));
    CHECK(s->enqueue("b"));
    CHECK_FALSE(s->enqueue("c"));
    CHECK(s->counters().dropped_full.get() == 1);
    CHECK(s->queued_frames() == 2);
}

TEST_CASE("a refused connection backs off and flush reports the undelivered frames", "[output][syslog][tcp]") {
    auto s = SyslogTcpSender::create({.host = "127.0.0.1", .port = vtap::test::free_port(),
                                      .backoff_min_ns = 20'000'000, .backoff_max_ns = 40'000'000});
    REQUIRE(s);
    REQUIRE(s->enqueue("x"));
    const uint64_t t0 = SyslogTcpSender::monotonic_ns();
    s->poll(t0);
    s->poll(SyslogTcpSender::monotonic_ns());
    CHECK(s->state() == SenderState::kDisconnected);
    CHECK(s->counters().connect_failures.get() == 1);
    s->poll(t0 + 10'000'000);  // within the 20 ms backoff: no new attempt
    CHECK(s->counters().connect_failures.get() == 1);
    auto r = s->flush(SyslogTcpSender::monotonic_ns() + 150'000'000);
    REQUIRE_FALSE(r);
    CHECK(r.error().what.find("1 frames not delivered") != std::string::npos);
    CHECK(r.error().where.find("127.0.0.1:") != std::string::npos);
    // 150 ms with backoff 20, 40, 40, 40 ms: a handful of attempts, not a spin.
    CHECK(s->counters().connect_failures.get() >= 3);
    CHECK(s->counters().connect_failures.get() <= 6);
}

TEST_CASE("a bad configuration is an error that names the endpoint", "[output][syslog][tcp]") {
    auto a = SyslogTcpSender::create({.host = "127.0.0.1", .port = 0});
    REQUIRE_FALSE(a);
    CHECK(a.error().where == "syslog tcp 127.0.0.1:0");
    CHECK_FALSE(SyslogTcpSender::create({.host = "127.0.0.1", .port = 514, .queue_frames = 0}));
    auto b = SyslogTcpSender::create({.host = "no such host.invalid", .port = 514});
    REQUIRE_FALSE(b);
    CHECK(b.error().what.find("resolve") != std::string::npos);
}
