// End to end against a real rsyslogd (imtcp, octet-counted frames): every
// alert arrives exactly once with its header intact, including when the
// collector is down at start and comes up later. Exits 77 (skipped) without
// /usr/sbin/rsyslogd (scripts/setup.sh installs it).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "tests/output/syslog_harness.hpp"

using namespace vtap;
using namespace vtap::output;
using vtap::test::Rsyslog;
using vtap::test::TempDir;

namespace {

// Each msgs.log line parsed as JSON by Python; prints its sid, or fails.
std::vector<uint32_t> sids_in(const std::string& path) {
    const auto o = test::run_cmd(std::string(VTAP_PYTHON3) +
                                 " -c 'import json,sys\nfor l in open(sys.argv[1], encoding=\"utf-8\"):\n"
                                 "    print(json.loads(l)[\"alert\"][\"signature_id\"])' '" + path + "'");
    INFO(o.text);
    REQUIRE(o.status == 0);
    std::vector<uint32_t> out;
    std::istringstream in(o.text);
    for (uint32_t s; in >> s;) out.push_back(s);
    return out;
}

// Polls the sender until the collector has written `n` lines or 10 s pass.
bool deliver(SyslogTcpSender& s, const Rsyslog& r, size_t n) {
    const uint64_t deadline = SyslogTcpSender::monotonic_ns() + 10'000'000'000ull;
    while (SyslogTcpSender::monotonic_ns() < deadline) {
        s.poll(SyslogTcpSender::monotonic_ns());
        if (test::count_lines(r.msgs()) >= n && test::count_lines(r.hdrs()) >= n) return true;
        test::sleep_ms(5);
    }
    return false;
}

void enqueue_alerts(SyslogTcpSender& s, const SyslogHeader& h, uint32_t first, uint32_t n,
                    std::vector<uint32_t>& expect) {
    alert::EveFormatter f{alert::EveOptions{.host = "sensor-1"}};
    for (uint32_t sid = first; sid < first + n; sid++) {
        REQUIRE(s.enqueue(test::syslog_message(f, h, test::sample_alert(sid))));
        expect.push_back(sid);
    }
}

void check_headers(const std::string& path, size_t n) {
    FILE* f = std::fopen(path.c_str(), "r");
    REQUIRE(f);
    char buf[512];
    size_t lines = 0;
    while (std::fgets(buf, sizeof buf, f)) {
        int pri = -1;
        char app[64], procid[64], msgid[64], host[256];
        REQUIRE(std::sscanf(buf, "%d %63s %63s %63s %255s", &pri, app, procid, msgid, host) == 5);
        CHECK(pri / 8 == kFacilityLocal5);
        CHECK(pri % 8 >= 2);
        CHECK(pri % 8 <= 5);
        CHECK(std::string(app) == "vtapd");
        CHECK(std::string(procid) == "4242");
        CHECK(std::string(msgid) == "alert");
        CHECK(std::string(host) == "sensor-1");
        lines++;
    }
    std::fclose(f);
    CHECK(lines == n);
}

}  // namespace

TEST_CASE("rsyslog receives every alert exactly once as one message with a parseable JSON body",
          "[output][syslog][rsyslog]") {
    TempDir dir;
    const uint16_t port = test::free_port();
    Rsyslog rs(dir, port);
    auto h = make_header(kFacilityLocal5, "sensor-1", "vtapd", "4242", "alert");
    REQUIRE(h);
    auto s = SyslogTcpSender::create({.host = "127.0.0.1", .port = port, .backoff_min_ns = 20'000'000,
                                      .backoff_max_ns = 200'000'000});
    REQUIRE(s);
    std::vector<uint32_t> expect;
    enqueue_alerts(*s, *h, 1000, 200, expect);
    const bool ok = deliver(*s, rs, expect.size());
    INFO("rsyslogd output: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    REQUIRE(rs.running());
    test::sleep_ms(100);  // nothing more may arrive
    rs.stop();
    auto got = sids_in(rs.msgs());
    std::sort(got.begin(), got.end());
    CHECK(got == expect);
    check_headers(rs.hdrs(), expect.size());
    CHECK(s->counters().queued.get() == 200);
    CHECK(s->counters().sent.get() == 200);
    CHECK(s->counters().dropped_full.get() == 0);
    CHECK(s->queued_frames() == 0);
}

TEST_CASE("alerts queued while the collector is down all arrive once after it starts",
          "[output][syslog][rsyslog]") {
    TempDir dir;
    const uint16_t port = test::free_port();
    auto h = make_header(kFacilityLocal5, "sensor-1", "vtapd", "4242", "alert");
    REQUIRE(h);
    auto s = SyslogTcpSender::create({.host = "127.0.0.1", .port = port, .backoff_min_ns = 10'000'000,
                                      .backoff_max_ns = 100'000'000});
    REQUIRE(s);
    std::vector<uint32_t> expect;
    enqueue_alerts(*s, *h, 1, 50, expect);
    const uint64_t until = SyslogTcpSender::monotonic_ns() + 300'000'000;
    while (SyslogTcpSender::monotonic_ns() < until) {
        s->poll(SyslogTcpSender::monotonic_ns());
        test::sleep_ms(2);
    }
    CHECK(s->state() == SenderState::kDisconnected);
    CHECK(s->counters().connect_failures.get() >= 2);
    CHECK(s->counters().sent.get() == 0);
    CHECK(s->queued_frames() == 50);

    Rsyslog rs(dir, port);
    enqueue_alerts(*s, *h, 51, 50, expect);
    const bool ok = deliver(*s, rs, expect.size());
    INFO("rsyslogd output: " << test::read_file_or_empty(rs.log()));
    REQUIRE(ok);
    test::sleep_ms(100);
    rs.stop();
    auto got = sids_in(rs.msgs());
    std::sort(got.begin(), got.end());
    CHECK(got == expect);
    CHECK(s->counters().sent.get() == 100);
    CHECK(s->counters().reconnects.get() == 1);
    CHECK(s->counters().connects.get() == 1);
}

int main(int argc, char** argv) {
    if (::access(Rsyslog::kBinary, X_OK) != 0) {
        std::printf("SKIP: %s is absent (scripts/setup.sh installs rsyslog)\n", Rsyslog::kBinary);
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
