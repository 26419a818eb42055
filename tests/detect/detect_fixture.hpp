// Test helpers for lib/detect: rules built in C++ (no parser), a compiled
// database with one Scanner, and packet/stream calls that return the sids
// that fired, in order.
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "detect/database.hpp"
#include "detect/scanner.hpp"
#include "rules/rule.hpp"

namespace vtap::detect::test {

// content:"..." with modifiers, fluent.
struct C {
    rules::Content v;
    explicit C(std::string bytes) { v.bytes = std::move(bytes); }
    C& nocase() { v.nocase = true; return *this; }
    C& negated() { v.negated = true; return *this; }
    C& fast_pattern() { v.fast_pattern = true; return *this; }
    C& startswith() { v.startswith = true; return *this; }
    C& endswith() { v.endswith = true; return *this; }
    C& offset(int32_t x) { v.offset = rules::IntOrVar{x, {}}; return *this; }
    C& depth(int32_t x) { v.depth = rules::IntOrVar{x, {}}; return *this; }
    C& distance(int32_t x) { v.distance = rules::IntOrVar{x, {}}; return *this; }
    C& within(int32_t x) { v.within = rules::IntOrVar{x, {}}; return *this; }
    C& distance(std::string var) { v.distance = rules::IntOrVar{0, std::move(var)}; return *this; }
    C& within(std::string var) { v.within = rules::IntOrVar{0, std::move(var)}; return *this; }
    C& offset(std::string var) { v.offset = rules::IntOrVar{0, std::move(var)}; return *this; }
    operator rules::PayloadMatch() const { return v; }
};

inline rules::Pcre pcre(std::string pattern, std::string flags = "", bool relative = false, bool negated = false) {
    rules::Pcre p;
    p.pattern = std::move(pattern);
    p.flags = std::move(flags);
    p.relative = relative;
    p.negated = negated;
    return p;
}

inline rules::Rule rule(uint32_t sid, std::vector<rules::PayloadMatch> payload = {}, rules::Proto proto = rules::Proto::kTcp) {
    rules::Rule r;
    r.sid = sid;
    r.rev = 1;
    r.proto = proto;
    r.msg = "test rule " + std::to_string(sid);
    r.payload = std::move(payload);
    r.loc = {"test.rules", sid};
    return r;
}

// 198.18.0.1:40000 -> 198.18.0.2:80, TCP, established, to_server, not in a stream.
inline PacketInfo tcp_info(uint16_t dsize = 0) {
    PacketInfo p;
    p.src = IpAddr::v4(198, 18, 0, 1);
    p.dst = IpAddr::v4(198, 18, 0, 2);
    p.src_port = 40000;
    p.dst_port = 80;
    p.proto = kProtoTcp;
    p.tcp_flags = 0x18;  // PSH ACK
    p.has_flow = true;
    p.to_server = true;
    p.established = true;
    p.dsize = dsize;
    return p;
}

inline std::span<const uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Engine {
    std::shared_ptr<const Database> db;
    std::optional<Scanner> scanner;
    MatchSink sink;

    explicit Engine(const std::vector<rules::Rule>& rules, CompileOptions opts = {}, ScannerOptions sopts = {}) {
        auto compiled = compile(rules, opts);
        REQUIRE(compiled.has_value());
        db = *compiled;
        auto s = Scanner::create(db, sopts);
        REQUIRE(s.has_value());
        scanner.emplace(std::move(*s));
    }

    std::vector<uint32_t> drain() {
        std::vector<uint32_t> sids;
        for (const auto& m : sink) sids.push_back(m.sid);
        sink.clear();
        return sids;
    }

    // sids fired by one packet (payload = its dsize unless info says otherwise)
    std::vector<uint32_t> packet(const std::string& payload, PacketInfo info = tcp_info()) {
        if (info.dsize == 0) info.dsize = static_cast<uint16_t>(payload.size());
        scanner->scan_packet(info, bytes(payload), sink);
        return drain();
    }

    std::vector<uint32_t> stream(StreamHandle& h, const std::string& chunk, PacketInfo info = tcp_info()) {
        info.stream_added = true;
        info.dsize = static_cast<uint16_t>(chunk.size());
        scanner->scan_stream(h, bytes(chunk), info, sink);
        return drain();
    }
};

using Sids = std::vector<uint32_t>;

}  // namespace vtap::detect::test
