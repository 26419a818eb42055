// The Outputs fan-out on loopback, with receivers made by the test: one EVE
// line per alert to every output, UDP and unix datagrams one message each,
// reopen after a logrotate-style rename, the per-signature limit, and the
// shutdown report for a collector that never answers.
#include <catch2/catch.hpp>

#include <cstdio>
#include <sys/un.h>

#include "output/outputs.hpp"
#include "tests/output/syslog_harness.hpp"

using namespace vtap;
using namespace vtap::output;
using vtap::test::TempDir;

namespace {

struct DgramReceiver {
    int fd = -1;
    uint16_t port = 0;
    explicit DgramReceiver(const std::string& unix_path = {}) {
        if (unix_path.empty()) {
            fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t len = sizeof a;
            REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
            port = ntohs(a.sin_port);
        } else {
            fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_un a{};
            a.sun_family = AF_UNIX;
            std::snprintf(a.sun_path, sizeof a.sun_path, "%s", unix_path.c_str());
            REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        }
        int big = 4 << 20;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    }
    ~DgramReceiver() { ::close(fd); }
    std::vector<std::string> take() {
        std::vector<std::string> out;
        char buf[70000];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0;) out.emplace_back(buf, size_t(n));
        return out;
    }
};

uint64_t counter(const Outputs& o, const std::string& name) {
    StatList s;
    o.append_stats(s);
    for (auto& [k, v] : s)
        if (k == name) return v;
    FAIL("no counter " << name);
    return 0;
}

OutputSpec eve_spec(std::string name, std::string path) {
    OutputSpec s;
    s.name = std::move(name);
    s.path = std::move(path);
    return s;
}

OutputSpec dgram_spec(std::string name, Transport t, uint16_t port, std::string path = {}) {
    OutputSpec s;
    s.name = std::move(name);
    s.type = OutputType::kSyslog;
    s.transport = t;
    s.port = port;
    s.path = std::move(path);
    s.hostname = "sensor-1";
    if (t == Transport::kUnix) s.format = MessageFormat::kLocal;
    return s;
}

std::unique_ptr<Outputs> make(std::vector<OutputSpec> specs, RateLimitSpec limit = {}) {
    auto o = Outputs::create(specs, limit, alert::EveOptions{.host = "sensor-1"});
    if (!o) FAIL(o.error().to_string());
    return std::move(*o);
}

std::string eve_of(uint32_t sid) {
    alert::EveFormatter f{alert::EveOptions{.host = "sensor-1"}};
    std::string line;
    f.format(test::sample_alert(sid), line);
    line.pop_back();
    return line;
}

}  // namespace

