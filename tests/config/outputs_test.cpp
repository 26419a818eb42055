// `outputs:` and the new `alerts` keys: every key read, the defaults per
// transport, alerts.eve as shorthand, and each error with its position.
#include "config_test_util.hpp"

using namespace vtap;
using namespace vtap::config;
using namespace vtap::config::test;
using output::OutputType;
using output::Transport;

namespace {
// kMinimal is lines 1..4; "outputs:" is line 5, the first item starts on 6.
Error outputs_error(const std::string& items) { return parse_error(kMinimal + "outputs:\n" + items); }
}  // namespace

TEST_CASE("without outputs alerts go to stdout as EVE, as before", "[config][outputs]") {
    Config c = parse_ok(kMinimal);
    REQUIRE(c.outputs.size() == 1);
    CHECK(c.outputs[0].name == "eve");
    CHECK(c.outputs[0].type == OutputType::kEve);
    CHECK(c.outputs[0].path == "-");
    CHECK(c.alerts.flush_timeout_ms == 2000);
    CHECK(c.alerts.rate_limit.per_signature == 0);
    Config off = parse_ok(kMinimal + "alerts: {eve: \"\"}\n");
    CHECK(off.outputs.empty());
}

TEST_CASE("config reads several outputs with every syslog key", "[config][outputs]") {
    Config c = parse_ok(kMinimal +
                        "alerts:\n  eve: /var/log/vtapd/eve.json\n  flush_timeout_ms: 500\n"
                        "  rate_limit: {per_signature: 10, per_seconds: 60}\n"
                        "outputs:\n"
                        "  - {type: eve, name: copy, path: /tmp/eve2.json}\n"
                        "  - type: syslog\n    transport: udp\n    host: 198.18.0.9\n    port: 5514\n"
                        "    facility: local3\n    app_name: ids\n    hostname: sensor-7\n"
                        "    queue_frames: 100\n    drop_policy: newest\n    max_message_bytes: 1200\n"
                        "  - {type: syslog, name: siem, transport: tcp, host: siem.example, facility: 4}\n"
                        "  - type: syslog\n    transport: tls\n    host: 198.18.0.10\n"
                        "    tls: {ca_file: /etc/ca.pem, cert_file: c.pem, key_file: k.pem, server_name: siem, verify: false}\n"
                        "  - {type: syslog, transport: unix, path: /run/log.sock, format: rfc5424}\n"
                        "  - {type: syslog, transport: unix}\n");
    CHECK(c.alerts.flush_timeout_ms == 500);
    CHECK(c.alerts.rate_limit.per_signature == 10);
    CHECK(c.alerts.rate_limit.per_seconds == 60);
    REQUIRE(c.outputs.size() == 7);
    CHECK(c.outputs[0].name == "eve");  // the shorthand, first
    CHECK(c.outputs[0].path == "/var/log/vtapd/eve.json");
    CHECK(c.outputs[1].name == "copy");
    CHECK(c.outputs[1].path == "/tmp/eve2.json");
    const auto& u = c.outputs[2];
    CHECK(u.name == "syslog1");
    CHECK(u.type == OutputType::kSyslog);
    CHECK(u.transport == Transport::kUdp);
    CHECK(u.host == "198.18.0.9");
    CHECK(u.port == 5514);
    CHECK(u.facility == 19);
    CHECK(u.app_name == "ids");
    CHECK(u.hostname == "sensor-7");
    CHECK(u.queue_frames == 100);
    CHECK(u.drop_newest);
    CHECK(u.max_message_bytes == 1200);
    const auto& t = c.outputs[3];
    CHECK(t.name == "siem");
    CHECK(t.transport == Transport::kTcp);
    CHECK(t.port == 514);
    CHECK(t.facility == 4);
    CHECK_FALSE(t.drop_newest);
    const auto& s = c.outputs[4];
    CHECK(s.transport == Transport::kTls);
    CHECK(s.port == 6514);
    CHECK(s.tls.ca_file == "/etc/ca.pem");
    CHECK(s.tls.cert_file == "c.pem");
    CHECK(s.tls.key_file == "k.pem");
    CHECK(s.tls.server_name == "siem");
    CHECK_FALSE(s.tls.verify);
    const auto& x = c.outputs[5];
    CHECK(x.transport == Transport::kUnix);
    CHECK(x.path == "/run/log.sock");
    CHECK(x.format == output::MessageFormat::kRfc5424);
    CHECK(x.max_message_bytes == output::kUnixMaxMessage);
    const auto& d = c.outputs[6];
    CHECK(d.path == "/dev/log");
    CHECK(d.format == output::MessageFormat::kLocal);
}

