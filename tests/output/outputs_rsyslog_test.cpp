// The Outputs fan-out against a real rsyslogd: syslog over UDP (imudp), a
// unix datagram socket (imuxsock, the /dev/log format), hostile alert text on
// every transport, and a collector restart over TCP with the queue bound
// exceeded while it is down. Every received line is parsed as JSON by
// Python; the sets of sids must match exactly. Exits 77 (skipped) without
// /usr/sbin/rsyslogd.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "output/outputs.hpp"
#include "tests/output/syslog_harness.hpp"

using namespace vtap;
using namespace vtap::output;
using vtap::test::RsyslogInputs;
using vtap::test::RsyslogServer;
using vtap::test::TempDir;

namespace {

std::vector<uint32_t> received_sids(const RsyslogServer& rs) {
    const auto o = test::json_sids(VTAP_PYTHON3, rs.msgs());
    INFO(o.text);
    REQUIRE(o.status == 0);
    std::vector<uint32_t> out;
    std::istringstream in(o.text);
    for (uint32_t s; in >> s;) out.push_back(s);
    std::sort(out.begin(), out.end());
    return out;
}

std::unique_ptr<Outputs> make_outputs(std::vector<OutputSpec> specs, RateLimitSpec limit = {}) {
    auto o = Outputs::create(specs, limit, alert::EveOptions{.host = "sensor-1"});
    if (!o) FAIL(o.error().to_string());
    return std::move(*o);
}

OutputSpec syslog_spec(Transport t, uint16_t port, std::string path = {}) {
    OutputSpec s;
    s.name = "syslog";
    s.type = OutputType::kSyslog;
    s.transport = t;
    s.host = "127.0.0.1";
    s.port = port;
    s.hostname = "sensor-1";
    if (t == Transport::kUnix) {
        s.path = std::move(path);
        s.format = MessageFormat::kLocal;
        s.max_message_bytes = kUnixMaxMessage;
    }
    return s;
}

// Polls the outputs until the collector has written `n` lines or 10 s pass.
bool deliver(Outputs& o, const RsyslogServer& rs, size_t n) {
    const uint64_t deadline = Outputs::monotonic_ns() + 10'000'000'000ull;
    while (Outputs::monotonic_ns() < deadline) {
        o.poll(Outputs::monotonic_ns());
        if (test::count_lines(rs.msgs()) >= n && test::count_lines(rs.hdrs()) >= n) return true;
        test::sleep_ms(5);
    }
    return false;
}

uint64_t counter(const Outputs& o, const std::string& name) {
    StatList s;
    o.append_stats(s);
    for (auto& [k, v] : s)
        if (k == name) return v;
    FAIL("no counter " << name);
    return 0;
}

std::vector<uint32_t> range(uint32_t first, uint32_t last) {
    std::vector<uint32_t> v;
    for (uint32_t s = first; s <= last; s++) v.push_back(s);
    return v;
}

// Alert text and payloads an attacker controls: raw newlines, NUL, quotes,
// backslashes, ill-formed UTF-8, and look-alikes of a syslog header and of
// an octet-counted frame.
std::vector<alert::AlertRecord> hostile_alerts(uint32_t first_sid) {
    const std::string bad[] = {
        "line1\nline2\r\nline3",
        std::string("nul\0inside\0", 11),
        "quote \" and backslash \\ and \\\" together",
        "invalid \xff\xfe utf8 \xc3 lone lead \xc0\xaf overlong \xed\xa0\x80 surrogate",
        "<13>1 2026-11-22T00:00:00Z evil app - - - forged",
        "\n<13>1 2026-11-22T00:00:00Z evil app - - - forged after newline",
        "12 <13>1 x\n34 <14>1 y",
        "\t\x01\x1f\x7f controls",
    };
    std::vector<alert::AlertRecord> out;
    uint32_t sid = first_sid;
    for (const auto& b : bad) {
        alert::AlertRecord r = test::sample_alert(sid++);
        r.msg.set(b);
        r.payload.set(reinterpret_cast<const uint8_t*>(b.data()), b.size());
        out.push_back(r);
    }
    return out;
}

void check_rfc5424_headers(const RsyslogServer& rs, size_t n, const char* version, const char* procid) {
    const std::string text = test::read_file_or_empty(rs.hdrs());
    std::istringstream in(text);
    std::string line;
    size_t lines = 0;
    while (std::getline(in, line)) {
        int pri = -1;
        char ver[8], app[64], pid[64], msgid[64], host[256];
        REQUIRE(std::sscanf(line.c_str(), "%d %7s %63s %63s %63s %255s", &pri, ver, app, pid, msgid, host) == 6);
        CHECK(pri / 8 == 21);
        CHECK(std::string(ver) == version);
        CHECK(std::string(app) == "vtapd");
        if (procid) CHECK(std::string(pid) == procid);
        lines++;
    }
    CHECK(lines == n);
}

}  // namespace

