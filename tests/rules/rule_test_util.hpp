// Helpers for lib/rules tests: parse one rule with the default tables and
// fail with the parser's own message when the outcome is not the expected one.
#pragma once

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <string>

#include "rules/parser.hpp"

namespace vtap::rules::test {

inline ParseResult parse(const std::string& text, const Vars& vars = {}) {
    return parse_rule(text, vars, default_classifications(), SourceLoc{"t.rules", 7});
}

inline std::string describe(const ParseResult& r) {
    if (r.ok()) return "parsed";
    if (r.skipped()) return "skipped: " + r.skip().reason;
    return "error: " + r.error().to_string();
}

inline Rule rule_ok(const std::string& text, const Vars& vars = {}) {
    ParseResult r = parse(text, vars);
    INFO(text << "\n -> " << describe(r));
    REQUIRE(r.ok());
    return r.rule();
}

// A tcp any/any rule with these options plus sid:1.
inline Rule opts_ok(const std::string& opts) { return rule_ok("alert tcp any any -> any any (" + opts + " sid:1;)"); }

inline std::string skip_reason(const std::string& text) {
    ParseResult r = parse(text);
    INFO(text << "\n -> " << describe(r));
    REQUIRE(r.skipped());
    return r.skip().reason;
}

inline Error error_of(const std::string& text) {
    ParseResult r = parse(text);
    INFO(text << "\n -> " << describe(r));
    REQUIRE(r.failed());
    return r.error();
}

inline std::string opts_error(const std::string& opts) {
    return error_of("alert tcp any any -> any any (" + opts + " sid:1;)").what;
}

template <class T>
T payload_at(const Rule& r, size_t i) {  // a copy: callers pass temporaries
    REQUIRE(i < r.payload.size());
    REQUIRE(std::holds_alternative<T>(r.payload[i]));
    return std::get<T>(r.payload[i]);
}

// The model's semantics: in some include (or include empty) and in no exclude.
inline bool in_cidr(const Cidr& c, const std::string& ip) {
    uint8_t raw[16] = {};
    int family = ip.find(':') != std::string::npos ? 6 : 4;
    REQUIRE(inet_pton(family == 6 ? AF_INET6 : AF_INET, ip.c_str(), raw) == 1);
    if (family != c.family) return false;
    for (int bit = 0; bit < c.len; ++bit) {
        int byte = bit / 8, mask = 0x80 >> (bit % 8);
        if ((raw[byte] & mask) != (c.addr[byte] & mask)) return false;
    }
    return true;
}

inline bool matches(const AddrSpec& s, const std::string& ip) {
    if (s.any) return true;
    bool in = s.include.empty();
    for (const auto& c : s.include) in = in || in_cidr(c, ip);
    for (const auto& c : s.exclude) in = in && !in_cidr(c, ip);
    return in;
}

inline bool matches(const PortSpec& s, uint16_t port) {
    if (s.any) return true;
    bool in = s.include.empty();
    for (const auto& r : s.include) in = in || (port >= r.lo && port <= r.hi);
    for (const auto& r : s.exclude) in = in && !(port >= r.lo && port <= r.hi);
    return in;
}

inline std::string cidr_text(const Cidr& c) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(c.family == 6 ? AF_INET6 : AF_INET, c.addr.data(), buf, sizeof buf);
    return std::string(buf) + "/" + std::to_string(c.len);
}

}  // namespace vtap::rules::test
