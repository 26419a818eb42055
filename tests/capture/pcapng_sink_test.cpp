// PcapngSink + capture_burst end to end: frames go in on a worker tap, the
// file comes back out through libpcap (and tshark when installed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>

#include <signal.h>
#include <sys/resource.h>

#include "capture/pcapng_sink.hpp"
#include "capture_fixture.hpp"

using namespace vtap;
using namespace vtap::capture;
using namespace captest;

namespace {

std::unique_ptr<PcapngSink> open_sink(const CaptureSettings& s, uint16_t workers = 1) {
    REQUIRE(test_port() != UINT16_MAX);
    auto r = PcapngSink::open(s, workers);
    INFO((r ? std::string() : r.error().to_string()));
    REQUIRE(r);
    return std::move(*r);
}

// Captures frames seq [first, first+count) of length len(seq) on `tap`,
// in bursts of `burst`; frees the originals. Returns frames queued.
template <class LenFn>
uint32_t feed(CaptureTap& tap, CaptureCounters& c, uint32_t first, uint32_t count, LenFn len,
              uint16_t burst = 32) {
    uint32_t queued = 0;
    for (uint32_t done = 0; done < count;) {
        rte_mbuf* pkts[64];
        const uint16_t k = static_cast<uint16_t>(std::min<uint32_t>(burst, count - done));
        for (uint16_t i = 0; i < k; ++i) {
            pkts[i] = make_frame(first + done + i, len(first + done + i));
            REQUIRE(pkts[i] != nullptr);
        }
        queued += capture_burst(tap, pkts, k, c);
        rte_pktmbuf_free_bulk(pkts, k);
        done += k;
    }
    return queued;
}

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Size of a file holding only the section and interface blocks.
uint64_t header_size(const TempDir& dir) {
    CaptureSettings s;
    s.path = dir.file("header.pcapng");
    auto sink = open_sink(s);
    REQUIRE(sink->close());
    return file_size(s.path);
}

}  // namespace

TEST_CASE("capture writes every frame byte for byte and libpcap reads them back", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("all.pcapng");
    auto sink = open_sink(s);
    CaptureCounters c;

    // 60..1514-byte frames plus a chained 9000-byte one (multi-segment source).
    auto len = [](uint32_t seq) { return seq == 100 ? 9000u : 60u + (seq * 97u) % 1455u; };
    const uint64_t before = now_ns();

    // The originals must come back untouched: same bytes, still ours alone.
    rte_mbuf* kept = make_frame(7, len(7));
    REQUIRE(capture_burst(sink->tap(WorkerId{0}), &kept, 1, c) == 1);
    CHECK(mbuf_bytes(kept) == frame_bytes(7, len(7)));
    CHECK(rte_mbuf_refcnt_read(kept) == 1);
    rte_pktmbuf_free(kept);
    REQUIRE(sink->drain().value() == 1);

    REQUIRE(feed(sink->tap(WorkerId{0}), c, 0, 101, len) == 101);
    REQUIRE(sink->drain().value() == 101);
    REQUIRE(sink->close());
    const uint64_t after = now_ns();

    CHECK(c.queued.get() == 102);
    CHECK(c.pool_empty.get() == 0);
    CHECK(c.ring_full.get() == 0);
    uint64_t frame_total = len(7);
    for (uint32_t q = 0; q < 101; ++q) frame_total += len(q);
    CHECK(sink->counters().packets.get() == 102);
    CHECK(sink->counters().bytes.get() == frame_total);
    CHECK(sink->counters().files.get() == 1);
    CHECK(sink->counters().lost.get() == 0);

    ReadBack rb = read_capture(s.path);
    REQUIRE(rb.error.empty());
    CHECK(rb.linktype == DLT_EN10MB);
    REQUIRE(rb.pkts.size() == 102);
    for (size_t i = 0; i < rb.pkts.size(); ++i) {
        const uint32_t seq = i == 0 ? 7 : static_cast<uint32_t>(i - 1);
        INFO("packet " << i << " seq " << seq);
        CHECK(rb.pkts[i].len == len(seq));
        CHECK(rb.pkts[i].caplen == len(seq));
        CHECK(rb.pkts[i].data == frame_bytes(seq, len(seq)));
        // Wall-clock time of capture, not the TSC-wrapped far future that
        // DPDK 22.11's rte_pcapng_copy produces (see README).
        CHECK(rb.pkts[i].ts_ns + 1'000'000ull >= before);
        CHECK(rb.pkts[i].ts_ns <= after + 1'000'000ull);
    }

    if (std::system("command -v tshark >/dev/null 2>&1") != 0) {
        WARN("tshark is not installed: Wireshark readability check skipped");
        return;
    }
    const std::string cmd = "tshark -r '" + s.path + "' -T fields -e frame.len 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::vector<uint32_t> lens;
    unsigned v;
    while (std::fscanf(p, "%u", &v) == 1) lens.push_back(v);
    CHECK(::pclose(p) == 0);
    REQUIRE(lens.size() == 102);
    CHECK(lens[0] == len(7));
    for (uint32_t q = 0; q < 101; ++q) CHECK(lens[q + 1] == len(q));
}

