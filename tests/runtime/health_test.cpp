// Health: the monitor's verdicts from counter samples, and the HTTP
// responder answering them over a real loopback socket.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "runtime/health.hpp"

using vtap::runtime::HealthMonitor;
using vtap::runtime::HealthSample;
using vtap::runtime::HealthServer;
using vtap::runtime::HealthVerdict;

namespace {

vtap::config::HealthConfig settings() {
    vtap::config::HealthConfig c;
    c.stall_ms = 1000;
    c.window_s = 10;
    c.max_drop_ratio = 0.01;
    return c;
}

HealthSample sample(uint64_t t_ms, uint64_t progress, uint64_t backlog, uint64_t received = 0, uint64_t lost = 0) {
    HealthSample s;
    s.now_ms = t_ms;
    s.lanes.push_back({"worker0", progress, backlog});
    s.received = received;
    s.lost = lost;
    return s;
}

}  // namespace

TEST_CASE("health reports a worker stalled once it has queued input and no progress for stall_ms", "[runtime][health]") {
    HealthMonitor m(settings());
    m.update(sample(0, 100, 50));
    m.update(sample(500, 200, 50));  // progress: fine
    CHECK(m.verdict().ok);
    m.update(sample(1400, 200, 50));  // 900 ms without progress: not yet
    CHECK(m.verdict().ok);
    m.update(sample(1500, 200, 50));  // 1000 ms
    REQUIRE_FALSE(m.verdict().ok);
    CHECK(m.verdict().reason == "worker0 stalled: 50 frames queued, no progress for 1000 ms");
    m.update(sample(1600, 201, 50));  // it moved again
    CHECK(m.verdict().ok);
}

TEST_CASE("health does not call an idle worker stalled", "[runtime][health]") {
    HealthMonitor m(settings());
    for (uint64_t t = 0; t <= 10000; t += 100) m.update(sample(t, 7, 0));
    CHECK(m.verdict().ok);
}

TEST_CASE("health reports a drop ratio above max_drop_ratio over the window", "[runtime][health]") {
    HealthMonitor m(settings());
    m.update(sample(0, 0, 0, 0, 0));
    m.update(sample(1000, 0, 0, 10000, 100));  // exactly 1%: not above
    CHECK(m.verdict().ok);
    CHECK(m.verdict().drop_ratio == Approx(0.01));
    m.update(sample(2000, 0, 0, 20000, 300));  // 1.5% over the window
    REQUIRE_FALSE(m.verdict().ok);
    CHECK(m.verdict().reason.find("drop ratio 0.0150") == 0);
    // Twenty seconds later with no new losses the window has moved on.
    for (uint64_t t = 3000; t <= 22000; t += 1000) m.update(sample(t, 0, 0, 20000 + t * 10, 300));
    CHECK(m.verdict().ok);
    CHECK(m.verdict().drop_ratio == 0);
}

TEST_CASE("health ignores the drop ratio of fewer than a hundred frames", "[runtime][health]") {
    HealthMonitor m(settings());
    m.update(sample(0, 0, 0, 0, 0));
    m.update(sample(100, 0, 0, 50, 50));
    CHECK(m.verdict().ok);
}

namespace {

// One HTTP exchange with the server, polled from this thread like the
// control loop does.
std::string http_get(HealthServer& srv, const HealthVerdict& v, const std::string& request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(srv.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
    timeval tv{0, 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string reply;
    for (int i = 0; i < 2000; i++) {
        srv.poll(v, static_cast<uint64_t>(i));
        char buf[1024];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) reply.append(buf, static_cast<size_t>(n));
        if (n == 0) break;
    }
    close(fd);
    return reply;
}

}  // namespace

TEST_CASE("the health endpoint answers 200 when healthy and 503 with the reason when not", "[runtime][health]") {
    auto srv = HealthServer::open("127.0.0.1:0");
    REQUIRE(srv);
    HealthVerdict ok;
    const std::string r1 = http_get(**srv, ok, "GET /health HTTP/1.0\r\n\r\n");
    CHECK(r1.starts_with("HTTP/1.0 200 OK\r\n"));
    CHECK(r1.find("{\"status\":\"ok\",\"drop_ratio\":0.000000}") != std::string::npos);

    HealthVerdict bad;
    bad.ok = false;
    bad.reason = "worker1 stalled: 5 frames queued, no progress for 2000 ms";
    const std::string r2 = http_get(**srv, bad, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(r2.starts_with("HTTP/1.0 503 Service Unavailable\r\n"));
    CHECK(r2.find("\"reason\":\"worker1 stalled: 5 frames queued, no progress for 2000 ms\"") != std::string::npos);

    CHECK(http_get(**srv, ok, "GET /other HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404"));
    CHECK(http_get(**srv, ok, "POST /health HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 405"));
    CHECK((*srv)->requests() == 4);
}

TEST_CASE("the health endpoint refuses an address that is not IPv4:port", "[runtime][health]") {
    auto srv = HealthServer::open("localhost:8081");
    REQUIRE_FALSE(srv);
    CHECK(srv.error().to_string().find("not an IPv4 address") != std::string::npos);
}
