// threshold / detection_filter state (Suricata's detect-engine-threshold.c
// semantics) and the per-packet alert cap: each type, each track, the
// boundary counts, the inclusive window and its rollover, eviction.
#include "detect/alert_filter.hpp"

#include <array>
#include <atomic>
#include <thread>

#include "detect_fixture.hpp"

using namespace vtap::detect;
using namespace vtap::detect::test;
using vtap::rules::Threshold;

namespace {

constexpr uint64_t kSec = 1'000'000'000ull;

Threshold th(Threshold::Type type, uint32_t count, uint32_t seconds = 60,
             Threshold::Track track = Threshold::Track::kBySrc) {
    Threshold t;
    t.type = type;
    t.track = track;
    t.count = count;
    t.seconds = seconds;
    return t;
}

const IpAddr kA = IpAddr::v4(198, 18, 0, 1);
const IpAddr kB = IpAddr::v4(198, 18, 0, 2);
const IpAddr kC = IpAddr::v4(198, 18, 0, 3);

ThresholdTable table(uint32_t n = 1024) {
    auto t = ThresholdTable::create(n);
    REQUIRE(t.has_value());
    return std::move(*t);
}

// Verdicts of successive matches at the given seconds, A -> B.
std::vector<bool> run(ThresholdTable& tt, const Threshold& t, std::vector<uint64_t> secs) {
    std::vector<bool> out;
    for (uint64_t s : secs) out.push_back(tt.allow(0, t, kA, kB, 1000 * kSec + s * kSec));
    return out;
}

using V = std::vector<bool>;

}  // namespace

TEST_CASE("threshold type limit alerts on the first count matches of a window, then stays silent",
          "[detect][threshold]") {
    auto tt = table();
    CHECK(run(tt, th(Threshold::Type::kLimit, 2), {0, 1, 2, 60}) == V{true, true, false, false});
    // 61 s after the window opened it has rolled over: count restarts.
    CHECK(run(tt, th(Threshold::Type::kLimit, 2), {61, 62, 63}) == V{true, true, false});
}

TEST_CASE("threshold type threshold alerts on every count-th match within the window", "[detect][threshold]") {
    auto tt = table();
    CHECK(run(tt, th(Threshold::Type::kThreshold, 3), {0, 1, 2, 3, 4, 5, 6}) ==
          V{false, false, true, false, false, true, false});
    // Rolled over at 61: the match that reopens the window counts as the first.
    CHECK(run(tt, th(Threshold::Type::kThreshold, 3), {61, 62, 63}) == V{false, false, true});
}

TEST_CASE("threshold type threshold with count 1 alerts on a new entry and every match after",
          "[detect][threshold]") {
    auto tt = table();
    CHECK(run(tt, th(Threshold::Type::kThreshold, 1), {0, 1, 2}) == V{true, true, true});
}

TEST_CASE("threshold type both alerts once, on the count-th match of the window", "[detect][threshold]") {
    auto tt = table();
    CHECK(run(tt, th(Threshold::Type::kBoth, 2), {0, 1, 2, 3}) == V{false, true, false, false});
    CHECK(run(tt, th(Threshold::Type::kBoth, 2), {100, 101, 102}) == V{false, true, false});
    auto t1 = table();
    CHECK(run(t1, th(Threshold::Type::kBoth, 1), {0, 1, 100}) == V{true, false, true});
}

TEST_CASE("detection_filter alerts on every match after the first count in the window", "[detect][threshold]") {
    auto tt = table();
    CHECK(run(tt, th(Threshold::Type::kDetectionFilter, 2, 10), {0, 1, 2, 3, 10}) ==
          V{false, false, true, true, true});
    // 11 s after the start: rolled over, the count restarts at 1.
    CHECK(run(tt, th(Threshold::Type::kDetectionFilter, 2, 10), {11, 12, 13}) == V{false, false, true});
}

