// Stream mode: signatures split across chunks, firing once per chunk where
// they match and never again on bytes already inspected, pending anchors,
// the window limit, only_stream / no_stream / stream_added routing.
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;

namespace {

rules::Rule with(rules::Rule r, auto&& edit) {
    edit(r);
    return r;
}

// A negated content nothing here contains: the rule's verdict is its
// positive contents', but it is not a content chain Hyperscan decides alone
// (chain_test.cpp), so these tests exercise the window and pending anchors.
rules::PayloadMatch not_chain() { return C("NEVER-IN-THESE-TESTS").negated(); }

}  // namespace

TEST_CASE("detect fires a content split across two stream chunks, on the second", "[detect][stream]") {
    Engine e({rule(1, {C("ATTACK")})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "xxxxATT").empty());
    CHECK(e.stream(h, "ACKyyyy") == Sids{1});
    CHECK(e.stream(h, "zzzz").empty());
    e.scanner->close_stream(h);
    CHECK(e.scanner->counters().streams_opened == 1);
}

TEST_CASE("detect a split content is not seen by per-packet scanning", "[detect][stream]") {
    Engine e({rule(1, {C("ATTACK")})});
    CHECK(e.packet("xxxxATT").empty());
    CHECK(e.packet("ACKyyyy").empty());
}

TEST_CASE("detect fires a stream rule once per chunk it matches in, not again on old bytes", "[detect][stream]") {
    Engine e({rule(1, {C("evil")})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "evil evil evil") == Sids{1});
    CHECK(e.stream(h, "benign").empty());
    CHECK(e.stream(h, "more evil") == Sids{1});
    e.scanner->close_stream(h);
}

TEST_CASE("detect confirms relative chains that span chunks", "[detect][stream]") {
    Engine e({rule(1, {C("USER "), C("root").distance(0).within(10)})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "220 hi\r\nUSER ").empty());
    CHECK(e.stream(h, "root\r\n") == Sids{1});
    e.scanner->close_stream(h);
}

TEST_CASE("detect re-tries a rule whose anchor came before the rest of its keywords", "[detect][stream]") {
    // The anchor is the longest content, "password=", seen in chunk 1; the
    // short content arrives in chunk 2 where Hyperscan reports nothing.
    Engine e({rule(1, {C("password="), C("&").distance(0), not_chain()})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "POST x password=hunter2").empty());
    CHECK(e.stream(h, "&submit=1") == Sids{1});
    CHECK(e.stream(h, "&again").empty());  // fired; the anchor is not pending any more
    e.scanner->close_stream(h);
}

TEST_CASE("detect re-inspects a pending rule only on chunks where one of its contents ends", "[detect][stream]") {
    Engine e({rule(1, {C("password="), C("&submit").distance(0), not_chain()})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "POST x password=hunter2").empty());
    const auto before = e.scanner->counters().retries_skipped;
    CHECK(e.stream(h, "xxxx").empty());
    CHECK(e.stream(h, "yyyy&sub").empty());  // half of "&submit": nothing to complete yet
    CHECK(e.scanner->counters().retries_skipped == before + 2);
    CHECK(h.npending == 1);                   // skipped, still pending
    CHECK(e.stream(h, "mit=1") == Sids{1});   // "&submit" ends in this chunk
    CHECK(e.scanner->counters().retries_skipped == before + 2);
    e.scanner->close_stream(h);
}

TEST_CASE("detect misses a relative chain that reaches beyond the stream window", "[detect][stream]") {
    ScannerOptions small;
    small.window_bytes = 16;
    Engine e({rule(1, {C("BEGIN"), C("END").distance(0), not_chain()})}, {}, small);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "BEGIN").empty());
    CHECK(e.stream(h, std::string(32, '.')).empty());
    CHECK(e.stream(h, "END").empty());  // BEGIN left the 16-byte window: documented limit
    e.scanner->close_stream(h);
}

TEST_CASE("detect confirms across chunks after the window ring has wrapped", "[detect][stream]") {
    ScannerOptions small;
    small.window_bytes = 16;
    Engine e({rule(1, {C("BEGIN"), C("END").distance(0)})}, {}, small);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "0123456789").empty());
    CHECK(e.stream(h, "abcdeBEG").empty());     // 18 bytes: the ring wrapped; "BEG" straddles it
    CHECK(h.window_len == 16);
    CHECK(e.stream(h, "IN-END") == Sids{1});    // window "23456789abcdeBEG" + "IN-END"
    CHECK(e.stream(h, std::string(40, '.')).empty());
    CHECK(e.stream(h, "BEGIN").empty());        // a chunk longer than the window came before
    CHECK(e.stream(h, "END") == Sids{1});
    e.scanner->close_stream(h);
}