TEST_CASE("capture truncates frames to the snaplen and keeps their original length", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("snap.pcapng");
    s.snaplen = 64;
    auto sink = open_sink(s);
    CaptureCounters c;
    const uint32_t lens[] = {40, 63, 64, 65, 1500, 4000};
    REQUIRE(feed(sink->tap(WorkerId{0}), c, 0, 6, [&](uint32_t q) { return lens[q]; }) == 6);
    REQUIRE(sink->close());
    CHECK(sink->counters().bytes.get() == 40 + 63 + 64 + 64 + 64 + 64);

    ReadBack rb = read_capture(s.path);
    REQUIRE(rb.error.empty());
    REQUIRE(rb.pkts.size() == 6);
    for (uint32_t q = 0; q < 6; ++q) {
        INFO("seq " << q);
        const uint32_t cap = std::min(lens[q], 64u);
        CHECK(rb.pkts[q].len == lens[q]);
        CHECK(rb.pkts[q].caplen == cap);
        const auto full = frame_bytes(q, lens[q]);
        CHECK(rb.pkts[q].data == std::vector<uint8_t>(full.begin(), full.begin() + cap));
    }
}

TEST_CASE("capture rotates before a file would exceed max_bytes and keeps at most max_files", "[capture][eal]") {
    TempDir dir;
    const uint64_t header = header_size(dir);
    const uint64_t epb = epb_size(200);
    REQUIRE(epb == 232);
    CaptureSettings s;
    s.path = dir.file("rot.pcapng");
    s.max_bytes = header + 5 * epb + 100;  // room for exactly 5 frames
    s.max_files = 3;
    auto sink = open_sink(s);
    CaptureCounters c;
    // 37 frames in bursts of 10, drained after each: 8 files of 5,5,...,2;
    // only the newest 3 remain.
    for (uint32_t first = 0; first < 37; first += 10) {
        const uint32_t n = std::min(10u, 37 - first);
        REQUIRE(feed(sink->tap(WorkerId{0}), c, first, n, [](uint32_t) { return 200u; }) == n);
        REQUIRE(sink->drain().value() == n);
    }
    REQUIRE(sink->close());
    CHECK(sink->counters().files.get() == 8);
    CHECK(sink->counters().packets.get() == 37);

    CHECK_FALSE(exists(sink->file_path(3)));
    const uint32_t expect_first[] = {35, 30, 25};  // FILE, FILE.1, FILE.2
    const uint32_t expect_count[] = {2, 5, 5};
    for (uint32_t i = 0; i < 3; ++i) {
        const std::string f = sink->file_path(i);
        INFO(f);
        CHECK(file_size(f) <= s.max_bytes);
        CHECK(file_size(f) == header + expect_count[i] * epb);
        ReadBack rb = read_capture(f);
        REQUIRE(rb.error.empty());
        REQUIRE(rb.pkts.size() == expect_count[i]);
        for (uint32_t k = 0; k < expect_count[i]; ++k) CHECK(seq_of(rb.pkts[k]) == expect_first[i] + k);
    }
}

TEST_CASE("a frame larger than max_bytes gets a file of its own", "[capture][eal]") {
    TempDir dir;
    const uint64_t header = header_size(dir);
    CaptureSettings s;
    s.path = dir.file("big.pcapng");
    s.max_bytes = header + 100;  // below one 500-byte frame: the documented one-frame slack
    s.max_files = 5;
    auto sink = open_sink(s);
    CaptureCounters c;
    REQUIRE(feed(sink->tap(WorkerId{0}), c, 0, 3, [](uint32_t) { return 500u; }) == 3);
    REQUIRE(sink->close());
    CHECK(sink->counters().files.get() == 3);
    for (uint32_t i = 0; i < 3; ++i) {
        const std::string f = sink->file_path(i);
        CHECK(file_size(f) == header + epb_size(500));
        ReadBack rb = read_capture(f);
        REQUIRE(rb.pkts.size() == 1);
        CHECK(seq_of(rb.pkts[0]) == 2 - i);
    }
    CHECK_FALSE(exists(sink->file_path(3)));
}

TEST_CASE("opening a sink moves an existing capture file aside instead of overwriting it", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("keep.pcapng");
    s.max_files = 2;
    { std::ofstream(s.path) << "earlier run"; }
    auto sink = open_sink(s);
    REQUIRE(sink->close());
    std::ifstream old(sink->file_path(1));
    std::string text;
    std::getline(old, text);
    CHECK(text == "earlier run");
    CHECK(read_capture(s.path).error.empty());
}