TEST_CASE("every alert is formatted once and reaches the EVE file, UDP and a unix socket as one message each",
          "[output][outputs]") {
    TempDir dir;
    DgramReceiver udp;
    DgramReceiver ux(dir / "log.sock");
    auto o = make({eve_spec("file", dir / "eve.json"), dgram_spec("udp", Transport::kUdp, udp.port),
                   dgram_spec("local", Transport::kUnix, 0, dir / "log.sock")});
    for (uint32_t sid = 1; sid <= 50; sid++) o->offer(test::sample_alert(sid));
    // A unix datagram socket holds only max_dgram_qlen messages: read while
    // sending, as a syslog daemon does.
    std::vector<std::string> u, l;
    for (int i = 0; i < 200 && (u.size() < 50 || l.size() < 50); i++) {
        o->poll(Outputs::monotonic_ns());
        for (auto& m : udp.take()) u.push_back(std::move(m));
        for (auto& m : ux.take()) l.push_back(std::move(m));
        test::sleep_ms(5);
    }
    REQUIRE(o->flush(Outputs::monotonic_ns() + 1'000'000'000).empty());
    REQUIRE(u.size() == 50);
    REQUIRE(l.size() == 50);
    for (uint32_t i = 0; i < 50; i++) {
        const std::string eve = eve_of(i + 1);
        // RFC 5424 over UDP: header, then the EVE line verbatim.
        CHECK(u[i].starts_with("<1"));
        CHECK(u[i].find(">1 2026-11-21T23:55:26.") != std::string::npos);
        CHECK(u[i].find(" sensor-1 vtapd " + std::to_string(::getpid()) + " alert - " + eve) != std::string::npos);
        CHECK(u[i].ends_with(eve));
        // Local format: "<PRI>Mmm dd hh:mm:ss vtapd[PID]: " then the line.
        CHECK(l[i].find("vtapd[" + std::to_string(::getpid()) + "]: " + eve) != std::string::npos);
        CHECK(l[i][0] == '<');
    }
    CHECK(test::count_lines(dir / "eve.json") == 50);
    CHECK(test::read_file_or_empty(dir / "eve.json").find(eve_of(50) + "\n") != std::string::npos);
    CHECK(counter(*o, "alert.written") == 50);
    for (const char* n : {"file", "udp", "local"}) {
        CHECK(counter(*o, std::string("output.") + n + ".offered") == 50);
        CHECK(counter(*o, std::string("output.") + n + ".sent") == 50);
        CHECK(counter(*o, std::string("output.") + n + ".unsent") == 0);
    }
    CHECK(counter(*o, "output.udp.state") == 2);
}

TEST_CASE("a reopen request after a rename starts a new EVE file and loses no line", "[output][outputs]") {
    TempDir dir;
    auto o = make({eve_spec("file", dir / "eve.json")});
    for (uint32_t sid = 1; sid <= 10; sid++) o->offer(test::sample_alert(sid));
    o->poll(Outputs::monotonic_ns());
    REQUIRE(std::rename((dir / "eve.json").c_str(), (dir / "eve.json.1").c_str()) == 0);
    for (uint32_t sid = 11; sid <= 15; sid++) o->offer(test::sample_alert(sid));
    o->request_reopen();  // what SIGHUP does
    o->poll(Outputs::monotonic_ns());
    for (uint32_t sid = 16; sid <= 20; sid++) o->offer(test::sample_alert(sid));
    o->poll(Outputs::monotonic_ns());
    // Lines buffered before the reopen are flushed into the renamed file.
    CHECK(test::count_lines(dir / "eve.json.1") == 15);
    CHECK(test::count_lines(dir / "eve.json") == 5);
    CHECK(counter(*o, "output.file.reopens") == 1);
    CHECK(counter(*o, "output.file.sent") == 20);
}

TEST_CASE("the per-signature limit suppresses a noisy rule before any output and counts it", "[output][outputs]") {
    TempDir dir;
    auto o = make({eve_spec("file", dir / "eve.json")}, RateLimitSpec{.per_signature = 3, .per_seconds = 60});
    for (int i = 0; i < 100; i++) {
        o->offer(test::sample_alert(9));   // noisy
        if (i % 10 == 0) o->offer(test::sample_alert(10));  // quiet: 10 alerts
    }
    o->poll(Outputs::monotonic_ns());
    CHECK(counter(*o, "alert.suppressed") == 97 + 7);
    CHECK(counter(*o, "alert.written") == 6);
    CHECK(test::count_lines(dir / "eve.json") == 6);
}

TEST_CASE("shutdown with a collector that never answers reports and counts what was left", "[output][outputs]") {
    OutputSpec tcp;
    tcp.name = "siem";
    tcp.type = OutputType::kSyslog;
    tcp.transport = Transport::kTcp;
    tcp.port = test::free_port();
    tcp.queue_frames = 5;
    tcp.drop_newest = true;
    auto o = make({tcp});
    for (uint32_t sid = 1; sid <= 8; sid++) o->offer(test::sample_alert(sid));
    const uint64_t t0 = Outputs::monotonic_ns();
    const auto report = o->flush(t0 + 150'000'000);
    CHECK(Outputs::monotonic_ns() - t0 < 1'000'000'000);
    REQUIRE(report.size() == 1);
    CHECK(report[0].find("output siem (syslog tcp 127.0.0.1:") != std::string::npos);
    CHECK(report[0].find("5 alert(s) not delivered") != std::string::npos);
    CHECK(report[0].find("collector unreachable") != std::string::npos);
    CHECK(counter(*o, "output.siem.offered") == 8);
    CHECK(counter(*o, "output.siem.dropped_full") == 3);
    CHECK(counter(*o, "output.siem.unsent") == 5);
    CHECK(counter(*o, "output.siem.sent") == 0);
    CHECK(counter(*o, "output.siem.connect_failures") >= 1);
}

TEST_CASE("an output that cannot be built is an error naming it", "[output][outputs]") {
    OutputSpec bad = dgram_spec("siem", Transport::kUdp, 514);
    bad.host = "no such host.invalid";
    auto o = Outputs::create({bad}, {}, alert::EveOptions{});
    REQUIRE_FALSE(o);
    CHECK(o.error().where == "output siem");
    CHECK(o.error().what.find("resolve") != std::string::npos);
    auto e = Outputs::create({eve_spec("file", "/nonexistent-dir/eve.json")}, {}, alert::EveOptions{});
    REQUIRE_FALSE(e);
    CHECK(e.error().what.find("/nonexistent-dir/eve.json") != std::string::npos);
}