TEST_CASE("detect offset and depth are absolute stream positions in stream mode", "[detect][stream]") {
    Engine e({rule(1, {C("MAGIC").depth(8)}), rule(2, {C("TAIL").offset(10)})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "abcMA").empty());
    CHECK(e.stream(h, "GIC TAIL") == Sids{1});  // MAGIC ends at 8; TAIL starts at 9 < 10
    CHECK(e.stream(h, "MAGIC TAIL") == Sids{2});
    e.scanner->close_stream(h);
}

TEST_CASE("detect stream rules skip packets added to a stream and see packets that were not", "[detect][stream]") {
    Engine e({rule(1, {C("evil")})});
    PacketInfo p = tcp_info();
    p.stream_added = true;
    CHECK(e.packet("evil", p).empty());
    p.stream_added = false;
    CHECK(e.packet("evil", p) == Sids{1});
}

TEST_CASE("detect only_stream rules fire on stream data only, no_stream rules on packets only", "[detect][stream]") {
    Engine e({with(rule(1, {C("evil")}), [](auto& r) { r.flow.only_stream = true; }),
              with(rule(2, {C("evil")}), [](auto& r) { r.flow.no_stream = true; })});
    PacketInfo p = tcp_info();
    p.stream_added = false;
    CHECK(e.packet("evil", p) == Sids{2});
    p.stream_added = true;
    CHECK(e.packet("evil", p) == Sids{2});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "evil") == Sids{1});
    e.scanner->close_stream(h);
}

TEST_CASE("detect dsize rules are packet-level even on TCP streams", "[detect][stream]") {
    Engine e({with(rule(1, {C("evil")}), [](auto& r) { r.dsize = rules::NumCheck{rules::CmpOp::kGreater, 3}; })});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "evil").empty());
    e.scanner->close_stream(h);
    PacketInfo p = tcp_info();
    p.stream_added = true;
    CHECK(e.packet("evil", p) == Sids{1});
}

TEST_CASE("detect each stream direction uses its own rules and state", "[detect][stream]") {
    Engine e({with(rule(1, {C("GET")}), [](auto& r) { r.flow.to_server = true; }),
              with(rule(2, {C("200 OK")}), [](auto& r) { r.flow.to_client = true; })});
    CHECK(e.db->stats().groups[static_cast<size_t>(GroupId::kStreamToServer)].rules == 1);
    CHECK(e.db->stats().groups[static_cast<size_t>(GroupId::kStreamToClient)].rules == 1);
    StreamHandle ts = e.scanner->open_stream(), tc = e.scanner->open_stream();
    PacketInfo c2s = tcp_info();
    PacketInfo s2c = tcp_info();
    std::swap(s2c.src, s2c.dst);
    std::swap(s2c.src_port, s2c.dst_port);
    s2c.to_server = false;
    s2c.to_client = true;
    CHECK(e.stream(ts, "GET / HTTP/1.1\r\n200 OK", c2s) == Sids{1});
    CHECK(e.stream(tc, "HTTP/1.1 200 OK GET", s2c) == Sids{2});
    e.scanner->close_stream(ts);
    e.scanner->close_stream(tc);
}

TEST_CASE("detect a closed stream's state is reused without leaking matches into the next", "[detect][stream]") {
    Engine e({rule(1, {C("ATTACK")})});
    StreamHandle a = e.scanner->open_stream();
    CHECK(e.stream(a, "xxATT").empty());
    e.scanner->close_stream(a);
    StreamHandle b = e.scanner->open_stream();
    CHECK(e.stream(b, "ACK").empty());  // "ATT" belonged to the closed stream
    CHECK(e.stream(b, "ATTACK") == Sids{1});
    e.scanner->close_stream(b);
    CHECK(e.scanner->counters().streams_opened == 2);
    CHECK(e.scanner->stream_bytes() >= 4096);
}

TEST_CASE("detect a stream whose ports no rule accepts is not scanned at all", "[detect][stream]") {
    Engine e({with(rule(1, {C("evil")}), [](auto& r) {
        r.dst_ports.any = false;
        r.dst_ports.include.push_back({443, 443});
    })});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "evil").empty());  // tcp_info() is port 80
    CHECK(h.state == StreamHandle::State::kIdle);
    CHECK(e.scanner->counters().stream_scans == 0);
    e.scanner->close_stream(h);
}

