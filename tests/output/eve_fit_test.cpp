// Fitting EVE lines into datagram limits: fields go in the documented order,
// the result stays valid JSON (checked by Python's strict parser), and a
// forced cut never splits a UTF-8 sequence or a JSON escape.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "alert/eve_json.hpp"
#include "output/eve_fit.hpp"
#include "tests/output/syslog_harness.hpp"

using namespace vtap;
using namespace vtap::output;

namespace {

std::string eve_line(const alert::AlertRecord& r) {
    alert::EveFormatter f{alert::EveOptions{.host = "sensor-1"}};
    std::string line;
    f.format(r, line);
    return line;
}

// A record whose every text field is as long and as escape-heavy as it gets.
alert::AlertRecord huge_alert() {
    alert::AlertRecord r = test::sample_alert(7);
    std::string msg;
    while (msg.size() + 2 <= alert::AlertRecord::kMsgMax) msg += "\xff\"";
    r.msg.set(msg);
    r.class_desc.set(std::string(alert::AlertRecord::kClassDescMax, '\\'));
    std::string payload(alert::AlertRecord::kPayloadMax, '\n');
    r.payload.set(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    return r;
}

bool python_parses(const std::string& json) {
    test::TempDir dir;
    std::ofstream(dir / "l.json") << json << "\n";
    auto o = test::run_cmd(std::string(VTAP_PYTHON3) + " -c 'import json,sys; json.loads(open(sys.argv[1], encoding=\"utf-8\").read())' '" +
                           dir / "l.json" + "'");
    return o.status == 0;
}

}  // namespace

TEST_CASE("a line within the limit is kept byte for byte without its newline", "[output][fit]") {
    const std::string line = eve_line(test::sample_alert(1));
    std::string out;
    CHECK(fit_eve_line(line, line.size(), out) == FitResult::kWhole);
    CHECK(out + "\n" == line);
}

TEST_CASE("an oversize line drops payload_printable first, then payload, and is marked truncated", "[output][fit]") {
    const std::string line = eve_line(test::sample_alert(1));
    const size_t printable = line.find("\"payload_printable\"");
    REQUIRE(printable != std::string::npos);
    std::string out;
    // Just too long: only payload_printable has to go.
    REQUIRE(fit_eve_line(line, line.size() - 2, out) == FitResult::kTrimmed);
    CHECK(out.find("payload_printable") == std::string::npos);
    CHECK(out.find("\"payload\":\"") != std::string::npos);
    CHECK(out.find("\"payload_length\":") != std::string::npos);
    CHECK(out.ends_with(",\"vtap_truncated\":true}"));
    CHECK(python_parses(out));
    // One byte tighter: payload goes too, the signature stays whole.
    const size_t tighter = out.size() - 1;
    REQUIRE(fit_eve_line(line, tighter, out) == FitResult::kTrimmed);
    CHECK(out.size() <= tighter);
    CHECK(out.find("\"payload\":") == std::string::npos);
    CHECK(out.find("\"signature\":\"ET TEST \\\"quoted\\\"\\nnewline and \xc3\xa9 sid 1\"") != std::string::npos);
    CHECK(python_parses(out));
}

TEST_CASE("escape-heavy text is shortened at escape boundaries and the JSON stays valid at every limit",
          "[output][fit]") {
    const std::string line = eve_line(huge_alert());
    REQUIRE(line.size() > 2048);
    for (size_t max : {2048u, 1500u, 1000u, 800u, 700u, 650u}) {
        std::string out;
        const FitResult r = fit_eve_line(line, max, out);
        INFO("max " << max << ": " << out);
        CHECK(out.size() <= max);
        if (r == FitResult::kTrimmed) CHECK(python_parses(out));
    }
    std::string out;
    CHECK(fit_eve_line(line, 1000, out) == FitResult::kTrimmed);
    CHECK(python_parses(out));
}

TEST_CASE("a limit below the fixed fields cuts the line but never inside an escape or a UTF-8 sequence",
          "[output][fit]") {
    const std::string line = eve_line(huge_alert());
    std::string out;
    CHECK(fit_eve_line(line, 120, out) == FitResult::kCut);
    CHECK(out.size() <= 120);
    // No trailing lone backslash or partial \uXXXX / multi-byte character.
    const std::string_view esc = "a\\u00e9b";
    CHECK(json_safe_prefix(esc, 3) == 1);
    CHECK(json_safe_prefix(esc, 7) == 7);
    const std::string_view utf = "a\xc3\xa9\xe2\x82\xac";
    CHECK(json_safe_prefix(utf, 2) == 1);
    CHECK(json_safe_prefix(utf, 4) == 3);
    CHECK(json_safe_prefix(utf, 6) == 6);
    CHECK(json_safe_prefix("\\\\x", 1) == 0);
}
