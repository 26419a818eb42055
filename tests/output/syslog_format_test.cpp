// RFC 5424 formatting: exact bytes of the header, PRI from facility and rule
// priority, field sanitising, and a hostile message that stays one message.
#include <catch2/catch.hpp>

#include <string>
#include <unistd.h>

#include "output/syslog_format.hpp"

using namespace vtap::output;

namespace {
SyslogHeader test_header() {
    auto h = make_header(kFacilityLocal5, "sensor-1", "vtapd", "4242", "alert");
    REQUIRE(h);
    return *h;
}
constexpr uint64_t kTs = 1'795'305'326'123'456'789ull;  // 2026-11-21T23:55:26.123456789Z
}  // namespace

TEST_CASE("an alert becomes an exact RFC 5424 message with local5 and microsecond UTC time", "[output][syslog]") {
    std::string out;
    format_rfc5424(test_header(), 4, kTs, "{\"a\":1}\n", out);
    CHECK(out == "<172>1 2026-11-21T23:55:26.123456Z sensor-1 vtapd 4242 alert - {\"a\":1}");
}

TEST_CASE("rule priority maps to syslog severity 1->crit 2->err 3->warning else notice", "[output][syslog]") {
    CHECK(severity_for_priority(1) == 2);
    CHECK(severity_for_priority(2) == 3);
    CHECK(severity_for_priority(3) == 4);
    CHECK(severity_for_priority(4) == 5);
    CHECK(severity_for_priority(0) == 5);
    CHECK(severity_for_priority(255) == 5);
    vtap::alert::AlertRecord rec;
    rec.ts_ns = kTs;
    rec.priority = 1;
    std::string out;
    format_alert(test_header(), rec, "{}\n", out);
    CHECK(out.rfind("<170>1 ", 0) == 0);  // 21*8 + 2
}

TEST_CASE("the facility is configurable and an out-of-range facility is an error", "[output][syslog]") {
    auto h = make_header(4, "h", "vtapd", "1", "alert");  // auth
    REQUIRE(h);
    std::string out;
    format_rfc5424(*h, 3, 0, "x", out);
    CHECK(out == "<35>1 1970-01-01T00:00:00.000000Z h vtapd 1 alert - x");
    auto bad = make_header(24);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().what.find("24") != std::string::npos);
}

TEST_CASE("header fields are sanitised to printable ASCII without spaces and cut to RFC limits",
          "[output][syslog]") {
    CHECK(sanitize_field("my host\tname\x7f\xc3\xa9", 255) == "my_host_name___");
    CHECK(sanitize_field("", 48) == "-");
    CHECK(sanitize_field(std::string(300, 'h'), 255) == std::string(255, 'h'));
    auto h = make_header(kFacilityLocal5, "a b", "vt apd", "", std::string(40, 'm'));
    REQUIRE(h);
    CHECK(h->hostname == "a_b");
    CHECK(h->app_name == "vt_apd");
    CHECK(h->procid == std::to_string(::getpid()));
    CHECK(h->msgid == std::string(32, 'm'));
}

TEST_CASE("the local host name and pid are used when none is given", "[output][syslog]") {
    auto h = make_header(kFacilityLocal5);
    REQUIRE(h);
    CHECK(!h->hostname.empty());
    CHECK(h->hostname.find(' ') == std::string::npos);
    CHECK(h->app_name == "vtapd");
    CHECK(h->msgid == "alert");
}

TEST_CASE("a hostile message with raw newlines and a fake frame stays one message on one line",
          "[output][syslog]") {
    std::string out;
    const char hostile[] = "{\"m\":\"x\"}\n12 <13>1 fake\r\nmore\0end\n";
    format_rfc5424(test_header(), 5, kTs, std::string_view(hostile, sizeof hostile - 1), out);
    CHECK(out == std::string("<173>1 2026-11-21T23:55:26.123456Z sensor-1 vtapd 4242 alert - "
                             "{\"m\":\"x\"} 12 <13>1 fake  more end"));
    CHECK(out.find('\n') == std::string::npos);
    CHECK(out.find('\r') == std::string::npos);
}