TEST_CASE("detect does not fire again when a new anchor only completes with bytes already inspected", "[detect][stream]") {
    Engine e({rule(1, {C("USER "), C("root").distance(0)})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "USER root\r\n") == Sids{1});
    CHECK(e.stream(h, "USER bob\r\n").empty());  // "root" only exists before this chunk
    CHECK(e.stream(h, "USER root\r\n") == Sids{1});
    e.scanner->close_stream(h);
}

TEST_CASE("detect keeps at most 8 pending anchors per stream and counts the evicted", "[detect][stream]") {
    std::vector<rules::Rule> rs;
    std::string chunk;
    for (uint32_t i = 1; i <= 9; ++i) {
        const std::string anchor = "anchor-" + std::to_string(i) + "=";
        rs.push_back(rule(i, {C(anchor), C("&").distance(0), not_chain()}));
        chunk += anchor + "x ";
    }
    Engine e(rs);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, chunk).empty());
    CHECK(e.scanner->counters().pending_evicted == 1);
    CHECK(h.npending == StreamHandle::kMaxPending);
    CHECK(e.stream(h, "&").size() == 8);  // the evicted one's anchor is not retried
    CHECK(h.npending == 0);
    e.scanner->close_stream(h);
}

TEST_CASE("detect a pending anchor's 32-bit end is recovered across a 4 GiB stream boundary", "[detect][stream]") {
    // StreamHandle keeps 8 bytes per pending anchor: its end's low 32 bits.
    using P = StreamHandle::Pending;
    CHECK(P{1, 0xFFFFFFF0u}.anchor_end(0x1'0000'0010ull) == 0xFFFFFFF0ull);        // ref just past the wrap
    CHECK(P{1, 0x00000008u}.anchor_end(0x1'0000'0010ull) == 0x1'0000'0008ull);
    CHECK(P{1, 0x00000100u}.anchor_end(0x7'0000'0100ull) == 0x7'0000'0100ull);     // ref == end
    CHECK(P{1, 0xFFFFF000u}.anchor_end(0x5'0000'0800ull) == 0x4'FFFF'F000ull);
    CHECK(sizeof(StreamHandle) <= 96);  // two per flow slot: part of the per-flow budget
}

TEST_CASE("detect preallocated streams open without allocating; more than those are counted", "[detect][stream]") {
    ScannerOptions so;
    so.stream_pool = 4;
    so.stream_prealloc = 3;
    Engine e({rule(1, {C("USER "), C("root").distance(0).within(10)})}, {}, so);
    StreamHandle h[4];
    for (auto& s : h) s = e.scanner->open_stream();
    // A chain across chunks on a preallocated stream: its window works.
    CHECK(e.stream(h[0], "220 hi\r\nUSER ").empty());
    CHECK(e.stream(h[0], "root\r\n") == Sids{1});
    CHECK(e.stream(h[1], "a").empty());
    CHECK(e.stream(h[2], "b").empty());
    CHECK(e.scanner->counters().stream_allocs == 0);
    CHECK(e.stream(h[3], "c").empty());
    CHECK(e.scanner->counters().stream_allocs == 1);
    for (auto& s : h) e.scanner->close_stream(s);
    // All four went back to the pool: the next four reuse them.
    for (auto& s : h) {
        s = e.scanner->open_stream();
        CHECK(e.stream(s, "USER root").size() == 1);
    }
    CHECK(e.scanner->counters().stream_allocs == 1);
    for (auto& s : h) e.scanner->close_stream(s);
}

TEST_CASE("detect keeps every closed stream by default: a live count that falls and rises allocates only at a new peak",
          "[detect][stream]") {
    // Ten streams live, all closed, ten again: the default pool (up to
    // max_streams) reuses all ten; a pool of four frees six and mallocs six again.
    auto cycle = [](ScannerOptions so) {
        so.max_streams = 16;
        Engine e({rule(1, {C("evil")})}, {}, so);
        StreamHandle h[10];
        for (int round = 0; round < 2; ++round) {
            for (auto& s : h) {
                s = e.scanner->open_stream();
                CHECK(e.stream(s, "evil") == Sids{1});
            }
            for (auto& s : h) e.scanner->close_stream(s);
        }
        return e.scanner->counters().stream_allocs;
    };
    CHECK(cycle({}) == 10);
    ScannerOptions small;
    small.stream_pool = 4;
    CHECK(cycle(small) == 16);
}

