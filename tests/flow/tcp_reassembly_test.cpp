// TCP reassembly through FlowTable::tcp_segment: in-order delivery, the
// out-of-order buffer, first-copy-wins overlaps, gaps (buffer full, ACK past
// a hole, timeout), sequence wraparound, FIN/RST, one-sided flows, and a
// randomised reorder/duplicate run that must reproduce the stream exactly.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "flow/flow_table.hpp"
#include "flow/seq.hpp"
#include "tests/flow/flow_frames.hpp"

using namespace vtap;
using namespace vtap::flow;
using test::Ep;

namespace {

constexpr uint8_t kAck = kTcpAck;
constexpr uint64_t kSec = 1'000'000'000;

const Ep kClient{{198, 18, 0, 10}, 40000};
const Ep kServer{{198, 18, 0, 20}, 80};

// A connection after its handshake; offsets count payload bytes from 0.
struct Conn {
    std::unique_ptr<FlowTable> table;
    test::Driver* d = nullptr;
    std::unique_ptr<test::Driver> drv;
    uint32_t isn_c, isn_s;
    Flow* flow = nullptr;

    explicit Conn(FlowConfig cfg = {}, uint32_t isn_client = 1000, uint32_t isn_server = 5000, bool handshake = true)
        : isn_c(isn_client), isn_s(isn_server) {
        cfg.capacity = 16;
        if (cfg.segment_pool_bytes == (16u << 20)) cfg.segment_pool_bytes = 1u << 20;
        auto t = FlowTable::create(cfg);
        REQUIRE(t.has_value());
        table = std::move(*t);
        drv = std::make_unique<test::Driver>(test::Driver{*table});
        d = drv.get();
        if (!handshake) return;
        flow = d->feed(test::tcp(kClient, kServer, isn_c, 0, kTcpSyn)).flow;
        d->feed(test::tcp(kServer, kClient, isn_s, isn_c + 1, kTcpSyn | kAck));
        d->feed(test::tcp(kClient, kServer, isn_c + 1, isn_s + 1, kAck));
        REQUIRE(flow->state == FlowState::kEstablished);
    }
    // Client data at payload offset off, acking the server's offset ack_off.
    Lookup c2s(uint32_t off, std::string_view data, uint8_t flags = kAck, uint32_t ack_off = 0) {
        return d->feed(test::tcp(kClient, kServer, isn_c + 1 + off, isn_s + 1 + ack_off, flags, data));
    }
    Lookup s2c(uint32_t off, std::string_view data, uint32_t ack_off = 0, uint8_t flags = kAck) {
        return d->feed(test::tcp(kServer, kClient, isn_s + 1 + off, isn_c + 1 + ack_off, flags, data));
    }
    const FlowCounters& ctr() const { return table->counters(); }
    const std::string& to_server() const { return d->out.to_server(); }
};

}  // namespace

