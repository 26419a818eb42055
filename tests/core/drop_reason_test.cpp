#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "core/counters.hpp"
#include "core/drop_reason.hpp"

using namespace vtap;

TEST_CASE("every drop reason has a unique module.reason counter name", "[core]") {
    std::set<std::string_view> seen;
    for (auto name : kDropReasonNames) {
        INFO(name);
        REQUIRE(name.find('.') != std::string_view::npos);
        REQUIRE(name.find('.') > 0);
        REQUIRE(seen.insert(name).second);
    }
    REQUIRE(seen.size() == kDropReasonCount);
    REQUIRE(drop_reason_name(DropReason::kWrongPort) == "decap.wrong_port");
    REQUIRE(drop_reason_name(DropReason::kRingFull) == "shard.ring_full");
}

TEST_CASE("rx counters sum drops across every reason", "[core]") {
    RxCounters c;
    c.drop(DropReason::kNotUdp).add(3);
    c.drop(DropReason::kSourceDenied).add(2);
    c.drop(DropReason::kRingFull).add();
    REQUIRE(c.drops_total() == 6);
    REQUIRE(alignof(RxCounters) == kCacheLine);
    REQUIRE(alignof(WorkerCounters) == kCacheLine);
}