TEST_CASE("detect streams_peak is the most streams live at once", "[detect][stream]") {
    Engine e({rule(1, {C("evil")})});
    StreamHandle h[3];
    for (auto& s : h) {
        s = e.scanner->open_stream();
        e.stream(s, "evil");
    }
    e.scanner->close_stream(h[0]);
    e.scanner->close_stream(h[1]);
    h[0] = e.scanner->open_stream();
    e.stream(h[0], "evil");
    CHECK(e.scanner->counters().streams_peak == 3);  // 3 live, then 1, then 2
    e.scanner->close_stream(h[0]);
    e.scanner->close_stream(h[2]);
    CHECK(e.scanner->counters().streams_peak == 3);
}

TEST_CASE("detect windows beyond the preallocated ones come from one 2 MiB chunk and are reused", "[detect][stream]") {
    // No stream preallocated: the first open maps a chunk of 512 windows and
    // mallocs a Hyperscan stream (counted); closed streams keep both, so the
    // next opens allocate nothing.
    Engine e({rule(1, {C("evil")})});
    CHECK(e.scanner->window_mapped_bytes() == 0);
    StreamHandle h[3];
    for (auto& s : h) {
        s = e.scanner->open_stream();
        CHECK(e.stream(s, "evil") == Sids{1});
    }
    CHECK(e.scanner->counters().stream_allocs == 3);
    CHECK(e.scanner->window_mapped_bytes() == BlockPool::kChunkBytes);
    for (auto& s : h) e.scanner->close_stream(s);
    for (auto& s : h) {
        s = e.scanner->open_stream();
        CHECK(e.stream(s, "more evil") == Sids{1});
    }
    CHECK(e.scanner->counters().stream_allocs == 3);
    CHECK(e.scanner->window_mapped_bytes() == BlockPool::kChunkBytes);
    for (auto& s : h) e.scanner->close_stream(s);
    CHECK(e.scanner->counters().streams_opened == e.scanner->counters().streams_closed);
}

TEST_CASE("detect a window grows with its stream and keeps the bytes a pending anchor needs", "[detect][stream]") {
    // Anchor in the first chunk, its second content 1,500 bytes later, in
    // chunks that take the window from 256 through 512 and 1024 to 2048.
    Engine e({rule(1, {C("password="), C("&submit").distance(0), not_chain()})});
    CHECK(e.scanner->window_classes() == 5);  // 256 512 1024 2048 4096
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "POST x password=hunter2").empty());
    CHECK(h.window_class == 0);
    CHECK(e.scanner->window_bytes_in_use() == 256);
    for (int i = 0; i < 5; ++i) CHECK(e.stream(h, std::string(300, 'a' + i)).empty());
    CHECK(e.scanner->window_capacity(h.window_class) == 2048);
    CHECK(e.scanner->window_bytes_in_use() == 2048);
    CHECK(e.scanner->counters().window_grows == 3);
    CHECK(e.stream(h, "&submit=1") == Sids{1});  // "password=" from 1,500 bytes back
    e.scanner->close_stream(h);
    CHECK(e.scanner->window_bytes_in_use() == 0);
}

TEST_CASE("detect a chunk bigger than the next class skips to the class that holds it", "[detect][stream]") {
    Engine e({rule(1, {C("BEGIN"), C("END").distance(0), not_chain()})});
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "BEGIN" + std::string(1400, '.')).empty());
    CHECK(e.scanner->window_capacity(h.window_class) == 2048);
    CHECK(e.scanner->counters().window_grows == 1);
    CHECK(e.stream(h, std::string(2000, '.')).empty());
    CHECK(e.scanner->window_capacity(h.window_class) == 4096);
    CHECK(e.stream(h, "END") == Sids{1});           // BEGIN is 3,403 bytes back: in the 4 KiB window
    CHECK(e.stream(h, "BEGIN").empty());
    CHECK(e.stream(h, std::string(4100, '.')).empty());
    CHECK(e.stream(h, "END").empty());  // BEGIN left the 4 KiB window: documented limit
    e.scanner->close_stream(h);
}