TEST_CASE("reassembly delivers in-order segments of both directions", "[flow][tcp]") {
    Conn c;
    c.c2s(0, "GET / HTTP/1.1\r\n");
    c.c2s(16, "Host: x\r\n\r\n");
    c.s2c(0, "HTTP/1.1 200 OK\r\n", 27);
    CHECK(c.to_server() == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(c.d->out.to_client() == "HTTP/1.1 200 OK\r\n");
    CHECK(c.ctr().reassembled_bytes.get() == 27 + 17);
    CHECK(c.ctr().ooo_bytes.get() == 0);
    CHECK(c.ctr().gaps.get() == 0);
    CHECK(c.flow->stream[0].delivered == 27);
}

TEST_CASE("reassembly buffers out-of-order segments and delivers them when the hole fills", "[flow][tcp]") {
    Conn c;
    c.c2s(10, "KLMNOPQRST");
    c.c2s(5, "FGHIJ");
    CHECK(c.to_server().empty());
    CHECK(c.ctr().ooo_bytes.get() == 15);
    CHECK(c.flow->stream[0].ooo_bytes == 15);
    c.c2s(0, "ABCDE");
    CHECK(c.to_server() == "ABCDEFGHIJKLMNOPQRST");
    CHECK(c.d->out.data_chunks[0] == 3);  // the segment, then the two buffered pieces
    CHECK(c.flow->stream[0].ooo_bytes == 0);
    CHECK(c.table->pieces_free() == (1u << 20) / 512);
    CHECK(c.ctr().gaps.get() == 0);
    CHECK(c.ctr().overlap_bytes.get() == 0);
}

TEST_CASE("reassembly drops an exact duplicate of delivered bytes", "[flow][tcp]") {
    Conn c;
    c.c2s(0, "hello");
    c.c2s(0, "hello");
    c.c2s(5, " world");
    CHECK(c.to_server() == "hello world");
    CHECK(c.ctr().overlap_bytes.get() == 5);
}

TEST_CASE("reassembly keeps the first copy when a retransmission overlaps delivered bytes", "[flow][tcp]") {
    Conn c;
    c.c2s(0, "abcdef");
    c.c2s(3, "XYZghi");  // "def" rewritten as "XYZ": ignored; "ghi" is new
    CHECK(c.to_server() == "abcdefghi");
    CHECK(c.ctr().overlap_bytes.get() == 3);
}

TEST_CASE("reassembly keeps buffered bytes when an in-order segment overlaps them at both ends", "[flow][tcp]") {
    Conn c;
    c.c2s(4, "1234");     // buffered at [4, 8)
    c.c2s(10, "ab");      // buffered at [10, 12)
    c.c2s(0, "wxyzWXYZ--NOPQ");  // [0, 14): covers both pieces with other bytes
    CHECK(c.to_server() == "wxyz1234--abPQ");
    CHECK(c.ctr().overlap_bytes.get() == 6);
    CHECK(c.ctr().ooo_bytes.get() == 6);
}

TEST_CASE("reassembly keeps the first buffered copy when out-of-order segments overlap", "[flow][tcp]") {
    Conn c;
    c.c2s(10, "klmno");   // [10, 15)
    c.c2s(8, "ij#####pq");  // [8, 17): only [8,10) and [15,17) are new
    c.c2s(12, "!!!!!!!");   // [12, 19): only [17, 19) is new
    c.c2s(0, "abcdefgh");
    CHECK(c.to_server() == "abcdefghijklmnopq!!");
    CHECK(c.ctr().overlap_bytes.get() == 5 + 5);
    CHECK(c.ctr().ooo_bytes.get() == 5 + 4 + 2);
}

TEST_CASE("reassembly skips a hole when the out-of-order buffer is full and counts a gap", "[flow][tcp]") {
    FlowConfig cfg;
    cfg.ooo_max_bytes = 1000;
    Conn c(cfg);
    c.c2s(0, std::string(100, 'a'));
    // [100, 200) is lost; 100-byte segments from 200 on fill the buffer.
    for (uint32_t off = 200; off < 1200; off += 100) c.c2s(off, std::string(100, 'b'));
    CHECK(c.ctr().gaps.get() == 0);
    CHECK(c.flow->stream[0].ooo_bytes == 1000);
    c.c2s(1200, std::string(100, 'c'));  // no room: give up on the hole
    CHECK(c.ctr().gaps.get() == 1);
    REQUIRE(c.d->out.gaps[0].size() == 1);
    CHECK(c.d->out.gaps[0][0] == std::pair<size_t, uint32_t>{100, 100});
    CHECK(c.to_server() == std::string(100, 'a') + std::string(1000, 'b') + std::string(100, 'c'));
    CHECK(c.flow->stream[0].ooo_bytes == 0);
    c.c2s(1300, "d");
    CHECK(c.to_server().back() == 'd');
}

TEST_CASE("reassembly never buffers more than the bound, nor more than the pool", "[flow][tcp]") {
    FlowConfig cfg;
    cfg.ooo_max_bytes = 4000;
    cfg.segment_pool_bytes = 8 * 512;  // 8 pieces shared by the table
    Conn c(cfg);
    std::mt19937 rng(7);
    uint32_t max_seen = 0;
    for (int i = 0; i < 400; i++) {
        const uint32_t off = 1 + rng() % 20000;  // byte 0 never comes: always a hole
        c.c2s(off, std::string(1 + rng() % 1400, 'x'));
        max_seen = std::max(max_seen, c.flow->stream[0].ooo_bytes);
        REQUIRE(c.flow->stream[0].ooo_bytes <= 4000);
        REQUIRE(c.table->pieces_free() <= 8);
    }
    CHECK(max_seen > 2000);
    CHECK(c.ctr().gaps.get() > 0);
    CHECK(c.ctr().reassembled_bytes.get() == c.to_server().size());
    CHECK(c.to_server().find_first_not_of('x') == std::string::npos);
    c.table->tcp_flush(*c.flow, Direction::kToServer, c.d->out.sink());
    CHECK(c.flow->stream[0].ooo_bytes == 0);
    CHECK(c.table->pieces_free() == 8);
}

TEST_CASE("reassembly skips a hole the peer has acknowledged", "[flow][tcp]") {
    Conn c;
    c.c2s(0, "0123456789");
    c.c2s(20, "KLMNO");  // [10, 20) never arrives
    CHECK(c.to_server() == "0123456789");
    c.s2c(0, "", 10);    // server acks up to 10: no hole yet
    CHECK(c.ctr().gaps.get() == 0);
    c.s2c(0, "", 25);    // server has everything up to 25
    CHECK(c.ctr().gaps.get() == 1);
    CHECK(c.to_server() == "0123456789KLMNO");
    REQUIRE(c.d->out.gaps[0].size() == 1);
    CHECK(c.d->out.gaps[0][0].second == 10);
    // An ACK beyond anything seen skips there too; later data continues.
    c.s2c(0, "", 40);
    CHECK(c.ctr().gaps.get() == 2);
    c.c2s(40, "tail");
    CHECK(c.to_server() == "0123456789KLMNOtail");
}

TEST_CASE("reassembly skips a hole older than the gap timeout", "[flow][tcp]") {
    FlowConfig cfg;
    cfg.gap_timeout_ns = 2 * kSec;
    Conn c(cfg);
    c.c2s(0, "aaaa");
    c.c2s(8, "cccc");  // hole at [4, 8)
    c.d->now_ns += kSec;
    c.c2s(12, "dddd");
    CHECK(c.ctr().gaps.get() == 0);
    c.d->now_ns += 2 * kSec;
    c.c2s(16, "eeee");
    CHECK(c.ctr().gaps.get() == 1);
    CHECK(c.to_server() == "aaaaccccddddeeee");
}

TEST_CASE("reassembly handles sequence numbers that wrap around 2^32", "[flow][tcp]") {
    STATIC_REQUIRE(seq_lt(0xfffffff0u, 0x10u));
    STATIC_REQUIRE(seq_gt(0x10u, 0xfffffff0u));
    STATIC_REQUIRE(seq_diff(0x5u, 0xfffffffbu) == 10);
    Conn c({}, 0xffffffe0u, 0xfffffffeu);
    std::string want;
    for (int i = 0; i < 100; i++) want += static_cast<char>('A' + i % 26);
    // 10-byte segments, crossing the wrap at offset 31; delivered out of order.
    for (uint32_t off : {30u, 10u, 0u, 50u, 40u, 20u, 90u, 60u, 80u, 70u})
        c.c2s(off, std::string_view(want).substr(off, 10));
    CHECK(c.to_server() == want);
    CHECK(c.ctr().gaps.get() == 0);
    // The server's direction wraps at its second byte; the client acks across it.
    c.s2c(0, "xyz", 100);
    c.c2s(100, "!", kAck, 3);
    CHECK(c.d->out.to_client() == "xyz");
    CHECK(c.ctr().gaps.get() == 0);
}

TEST_CASE("reassembly tears down on FIN from both ends without a spurious gap", "[flow][tcp]") {
    Conn c;
    c.c2s(0, "bye", kAck | kTcpFin);
    CHECK(c.flow->state == FlowState::kClosing);
    CHECK(c.flow->cls == TimeoutClass::kTcpClosing);
    c.s2c(0, "", 4, kAck | kTcpFin);  // acks the client's FIN (seq 3)
    c.c2s(4, "", kAck, 1);              // acks the server's FIN (seq 0)
    CHECK(c.ctr().gaps.get() == 0);
    CHECK(c.to_server() == "bye");
    CHECK((c.flow->stream[0].flags & kStreamFinSeen) != 0);
    CHECK((c.flow->stream[1].flags & kStreamFinSeen) != 0);
}

TEST_CASE("reassembly closes on RST and flushes what was buffered", "[flow][tcp]") {
    Conn c;
    c.c2s(0, "abc");
    c.c2s(5, "fgh");
    c.s2c(0, "", 3, kTcpRst | kAck);
    CHECK(c.flow->state == FlowState::kClosed);
    CHECK(c.to_server() == "abcfgh");
    CHECK(c.ctr().gaps.get() == 1);
    CHECK(c.ctr().ooo_discarded.get() == 0);
    c.c2s(8, "late");  // data after the reset is not reassembled
    CHECK(c.to_server() == "abcfgh");
    CHECK(c.ctr().untracked_segments.get() == 1);
}

TEST_CASE("reassembly ignores a RST whose sequence number is far outside the stream", "[flow][tcp]") {
    Conn c;
    c.d->feed(test::tcp(kServer, kClient, c.isn_s + 1 + 0x40000000u, c.isn_c + 1, kTcpRst));
    CHECK(c.flow->state == FlowState::kEstablished);
    c.c2s(0, "still here");
    CHECK(c.to_server() == "still here");
}

TEST_CASE("reassembly delivers a one-sided flow whose server is never seen", "[flow][tcp]") {
    FlowConfig cfg;
    cfg.gap_timeout_ns = kSec;
    Conn c(cfg, 1000, 5000, false);
    c.c2s(0, "POST /x", kAck);
    c.c2s(7, " HTTP/1.1");
    c.c2s(30, "body");  // lost bytes, no ACK will ever tell
    c.d->now_ns += 2 * kSec;
    c.c2s(34, "!");
    CHECK(c.to_server() == "POST /x HTTP/1.1body!");
    CHECK(c.ctr().gaps.get() == 1);
    CHECK(c.d->out.to_client().empty());
}

TEST_CASE("reassembly leaves data far beyond the window out of the stream", "[flow][tcp]") {
    FlowConfig cfg;
    cfg.max_seq_ahead = 1u << 20;
    Conn c(cfg);
    c.c2s(0, "ok");
    c.c2s(5u << 20, "forged");
    c.c2s(2, "!");
    CHECK(c.to_server() == "ok!");
    CHECK(c.ctr().out_of_window.get() == 1);
    CHECK(c.ctr().gaps.get() == 0);
}

TEST_CASE("reassembly lets the close hook flush buffered bytes at timeout", "[flow][tcp]") {
    FlowConfig cfg;
    cfg.timeouts.tcp_established = 10 * kSec;
    Conn c(cfg);
    struct Ctx {
        FlowTable* t;
        test::Collected* out;
        static void hook(void* p, Flow& f, CloseReason) noexcept {
            auto* self = static_cast<Ctx*>(p);
            self->t->tcp_flush(f, Direction::kToServer, self->out->sink());
        }
    } ctx{c.table.get(), &c.d->out};
    c.table->set_close_hook(&Ctx::hook, &ctx);
    c.c2s(0, "abc");
    c.c2s(10, "xyz");
    CHECK(c.table->expire(c.d->now_ns + 11 * kSec, 10) == 1);
    CHECK(c.d->out.to_server() == "abcxyz");
    CHECK(c.ctr().ooo_discarded.get() == 0);
}

TEST_CASE("reassembly counts buffered bytes freed undelivered when a flow closes unflushed", "[flow][tcp]") {
    Conn c;
    c.c2s(10, "xyz");
    c.table->clear();
    CHECK(c.ctr().ooo_discarded.get() == 3);
    CHECK(c.table->pieces_free() == (1u << 20) / 512);
}

TEST_CASE("reassembly reproduces a stream exactly from reordered, duplicated, resegmented copies",
          "[flow][tcp]") {
    for (uint32_t seed = 1; seed <= 20; seed++) {
        std::mt19937 rng(seed);
        // ISNs near the wrap on some seeds.
        Conn c({}, seed % 2 ? 0xffffff00u + seed : rng(), rng());
        std::string want(20000 + rng() % 5000, '\0');
        for (char& ch : want) ch = static_cast<char>(rng());
        struct Seg { uint32_t off; uint32_t len; };
        std::vector<Seg> segs;
        for (uint32_t off = 0; off < want.size();) {
            const uint32_t len = std::min<uint32_t>(1 + rng() % 1460, static_cast<uint32_t>(want.size()) - off);
            segs.push_back({off, len});
            if (rng() % 5 == 0) segs.push_back({off, len});  // retransmission
            if (rng() % 7 == 0 && off > 100) segs.push_back({off - 50, len});  // overlaps both sides
            off += len;
        }
        // Local reordering within windows of 8 segments.
        for (size_t i = 0; i + 8 <= segs.size(); i += 8) std::shuffle(segs.begin() + i, segs.begin() + i + 8, rng);
        for (const Seg& s : segs) c.c2s(s.off, std::string_view(want).substr(s.off, s.len));
        REQUIRE(c.to_server() == want);
        CHECK(c.ctr().gaps.get() == 0);
        CHECK(c.flow->stream[0].ooo_bytes == 0);
        CHECK(c.table->pieces_free() == (1u << 20) / 512);
    }
}

namespace {
// stream_size_after / stream_size_now of a packet about to be fed.
std::pair<uint32_t, uint32_t> sizes_before_feed(const Flow& f, Direction dir, const test::Pkt& p) {
    TcpSegment seg;
    REQUIRE(parse_tcp(p.frame.data(), static_cast<uint32_t>(p.frame.size()), p.meta, seg));
    return {stream_size_after(f, dir, seg), stream_size_now(f, opposite(dir))};
}
}  // namespace

TEST_CASE("stream sizes read as Suricata's next_seq - isn: the SYN, then bytes in order, holes skipped",
          "[flow][tcp]") {
    FlowConfig cfg;
    cfg.ooo_max_bytes = 4;  // a fifth out-of-order byte forces the hole to be skipped
    Conn c(cfg, 0xfffffff0u);  // the client's sequence numbers wrap
    CHECK(stream_size_now(*c.flow, Direction::kToServer) == 1);  // the handshake: SYN only
    CHECK(stream_size_now(*c.flow, Direction::kToClient) == 1);
    const test::Pkt in_order = test::tcp(kClient, kServer, c.isn_c + 1, c.isn_s + 1, kAck, "abcdefghij");
    CHECK(sizes_before_feed(*c.flow, Direction::kToServer, in_order) == std::pair{11u, 1u});
    c.d->feed(in_order);
    CHECK(stream_size_now(*c.flow, Direction::kToServer) == 11);
    // A retransmission adds nothing; a segment past a hole adds nothing yet.
    CHECK(sizes_before_feed(*c.flow, Direction::kToServer, in_order).first == 11);
    const test::Pkt ahead = test::tcp(kClient, kServer, c.isn_c + 1 + 20, c.isn_s + 1, kAck, "klmnopq");
    CHECK(sizes_before_feed(*c.flow, Direction::kToServer, ahead).first == 11);
    c.d->feed(ahead);  // 7 bytes > ooo_max_bytes: the hole 10..19 is skipped
    CHECK(c.ctr().gaps.get() == 1);
    CHECK(stream_size_now(*c.flow, Direction::kToServer) == 28);  // next_seq moved past the hole
}

TEST_CASE("stream sizes of a flow picked up mid-stream: 1 before a side's first byte", "[flow][tcp]") {
    Conn c({}, 1000, 5000, false);
    const test::Pkt first = test::tcp(kServer, kClient, 7000, 3000, kAck | kTcpPsh, "HELLO1234");
    const Lookup l = c.d->feed(first);
    REQUIRE(l.flow != nullptr);
    REQUIRE(l.dir == Direction::kToClient);
    CHECK(stream_size_now(*l.flow, Direction::kToClient) == 10);
    // Suricata takes the silent side's ISN from the first packet's ACK.
    CHECK(stream_size_now(*l.flow, Direction::kToServer) == 1);
}