TEST_CASE("with outputs listed, alerts.eve applies only when given", "[config][outputs]") {
    Config c = parse_ok(kMinimal + "outputs:\n  - {type: syslog, transport: tcp, host: 127.0.0.1}\n");
    REQUIRE(c.outputs.size() == 1);
    CHECK(c.outputs[0].name == "syslog0");
    Config e = parse_ok(kMinimal + "outputs: []\n");
    REQUIRE(e.outputs.size() == 1);
    CHECK(e.outputs[0].path == "-");
    CHECK(parse_ok(kMinimal + "outputs: []\nalerts: {eve: \"\"}\n").outputs.empty());
}

TEST_CASE("output errors name the position, the key path and the allowed values", "[config][outputs]") {
    struct Case {
        std::string items;
        int line;
        std::string what;
    };
    const Case cases[] = {
        {"  - {path: x}\n", 6, "'outputs[0].type' is missing (eve or syslog)"},
        {"  - {type: file, path: x}\n", 6, "'outputs[0].type' is 'file'; use eve or syslog"},
        {"  - {type: eve}\n", 6, "'outputs[0].path' is required for an eve output"},
        {"  - {type: eve, path: x, host: h}\n", 6, "'outputs[0].host' does not apply to an output of type eve"},
        {"  - {type: syslog, transport: sctp, host: h}\n", 6, "'outputs[0].transport' is 'sctp'; use udp, tcp, tls or unix"},
        {"  - {type: syslog, transport: tcp}\n", 6, "'outputs[0].host' is required for syslog over tcp"},
        {"  - {type: syslog, transport: unix, port: 514}\n", 6, "'outputs[0].port' does not apply to an output of transport unix"},
        {"  - {type: syslog, transport: tcp, host: h, max_message_bytes: 9000}\n", 6,
         "'outputs[0].max_message_bytes' does not apply to an output of transport tcp"},
        {"  - {type: syslog, transport: udp, host: h, tls: {}}\n", 6, "'outputs[0].tls' does not apply"},
        {"  - {type: syslog, transport: udp, host: h, facility: local9}\n", 6,
         "'outputs[0].facility' is 'local9', not a syslog facility"},
        {"  - {type: syslog, transport: udp, host: h, facility: 24}\n", 6, "'outputs[0].facility' is 24; use 0..23"},
        {"  - {type: syslog, transport: udp, host: h, port: 0}\n", 6, "outputs[0].port"},
        {"  - {type: syslog, transport: udp, host: h, max_message_bytes: 100}\n", 6, "outputs[0].max_message_bytes"},
        {"  - {type: syslog, transport: udp, host: h, drop_policy: random}\n", 6,
         "'outputs[0].drop_policy' is 'random'; use oldest or newest"},
        {"  - {type: syslog, transport: udp, host: h, queue_frames: 0}\n", 6, "outputs[0].queue_frames"},
        {"  - {type: syslog, transport: udp, host: h, app_name: \"my app\"}\n", 6, "'outputs[0].app_name' must be 1..48"},
        {"  - {type: syslog, transport: unix, format: json}\n", 6, "'outputs[0].format' is 'json'; use local or rfc5424"},
        {"  - {type: syslog, transport: tls, host: h, tls: {cert_file: c.pem}}\n", 6,
         "'outputs[0].tls.cert_file' is set but 'outputs[0].tls.key_file' is not"},
        {"  - {type: syslog, transport: tls, host: h, tls: {ca: x}}\n", 6, "unknown key 'ca' in 'outputs[0].tls'"},
        {"  - {type: eve, path: x, name: Bad-Name}\n", 6, "'outputs[0].name' is 'Bad-Name'"},
        {"  - {type: eve, path: a}\n  - {type: eve, path: b, name: eve0}\n", 7, "names must be unique"},
        {"  - {type: eve, path: a}\n  - {type: eve, path: a}\n", 7, "two writers would interleave lines"},
        {"  - {type: eve, path: x, colour: red}\n", 6, "unknown key 'colour' in 'outputs[0]'"},
        {"  - just-a-string\n", 6, "'outputs[0]' must be a mapping"},
    };
    for (const auto& c : cases) {
        Error e = outputs_error(c.items);
        INFO(c.items << " -> " << e.to_string());
        CHECK(starts_with(e.where, at_line(c.line)));
        CHECK(e.what.find(c.what) != std::string::npos);
    }
    Error notlist = parse_error(kMinimal + "outputs: {type: eve}\n");
    CHECK(starts_with(notlist.where, at_line(5)));
    CHECK(notlist.what.find("'outputs' must be a list") != std::string::npos);
}