TEST_CASE("detect a window size that is not a power of two is the last class", "[detect][stream]") {
    ScannerOptions so;
    so.window_bytes = 1000;
    Engine e({rule(1, {C("BEGIN"), C("END").distance(0), not_chain()})}, {}, so);
    CHECK(e.scanner->window_classes() == 3);  // 256 512 1000
    CHECK(e.scanner->window_capacity(2) == 1000);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, std::string(700, '.') + "BEGIN").empty());
    CHECK(e.stream(h, std::string(980, '.')).empty());
    CHECK(e.stream(h, "END") == Sids{1});  // BEGIN's end is 980 bytes back, its start 985
    CHECK(e.stream(h, "BEGIN" + std::string(996, '.')).empty());
    CHECK(e.stream(h, "END").empty());     // BEGIN's first byte is 1,001 bytes back: outside
    e.scanner->close_stream(h);
}

TEST_CASE("detect a window that cannot grow keeps working at its size and grows later", "[detect][stream]") {
    // Windows of 256 and 512 bytes, one of each (max_streams 1). Stream a
    // holds the 512-byte one, so b stays at 256 bytes (its ring wraps) until
    // a closes; then b grows and its wrapped ring is copied in stream order.
    ScannerOptions so;
    so.window_bytes = 512;
    so.max_streams = 1;
    Engine e({rule(1, {C("BEGIN"), C("END").distance(0), not_chain()})}, {}, so);
    StreamHandle a = e.scanner->open_stream();
    CHECK(e.stream(a, std::string(300, '.')).empty());
    CHECK(e.scanner->window_capacity(a.window_class) == 512);
    StreamHandle b = e.scanner->open_stream();
    CHECK(e.stream(b, std::string(200, '.')).empty());
    CHECK(e.stream(b, "BEGIN" + std::string(100, '.')).empty());
    CHECK(b.window_class == 0);
    CHECK(e.scanner->counters().window_grow_failed == 1);
    CHECK(b.window_len == 256);
    CHECK(e.stream(b, "END") == Sids{1});  // within 256 bytes: still confirmed
    CHECK(e.stream(b, "BEGIN" + std::string(300, '.')).empty());
    CHECK(e.stream(b, "END").empty());     // 305 bytes back: beyond the 256 it kept
    CHECK(e.stream(b, "BEGIN" + std::string(100, ':')).empty());  // in the wrapped 256-byte ring
    e.scanner->close_stream(a);
    CHECK(e.stream(b, std::string(200, ',')).empty());  // grows: the ring copied in stream order
    CHECK(e.scanner->window_capacity(b.window_class) == 512);
    CHECK(b.window_len == 456);
    CHECK(e.stream(b, "END") == Sids{1});  // BEGIN is 300 bytes back, from the copied ring
    e.scanner->close_stream(b);
    CHECK(e.scanner->window_bytes_in_use() == 0);
}

TEST_CASE("detect a stream opened beyond max_streams is counted and scanned by nothing", "[detect][stream]") {
    ScannerOptions so;
    so.max_streams = 2;
    Engine e({rule(1, {C("evil")})}, {}, so);
    StreamHandle h[3];
    for (auto& s : h) s = e.scanner->open_stream();
    CHECK(e.stream(h[0], "evil") == Sids{1});
    CHECK(e.stream(h[1], "evil") == Sids{1});
    CHECK(e.stream(h[2], "evil").empty());
    CHECK(h[2].state == StreamHandle::State::kFailed);
    CHECK(e.scanner->counters().stream_open_failed == 1);
    e.scanner->close_stream(h[0]);
    StreamHandle again = e.scanner->open_stream();  // a window is free again
    CHECK(e.stream(again, "evil") == Sids{1});
    e.scanner->close_stream(again);
    for (auto& s : h) e.scanner->close_stream(s);
}

TEST_CASE("detect refuses more preallocated streams than the pool keeps", "[detect][stream]") {
    auto db = compile({rule(1, {C("x")})}, {});
    REQUIRE(db.has_value());
    ScannerOptions so;
    so.stream_pool = 2;
    so.stream_prealloc = 3;
    auto s = Scanner::create(*db, so);
    REQUIRE_FALSE(s.has_value());
    CHECK_THAT(s.error().to_string(), Catch::Contains("stream_prealloc (3) exceeds stream_pool (2)"));
    so.stream_pool = 8;
    so.max_streams = 2;
    auto m = Scanner::create(*db, so);
    REQUIRE_FALSE(m.has_value());
    CHECK_THAT(m.error().to_string(), Catch::Contains("stream_prealloc (3) exceeds max_streams (2)"));
}