TEST_CASE("threshold tracks by_src, by_dst, by_both (unordered pair) and by_rule separately",
          "[detect][threshold]") {
    const uint64_t t0 = 1000 * kSec;
    SECTION("by_src") {
        auto tt = table();
        const auto t = th(Threshold::Type::kLimit, 1, 60, Threshold::Track::kBySrc);
        CHECK(tt.allow(0, t, kA, kB, t0));
        CHECK_FALSE(tt.allow(0, t, kA, kC, t0));  // same source
        CHECK(tt.allow(0, t, kB, kA, t0));        // other source
        CHECK(tt.allow(1, t, kA, kB, t0));        // other rule
    }
    SECTION("by_dst") {
        auto tt = table();
        const auto t = th(Threshold::Type::kLimit, 1, 60, Threshold::Track::kByDst);
        CHECK(tt.allow(0, t, kA, kB, t0));
        CHECK_FALSE(tt.allow(0, t, kC, kB, t0));  // same destination
        CHECK(tt.allow(0, t, kA, kC, t0));
    }
    SECTION("by_both") {
        auto tt = table();
        const auto t = th(Threshold::Type::kLimit, 1, 60, Threshold::Track::kByBoth);
        CHECK(tt.allow(0, t, kA, kB, t0));
        CHECK_FALSE(tt.allow(0, t, kB, kA, t0));  // the reverse direction is the same pair
        CHECK(tt.allow(0, t, kA, kC, t0));
    }
    SECTION("by_rule") {
        auto tt = table();
        const auto t = th(Threshold::Type::kLimit, 2, 60, Threshold::Track::kByRule);
        CHECK(tt.allow(0, t, kA, kB, t0));
        CHECK(tt.allow(0, t, kC, kA, t0));
        CHECK_FALSE(tt.allow(0, t, kB, kC, t0));
        CHECK(tt.allow(1, t, kB, kC, t0));
    }
}

TEST_CASE("a full threshold table evicts its oldest entry, counts it, and that key starts over",
          "[detect][threshold]") {
    auto tt = table(ThresholdTable::kProbe);  // every key probes every slot
    REQUIRE(tt.capacity() == ThresholdTable::kProbe);
    const auto t = th(Threshold::Type::kLimit, 1, 3600);
    for (uint8_t i = 0; i < ThresholdTable::kProbe; ++i)
        CHECK(tt.allow(0, t, IpAddr::v4(198, 18, 1, i), kB, (1000 + i) * kSec));
    CHECK(tt.used() == ThresholdTable::kProbe);
    CHECK(tt.evicted() == 0);
    CHECK(tt.allow(0, t, kC, kB, 2000 * kSec));  // a ninth source: evicts 198.18.1.0 (oldest)
    CHECK(tt.evicted() == 1);
    CHECK_FALSE(tt.allow(0, t, IpAddr::v4(198, 18, 1, 7), kB, 2001 * kSec));  // still tracked
    CHECK(tt.allow(0, t, IpAddr::v4(198, 18, 1, 0), kB, 2002 * kSec));        // forgotten: alerts again
    CHECK(tt.evicted() == 2);
}

TEST_CASE("an expired threshold entry is reused without counting an eviction", "[detect][threshold]") {
    auto tt = table(ThresholdTable::kProbe);
    const auto t = th(Threshold::Type::kLimit, 1, 10);
    for (uint8_t i = 0; i < ThresholdTable::kProbe; ++i)
        CHECK(tt.allow(0, t, IpAddr::v4(198, 18, 1, i), kB, 1000 * kSec));
    CHECK(tt.allow(0, t, kC, kB, 1011 * kSec));
    CHECK(tt.evicted() == 0);
}