TEST_CASE("rsyslog imudp receives every alert once as an RFC 5424 message with a JSON body", "[output][udp][rsyslog]") {
    TempDir dir;
    const uint16_t port = test::free_port();
    RsyslogServer rs(dir, RsyslogInputs{.udp_port = port});
    REQUIRE(rs.wait_ready());
    auto o = make_outputs({syslog_spec(Transport::kUdp, port)});
    // Paced: UDP has no flow control, and a burst larger than the receive
    // buffer would be lost by design, not by vtapd.
    for (uint32_t sid = 1; sid <= 300; sid++) {
        o->offer(test::sample_alert(sid));
        if (sid % 20 == 0) {
            o->poll(Outputs::monotonic_ns());
            test::sleep_ms(5);
        }
    }
    const bool ok = deliver(*o, rs, 300);
    INFO("rsyslogd: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    test::sleep_ms(100);
    rs.stop();
    CHECK(received_sids(rs) == range(1, 300));
    check_rfc5424_headers(rs, 300, "1", nullptr);
    CHECK(counter(*o, "output.syslog.offered") == 300);
    CHECK(counter(*o, "output.syslog.sent") == 300);
    CHECK(counter(*o, "output.syslog.truncated") == 0);
    CHECK(counter(*o, "output.syslog.dropped_full") == 0);
}

TEST_CASE("alerts over the UDP size limit arrive shortened as valid JSON and are counted", "[output][udp][rsyslog]") {
    TempDir dir;
    const uint16_t port = test::free_port();
    RsyslogServer rs(dir, RsyslogInputs{.udp_port = port});
    REQUIRE(rs.wait_ready());
    auto spec = syslog_spec(Transport::kUdp, port);
    spec.max_message_bytes = 700;  // below these alerts' size with their payload
    auto o = make_outputs({spec});
    const std::string payload(alert::AlertRecord::kPayloadMax, 'A');  // about 600 bytes of EVE payload fields
    for (uint32_t sid = 1; sid <= 20; sid++) {
        auto r = test::sample_alert(sid);
        r.payload.set(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
        o->offer(r);
    }
    const bool ok = deliver(*o, rs, 20);
    INFO("rsyslogd: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    rs.stop();
    CHECK(received_sids(rs) == range(1, 20));
    const auto check = test::run_cmd(std::string(VTAP_PYTHON3) +
                                     " -c 'import json,sys\nfor l in open(sys.argv[1], encoding=\"utf-8\"):\n"
                                     "    o=json.loads(l); assert o[\"vtap_truncated\"] is True; "
                                     "assert \"payload_printable\" not in o; assert o[\"payload_length\"] > 0' '" +
                                     rs.msgs() + "'");
    INFO(check.text);
    CHECK(check.status == 0);
    CHECK(counter(*o, "output.syslog.truncated") == 20);
    CHECK(counter(*o, "output.syslog.truncated_cut") == 0);
    CHECK(counter(*o, "output.syslog.bytes") <= 20 * 700);
}

TEST_CASE("rsyslog imuxsock on a socket path receives every alert once in the local syslog(3) format",
          "[output][unix][rsyslog]") {
    TempDir dir;
    const std::string sock = dir / "log.sock";
    RsyslogServer rs(dir, RsyslogInputs{.unix_path = sock});
    REQUIRE(rs.wait_ready());
    auto o = make_outputs({syslog_spec(Transport::kUnix, 0, sock)});
    for (uint32_t sid = 1; sid <= 200; sid++) o->offer(test::sample_alert(sid));
    const bool ok = deliver(*o, rs, 200);
    INFO("rsyslogd: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    test::sleep_ms(100);
    rs.stop();
    CHECK(received_sids(rs) == range(1, 200));
    // imuxsock's special parser took "vtapd[PID]:" apart: the tag and our pid.
    check_rfc5424_headers(rs, 200, "0", std::to_string(::getpid()).c_str());
    CHECK(counter(*o, "output.syslog.sent") == 200);
    CHECK(counter(*o, "output.syslog.state") == 2);
}

TEST_CASE("hostile alert text yields valid JSON and exactly one syslog message per alert on every transport",
          "[output][hostile][rsyslog]") {
    TempDir dir;
    const uint16_t tcp = test::free_port(), udp = test::free_port();
    const std::string sock = dir / "log.sock";
    RsyslogServer rs(dir, RsyslogInputs{.tcp_port = tcp, .udp_port = udp, .unix_path = sock});
    REQUIRE(rs.wait_ready());
    auto a = syslog_spec(Transport::kTcp, tcp);
    a.name = "tcp";
    auto b = syslog_spec(Transport::kUdp, udp);
    b.name = "udp";
    auto c = syslog_spec(Transport::kUnix, 0, sock);
    c.name = "unix";
    OutputSpec eve;
    eve.name = "eve";
    eve.path = dir / "eve.json";
    auto o = make_outputs({a, b, c, eve});
    const auto alerts = hostile_alerts(100);
    for (const auto& r : alerts) o->offer(r);
    const size_t n = alerts.size();
    const bool ok = deliver(*o, rs, 3 * n);
    INFO("rsyslogd: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    test::sleep_ms(200);  // nothing more may arrive
    rs.stop();
    (void)o->flush(Outputs::monotonic_ns());
    std::vector<uint32_t> want;
    for (int t = 0; t < 3; t++)
        for (uint32_t s = 100; s < 100 + n; s++) want.push_back(s);
    std::sort(want.begin(), want.end());
    CHECK(received_sids(rs) == want);  // one message each per transport, no forged extra ones
    CHECK(test::count_lines(rs.hdrs()) == 3 * n);
    const auto eve_lines = test::json_sids(VTAP_PYTHON3, dir / "eve.json");
    INFO(eve_lines.text);
    CHECK(eve_lines.status == 0);
    CHECK(test::count_lines(dir / "eve.json") == n);
    // The forged header stays inside the JSON string, escaped.
    const std::string msgs = test::read_file_or_empty(rs.msgs());
    CHECK(msgs.find("\"signature\":\"<13>1 2026-11-22T00:00:00Z evil app") != std::string::npos);
    CHECK(msgs.find("\\nline2\\r\\nline3") != std::string::npos);
    CHECK(msgs.find("nul\\u0000inside") != std::string::npos);
    CHECK(msgs.find("invalid \\\\xff\\\\xfe utf8") != std::string::npos);
}

TEST_CASE("a collector restart loses nothing within the queue bound and the counters account for the rest",
          "[output][tcp][rsyslog][fault]") {
    // What TCP can promise: bytes the kernel accepted are counted sent, and
    // if the collector dies abruptly with them unread they are gone (syslog
    // over TCP has no acknowledgements). vtapd checks for the peer's close
    // before every write, so a collector that stops cleanly (SIGTERM: it
    // reads and writes out what it has, then closes) loses nothing. This
    // test stops it that way; the abrupt case is documented in lib/output.
    TempDir dir;
    const uint16_t port = test::free_port();
    RsyslogServer rs(dir, RsyslogInputs{.tcp_port = port});
    REQUIRE(rs.wait_ready());
    auto spec = syslog_spec(Transport::kTcp, port);
    spec.queue_frames = 50;
    auto o = make_outputs({spec});

    for (uint32_t sid = 1; sid <= 40; sid++) o->offer(test::sample_alert(sid));
    REQUIRE(deliver(*o, rs, 40));
    rs.stop();
    // The sender notices the close on its next poll, before writing again.
    for (int i = 0; i < 400 && counter(*o, "output.syslog.state") == 2; i++) {
        o->poll(Outputs::monotonic_ns());
        test::sleep_ms(5);
    }
    REQUIRE(counter(*o, "output.syslog.state") != 2);

    // 80 alerts while it is down: the queue keeps the newest 50.
    for (uint32_t sid = 41; sid <= 120; sid++) {
        o->offer(test::sample_alert(sid));
        o->poll(Outputs::monotonic_ns());
    }
    CHECK(counter(*o, "output.syslog.dropped_full") == 30);

    rs.start();
    REQUIRE(rs.wait_ready());
    const bool ok = deliver(*o, rs, 90);
    INFO("rsyslogd: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    CHECK(o->flush(Outputs::monotonic_ns() + 1'000'000'000).empty());
    test::sleep_ms(200);
    rs.stop();

    auto want = range(1, 40);
    for (uint32_t s = 71; s <= 120; s++) want.push_back(s);
    CHECK(received_sids(rs) == want);
    CHECK(counter(*o, "output.syslog.offered") == 120);
    CHECK(counter(*o, "output.syslog.sent") == 90);
    CHECK(counter(*o, "output.syslog.dropped_full") == 30);
    CHECK(counter(*o, "output.syslog.unsent") == 0);
    CHECK(counter(*o, "output.syslog.reconnects") == 1);
    CHECK(counter(*o, "output.syslog.resent_partial") == 0);
}

int main(int argc, char** argv) {
    if (::access(test::Rsyslog::kBinary, X_OK) != 0) {
        std::printf("SKIP: %s is absent (scripts/setup.sh installs rsyslog)\n", test::Rsyslog::kBinary);
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