TEST_CASE("capture counts ring_full exactly when the writer does not drain", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("full.pcapng");
    s.ring_size = 16;
    auto sink = open_sink(s);
    CaptureCounters c;
    CHECK(feed(sink->tap(WorkerId{0}), c, 0, 40, [](uint32_t) { return 100u; }, 8) == 16);
    CHECK(c.queued.get() == 16);
    CHECK(c.ring_full.get() == 24);
    CHECK(c.pool_empty.get() == 0);

    REQUIRE(sink->drain().value() == 16);
    CHECK(feed(sink->tap(WorkerId{0}), c, 40, 4, [](uint32_t) { return 100u; }) == 4);
    REQUIRE(sink->close());
    ReadBack rb = read_capture(s.path);
    REQUIRE(rb.pkts.size() == 20);
    for (uint32_t k = 0; k < 16; ++k) CHECK(seq_of(rb.pkts[k]) == k);  // the burst tails were refused
    for (uint32_t k = 0; k < 4; ++k) CHECK(seq_of(rb.pkts[16 + k]) == 40 + k);
}

TEST_CASE("capture counts pool_empty when the capture pool has no mbuf left", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("pool.pcapng");
    s.ring_size = 8;
    auto sink = open_sink(s);
    CaptureTap& tap = sink->tap(WorkerId{0});
    CaptureCounters c;
    std::vector<rte_mbuf*> hog;
    while (rte_mbuf* m = rte_pktmbuf_alloc(tap.pool)) hog.push_back(m);
    CHECK(hog.size() == 8);
    CHECK(feed(tap, c, 0, 5, [](uint32_t) { return 80u; }) == 0);
    CHECK(c.pool_empty.get() == 5);
    CHECK(c.ring_full.get() == 0);
    rte_pktmbuf_free_bulk(hog.data(), static_cast<unsigned>(hog.size()));
    CHECK(feed(tap, c, 5, 5, [](uint32_t) { return 80u; }) == 5);
    REQUIRE(sink->close());
    CHECK(read_capture(s.path).pkts.size() == 5);
}

TEST_CASE("every worker's tap is drained into the one file", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("two.pcapng");
    auto sink = open_sink(s, 2);
    REQUIRE(sink->n_workers() == 2);
    CaptureCounters c0, c1;
    REQUIRE(feed(sink->tap(WorkerId{0}), c0, 0, 10, [](uint32_t) { return 90u; }) == 10);
    REQUIRE(feed(sink->tap(WorkerId{1}), c1, 10, 10, [](uint32_t) { return 90u; }) == 10);
    REQUIRE(sink->drain().value() == 20);
    REQUIRE(sink->close());
    ReadBack rb = read_capture(s.path);
    REQUIRE(rb.pkts.size() == 20);
    std::set<uint32_t> seqs;
    for (const auto& p : rb.pkts) seqs.insert(seq_of(p));
    CHECK(seqs.size() == 20);
    CHECK(*seqs.begin() == 0);
    CHECK(*seqs.rbegin() == 19);
}

TEST_CASE("a frame from a port without an interface block is filed under the first port and counted", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("port.pcapng");
    auto sink = open_sink(s);
    CaptureCounters c;
    rte_mbuf* m = make_frame(1, 70, RTE_MAX_ETHPORTS - 1);
    REQUIRE(capture_burst(sink->tap(WorkerId{0}), &m, 1, c) == 1);
    rte_pktmbuf_free(m);
    REQUIRE(sink->close());
    CHECK(sink->counters().unknown_port.get() == 1);
    ReadBack rb = read_capture(s.path);
    REQUIRE(rb.error.empty());
    REQUIRE(rb.pkts.size() == 1);
    CHECK(rb.pkts[0].data == frame_bytes(1, 70));
}

TEST_CASE("close writes what is still queued and later frames are counted as lost", "[capture][eal]") {
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("close.pcapng");
    auto sink = open_sink(s);
    CaptureCounters c;
    REQUIRE(feed(sink->tap(WorkerId{0}), c, 0, 5, [](uint32_t) { return 60u; }) == 5);
    REQUIRE(sink->close());
    REQUIRE(sink->close());  // idempotent
    CHECK(read_capture(s.path).pkts.size() == 5);

    REQUIRE(feed(sink->tap(WorkerId{0}), c, 5, 3, [](uint32_t) { return 60u; }) == 3);
    auto r = sink->drain();
    REQUIRE_FALSE(r);
    CHECK(r.error().what == "sink is closed");
    CHECK(sink->counters().lost.get() == 3);
    CHECK(sink->counters().packets.get() == 5);
}