TEST_CASE("threshold counts are exact when several workers match the same keys at once",
          "[detect][threshold]") {
    // The pipeline shares one table among its workers: four threads match
    // the same 16 sources at the same time, in the same order (so they claim
    // and update the same entries at once), and every count must come out
    // as if one thread had seen every match.
    auto tt = table(16384);
    constexpr unsigned kThreads = 4, kKeys = 16, kRounds = 20000;
    const auto limit = th(Threshold::Type::kLimit, 3);
    const auto every8 = th(Threshold::Type::kThreshold, 8);
    const auto after20 = th(Threshold::Type::kDetectionFilter, 20);
    std::atomic<unsigned> ready{0};
    std::array<std::array<unsigned, 3>, kThreads> alerts{};
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < kThreads; ++w)
        workers.emplace_back([&, w] {
            ready.fetch_add(1);
            while (ready.load() < kThreads) {}
            const uint64_t ts = 1000 * kSec;  // one window
            for (unsigned r = 0; r < kRounds; ++r)
                for (uint8_t k = 0; k < kKeys; ++k) {
                    const IpAddr src = IpAddr::v4(198, 18, 1, k);
                    alerts[w][0] += tt.allow(1, limit, src, kB, ts);
                    alerts[w][1] += tt.allow(2, every8, src, kB, ts);
                    alerts[w][2] += tt.allow(3, after20, src, kB, ts);
                }
        });
    for (auto& t : workers) t.join();
    std::array<unsigned, 3> total{};
    for (const auto& a : alerts)
        for (size_t i = 0; i < 3; ++i) total[i] += a[i];
    constexpr unsigned kMatchesPerKey = kThreads * kRounds;
    CHECK(total[0] == kKeys * 3);
    CHECK(total[1] == kKeys * (kMatchesPerKey / 8));
    CHECK(total[2] == kKeys * (kMatchesPerKey - 20));
    CHECK(tt.used() == 3 * kKeys);
    CHECK(tt.evicted() == 0);
}

TEST_CASE("threshold windows are kept to the millisecond, inclusive at the end", "[detect][threshold]") {
    auto tt = table();
    const auto t = th(Threshold::Type::kLimit, 1, 10);
    const uint64_t t0 = 1000 * kSec + 123'456'789;
    CHECK(tt.allow(0, t, kA, kB, t0));
    CHECK_FALSE(tt.allow(0, t, kA, kB, t0 + 10 * kSec));              // exactly start + seconds: in
    CHECK_FALSE(tt.allow(0, t, kA, kB, t0 + 10 * kSec + 500'000));    // same millisecond: in
    CHECK(tt.allow(0, t, kA, kB, t0 + 10 * kSec + 1'000'000));        // next millisecond: rolled over
}

TEST_CASE("threshold table capacity outside 8..2^24 is an error naming the setting", "[detect][threshold]") {
    auto t = ThresholdTable::create(4);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().where == "detect.threshold_entries");
    auto f = AlertFilter::create({0, 1024});
    REQUIRE_FALSE(f.has_value());
    CHECK(f.error().where == "detect.packet_alert_max");
}

TEST_CASE("the alert filter keeps packet_alert_max matches in rule order and counts the rest",
          "[detect][threshold]") {
    std::vector<vtap::rules::Rule> rules;
    for (uint32_t sid = 1; sid <= 7; ++sid) rules.push_back(rule(sid, {C("PAYLOAD_TRIGGER")}));
    rules[6].priority = 1;  // sid 7 outranks the others
    Engine e(rules);
    auto f = AlertFilter::create({6, 1024});
    REQUIRE(f.has_value());
    e.scanner->scan_packet(tcp_info(15), bytes("PAYLOAD_TRIGGER"), e.sink);
    REQUIRE(e.sink.size() == 7);
    f->finalize(*e.db, tcp_info(15), e.sink);
    CHECK(e.drain() == Sids{7, 1, 2, 3, 4, 5});
    CHECK(f->counters().packet_alert_overflow == 1);
    CHECK(f->counters().threshold_suppressed == 0);
}

TEST_CASE("the alert filter applies a rule's threshold before the cap and counts suppressions",
          "[detect][threshold]") {
    auto r1 = rule(1, {C("abc")});
    r1.threshold = th(Threshold::Type::kLimit, 1, 60);
    auto r2 = rule(2, {C("abc")});
    Engine e({r1, r2});
    auto f = AlertFilter::create({1, 1024});
    REQUIRE(f.has_value());
    PacketInfo info = tcp_info(3);
    info.ts_ns = 5 * kSec;
    auto one = [&] {
        e.scanner->scan_packet(info, bytes("abc"), e.sink);
        f->finalize(*e.db, info, e.sink);
        return e.drain();
    };
    CHECK(one() == Sids{1});  // sid 1 first in order; the cap (1) drops sid 2
    CHECK(one() == Sids{2});  // sid 1 suppressed: sid 2 fits under the cap
    CHECK(f->counters().threshold_suppressed == 1);
    CHECK(f->counters().packet_alert_overflow == 1);
}
