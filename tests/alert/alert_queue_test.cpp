// AlertQueue on a real EAL ring: exact capacity, drops counted exactly,
// publish order and record bytes preserved, and a concurrent producer and
// consumer that account for every record.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <rte_memory.h>

#include "alert/alert_queue.hpp"

using namespace vtap;
using namespace vtap::alert;

namespace {
AlertRecord record(uint32_t sid) {
    AlertRecord r;
    std::memset(static_cast<void*>(&r), 0, sizeof r);  // defined bytes for the memcmp below
    r = AlertRecord{};
    r.sid = sid;
    r.flow_id = 0xABCD0000ull + sid;
    r.msg.set("sid " + std::to_string(sid));
    uint8_t pl[300];
    for (size_t i = 0; i < sizeof pl; i++) pl[i] = static_cast<uint8_t>(i + sid);
    r.payload.set(pl, sizeof pl);
    return r;
}
}  // namespace

TEST_CASE("a full alert queue drops and counts every further record exactly", "[alert][queue][eal]") {
    auto q = AlertQueue::create("aq_full", 8, SOCKET_ID_ANY);
    REQUIRE(q);
    CHECK(q->capacity() == 8);
    int accepted = 0;
    for (uint32_t i = 0; i < 11; i++) accepted += q->publish(record(i));
    CHECK(accepted == 8);
    CHECK(q->counters().producer.published.get() == 8);
    CHECK(q->counters().producer.dropped.get() == 3);
    CHECK(q->count() == 8);

    std::vector<uint32_t> sids;
    CHECK(q->drain([&](const AlertRecord& r) { sids.push_back(r.sid); }) == 8);
    CHECK(sids == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});  // the first 8; later ones dropped
    CHECK(q->counters().consumer.drained.get() == 8);
    CHECK(q->publish(record(99)));  // room again
    CHECK(q->counters().producer.dropped.get() == 3);
}

TEST_CASE("drain hands records over in publish order, byte for byte, up to max", "[alert][queue][eal]") {
    auto q = AlertQueue::create("aq_order", 128, SOCKET_ID_ANY);
    REQUIRE(q);
    for (uint32_t i = 0; i < 100; i++) REQUIRE(q->publish(record(i)));
    std::vector<uint32_t> sids;
    bool same = true;
    auto take = [&](const AlertRecord& r) {
        const AlertRecord want = record(r.sid);
        same = same && std::memcmp(&r, &want, sizeof r) == 0;
        sids.push_back(r.sid);
    };
    CHECK(q->drain(take, 30) == 30);
    CHECK(sids.size() == 30);
    CHECK(q->drain(take) == 70);
    CHECK(q->drain(take) == 0);
    REQUIRE(sids.size() == 100);
    for (uint32_t i = 0; i < 100; i++) CHECK(sids[i] == i);
    CHECK(same);
}

TEST_CASE("one drain takes at most a ring's worth while the producer keeps up", "[alert][queue][eal]") {
    // A worker refilling the ring as fast as the control thread drains it
    // must not keep the control loop inside drain(): stop and reopen
    // requests are served between drains.
    auto q = AlertQueue::create("aq_storm", 64, SOCKET_ID_ANY);
    REQUIRE(q);
    for (uint32_t i = 0; i < 64; i++) REQUIRE(q->publish(record(i)));
    uint32_t next = 64;
    auto refill = [&](const AlertRecord&) {
        if (next < 64 * 100) REQUIRE(q->publish(record(next++)));  // room: one was just taken
    };
    CHECK(q->drain(refill) == 64);
    CHECK(q->count() == 64);
    CHECK(q->drain(refill, 1000) == 64);  // an explicit max above the capacity is bounded too
    CHECK(q->drain(refill, 10) == 10);
    CHECK(q->counters().producer.dropped.get() == 0);
}

TEST_CASE("a concurrent producer and consumer account for every record", "[alert][queue][eal]") {
    auto q = AlertQueue::create("aq_threads", 256, SOCKET_ID_ANY);
    REQUIRE(q);
    constexpr uint32_t kN = 100000;
    std::atomic<bool> done{false};
    std::thread producer([&] {
        AlertRecord r = record(0);
        for (uint32_t i = 0; i < kN; i++) {
            r.sid = i;
            q->publish(r);
        }
        done.store(true, std::memory_order_release);
    });
    uint64_t got = 0;
    int64_t last = -1;
    bool ordered = true;
    auto take = [&](const AlertRecord& r) {
        ordered = ordered && static_cast<int64_t>(r.sid) > last;
        last = r.sid;
        got++;
    };
    while (!done.load(std::memory_order_acquire)) q->drain(take);
    producer.join();
    q->drain(take);
    const auto& c = q->counters();
    CHECK(c.producer.published.get() + c.producer.dropped.get() == kN);
    CHECK(got == c.producer.published.get());
    CHECK(c.consumer.drained.get() == got);
    CHECK(ordered);
}

TEST_CASE("creating a queue with a bad name, capacity or a taken name is an error", "[alert][queue][eal]") {
    auto long_name = AlertQueue::create(std::string(29, 'n'), 8, SOCKET_ID_ANY);
    REQUIRE_FALSE(long_name);
    CHECK_THAT(long_name.error().what, Catch::Contains("1..28 characters"));
    CHECK_FALSE(AlertQueue::create("", 8, SOCKET_ID_ANY));
    auto zero = AlertQueue::create("aq_zero", 0, SOCKET_ID_ANY);
    REQUIRE_FALSE(zero);
    CHECK_THAT(zero.error().where, Catch::Contains("aq_zero"));

    auto first = AlertQueue::create("aq_dup", 8, SOCKET_ID_ANY);
    REQUIRE(first);
    auto second = AlertQueue::create("aq_dup", 8, SOCKET_ID_ANY);
    REQUIRE_FALSE(second);
    CHECK_THAT(second.error().what, Catch::Contains("rte_ring_create_elem"));
    CHECK(std::string(28, 'n').size() == 28);
    CHECK(AlertQueue::create(std::string(28, 'n'), 8, SOCKET_ID_ANY));
}

TEST_CASE("a moved queue keeps its ring and counters", "[alert][queue][eal]") {
    auto q = AlertQueue::create("aq_move", 4, SOCKET_ID_ANY);
    REQUIRE(q);
    REQUIRE(q->publish(record(7)));
    AlertQueue moved = std::move(*q);
    CHECK(moved.count() == 1);
    CHECK(moved.counters().producer.published.get() == 1);
    uint32_t sid = 0;
    CHECK(moved.drain([&](const AlertRecord& r) { sid = r.sid; }) == 1);
    CHECK(sid == 7);
}