TEST_CASE("a failed write is counted, reported, and the next drain starts a new file", "[capture][eal]") {
    TempDir dir;
    const uint64_t header = header_size(dir);
    CaptureSettings s;
    s.path = dir.file("efbig.pcapng");
    s.max_files = 3;
    auto sink = open_sink(s);
    CaptureCounters c;
    // The file-size limit makes writev stop after 3 whole 232-byte blocks
    // plus part of a 4th: a short write, like a full disk.
    REQUIRE(feed(sink->tap(WorkerId{0}), c, 0, 6, [](uint32_t) { return 200u; }) == 6);
    void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
    rlimit old_lim{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    rlimit lim = old_lim;
    lim.rlim_cur = header + 3 * 232 + 100;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
    auto r = sink->drain();
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    ::signal(SIGXFSZ, old_handler);

    REQUIRE_FALSE(r);
    CHECK(r.error().where == "capture " + s.path);
    CHECK(r.error().what.find("short write") != std::string::npos);
    CHECK(sink->counters().write_errors.get() == 1);
    CHECK(sink->counters().packets.get() == 3);
    CHECK(sink->counters().lost.get() == 3);

    REQUIRE(feed(sink->tap(WorkerId{0}), c, 6, 2, [](uint32_t) { return 200u; }) == 2);
    REQUIRE(sink->drain().value() == 2);
    REQUIRE(sink->close());
    CHECK(sink->counters().files.get() == 2);
    ReadBack fresh = read_capture(s.path);
    REQUIRE(fresh.error.empty());
    REQUIRE(fresh.pkts.size() == 2);
    CHECK(seq_of(fresh.pkts[0]) == 6);
    // The torn file was moved aside; libpcap reads its whole blocks, then
    // reports the truncated one.
    ReadBack torn = read_capture(sink->file_path(1));
    CHECK(torn.pkts.size() == 3);
    CHECK_FALSE(torn.error.empty());
}

TEST_CASE("opening a capture in a missing directory fails naming the path and the reason", "[capture][eal]") {
    REQUIRE(test_port() != UINT16_MAX);
    TempDir dir;
    CaptureSettings s;
    s.path = dir.file("no/such/dir/x.pcapng");
    auto r = PcapngSink::open(s, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().where == "capture " + s.path);
    CHECK(r.error().what == "cannot create file: No such file or directory");
}

TEST_CASE("opening a capture on a directory or a device node is refused", "[capture][eal]") {
    REQUIRE(test_port() != UINT16_MAX);
    TempDir dir;
    for (const std::string& path : {dir.path.string(), std::string("/dev/null")}) {
        CaptureSettings s;
        s.path = path;
        auto r = PcapngSink::open(s, 1);
        REQUIRE_FALSE(r);
        CHECK(r.error().where == "capture " + path);
        CHECK(r.error().what == "exists and is not a regular file");
    }
    CHECK(exists("/dev/null"));
}

TEST_CASE("capture settings it cannot honour are rejected by name", "[capture][eal]") {
    REQUIRE(test_port() != UINT16_MAX);
    TempDir dir;
    auto what = [&](CaptureSettings s, uint16_t workers = 1) {
        if (s.path.empty() && s.max_files != 99) s.path = dir.file("bad.pcapng");
        if (s.max_files == 99) s.max_files = 4;
        auto r = PcapngSink::open(s, workers);
        return r ? std::string("opened") : r.error().what;
    };
    CaptureSettings s;
    s.max_files = 99;  // keep the path empty
    CHECK(what(s) == "no pcapng path given");
    s = {};
    s.max_files = 0;
    CHECK(what(s) == "max_files 0 is outside 1..1000");
    s = {};
    s.snaplen = 10000;
    CHECK(what(s) == "snaplen 10000 exceeds the largest supported frame, 9216 (0 keeps whole frames)");
    s = {};
    s.ring_size = 0;
    CHECK(what(s) == "ring_size 0 is outside 1..1048576");
    s = {};
    CHECK(what(s, 0).rfind("worker count 0 is outside 1..", 0) == 0);
    CHECK_FALSE(exists(dir.file("bad.pcapng")));
}

TEST_CASE("the TSC clock converts without overflow and never runs backwards past its base", "[capture]") {
    TscClock k;
    k.base_tsc = 1'000'000;
    k.base_ns = 1'700'000'000'000'000'000ull;
    k.hz = 3'000'000'000ull;
    CHECK(k.to_ns(k.base_tsc) == k.base_ns);
    CHECK(k.to_ns(k.base_tsc - 500) == k.base_ns);
    CHECK(k.to_ns(k.base_tsc + k.hz / 2) == k.base_ns + 500'000'000ull);
    // One year of ticks: delta * 1e9 alone would overflow 64 bits.
    const uint64_t year = 365ull * 24 * 3600;
    CHECK(k.to_ns(k.base_tsc + year * k.hz + 3) == k.base_ns + year * 1'000'000'000ull + 1);
}
