// Per-signature rate limit: bursts up to N pass, the rest of the window is
// suppressed and counted, signatures are independent, time refills, and a
// table overflow evicts rather than fails.
#include <catch2/catch.hpp>

#include "output/rate_limit.hpp"

using vtap::output::RateLimitSpec;
using vtap::output::SignatureRateLimiter;

namespace {
constexpr uint64_t kSec = 1'000'000'000ull;
constexpr uint64_t kT0 = 1'795'305'326ull * kSec;
}  // namespace

TEST_CASE("without a limit every alert passes", "[output][rate_limit]") {
    SignatureRateLimiter l(RateLimitSpec{});
    CHECK_FALSE(l.enabled());
    for (int i = 0; i < 1000; i++) CHECK(l.admit(1, 5, kT0));
    CHECK(l.suppressed() == 0);
}

TEST_CASE("one signature gets N alerts per window and the rest are suppressed and counted", "[output][rate_limit]") {
    SignatureRateLimiter l(RateLimitSpec{.per_signature = 5, .per_seconds = 10});
    int passed = 0;
    for (int i = 0; i < 100; i++) passed += l.admit(1, 2001, kT0 + uint64_t(i) * 1'000'000);  // 100 in 0.1 s
    CHECK(passed == 5);
    CHECK(l.suppressed() == 95);
    // Refill: one alert per S/N = 2 s.
    CHECK_FALSE(l.admit(1, 2001, kT0 + kSec));
    CHECK(l.admit(1, 2001, kT0 + 2 * kSec + 1));
    CHECK_FALSE(l.admit(1, 2001, kT0 + 2 * kSec + 2));
    // After a quiet period the whole burst is available again.
    int later = 0;
    for (int i = 0; i < 10; i++) later += l.admit(1, 2001, kT0 + 100 * kSec);
    CHECK(later == 5);
}

TEST_CASE("signatures are limited independently, gid included", "[output][rate_limit]") {
    SignatureRateLimiter l(RateLimitSpec{.per_signature = 2, .per_seconds = 60});
    for (int i = 0; i < 5; i++) {
        l.admit(1, 100, kT0);
        l.admit(1, 101, kT0);
        l.admit(3, 100, kT0);
    }
    CHECK(l.suppressed() == 9);  // 3 signatures x (5 - 2)
    CHECK_FALSE(l.admit(1, 100, kT0));
    CHECK(l.admit(1, 102, kT0));
}

TEST_CASE("alerts arriving out of time order only delay, never add credit", "[output][rate_limit]") {
    SignatureRateLimiter l(RateLimitSpec{.per_signature = 1, .per_seconds = 1});
    CHECK(l.admit(1, 7, kT0 + 5 * kSec));
    CHECK_FALSE(l.admit(1, 7, kT0));  // an older packet from another worker
    CHECK(l.admit(1, 7, kT0 + 6 * kSec));
}

TEST_CASE("more signatures than the table holds evict the oldest and keep limiting", "[output][rate_limit]") {
    SignatureRateLimiter l(RateLimitSpec{.per_signature = 1, .per_seconds = 3600});
    const uint32_t n = SignatureRateLimiter::kSlots * 2;
    for (uint32_t sid = 1; sid <= n; sid++) CHECK(l.admit(1, sid, kT0 + sid));
    CHECK(l.evictions() > 0);
    CHECK(l.evictions() >= n - SignatureRateLimiter::kSlots);
    // The most recent signature is still known and still limited.
    CHECK_FALSE(l.admit(1, n, kT0 + n + 1));
}