TEST_CASE("alerts keys are range checked and clash with outputs is caught", "[config][outputs]") {
    Error a = parse_error(kMinimal + "alerts:\n  flush_timeout_ms: 700000\n");
    CHECK(starts_with(a.where, at_line(6)));
    CHECK(a.what.find("alerts.flush_timeout_ms") != std::string::npos);
    Error b = parse_error(kMinimal + "alerts:\n  rate_limit: {per_signature: 5, per_seconds: 0}\n");
    CHECK(starts_with(b.where, at_line(6)));
    CHECK(b.what.find("alerts.rate_limit.per_seconds") != std::string::npos);
    Error c = parse_error(kMinimal + "alerts:\n  rate_limit: {per_signatur: 5}\n");
    CHECK(c.what.find("did you mean 'per_signature'") != std::string::npos);
    Error d = parse_error(kMinimal + "alerts:\n  eve: x.json\noutputs:\n  - {type: eve, path: x.json}\n");
    CHECK(starts_with(d.where, at_line(6)));
    CHECK(d.what.find("two writers would interleave lines") != std::string::npos);
    Error e = parse_error(kMinimal + "alerts:\n  eve: x.json\noutputs:\n  - {type: eve, name: eve, path: y.json}\n");
    CHECK(e.what.find("rename that one") != std::string::npos);
}

TEST_CASE("the reference file documents the alert and output defaults of the code", "[config][outputs]") {
    Config c = parse_ok(default_yaml());
    const AlertsConfig d;
    CHECK(c.alerts.eve == d.eve);
    CHECK(c.alerts.queue_size == d.queue_size);
    CHECK(c.alerts.flush_timeout_ms == d.flush_timeout_ms);
    CHECK(c.alerts.rate_limit.per_signature == d.rate_limit.per_signature);
    CHECK(c.alerts.rate_limit.per_seconds == d.rate_limit.per_seconds);
    REQUIRE(c.outputs.size() == 1);
    CHECK(c.outputs[0].path == "-");
}

TEST_CASE("the syslog example configuration loads", "[config][outputs]") {
    auto c = load(std::string(VTAPD_SOURCE_ROOT) + "/conf/examples/syslog.yaml");
    if (!c) FAIL(c.error().to_string());
    REQUIRE(c->outputs.size() == 2);
    CHECK(c->outputs[0].path == "/var/log/vtapd/eve.json");
    CHECK(c->outputs[1].name == "rsyslog");
    CHECK(c->outputs[1].transport == Transport::kTcp);
    CHECK(c->alerts.rate_limit.per_signature == 100);
}
