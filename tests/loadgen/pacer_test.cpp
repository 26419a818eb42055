#include <catch2/catch.hpp>

#include "loadgen/pacer.hpp"

using vtap::loadgen::Pacer;
using vtap::loadgen::Rate;

TEST_CASE("pacer spaces bursts by their share of a second at a packet rate", "[loadgen]") {
    // 1 GHz TSC, 1 Mpps: a 32-frame burst is worth 32,000 ticks.
    Pacer p(1'000'000'000, Rate{.pps = 1e6}, 5'000, 1'000'000);
    CHECK(p.due(32, 0, 5'000) == 5'000);
    CHECK(p.due(32, 0, 5'000) == 37'000);
    CHECK(p.due(16, 0, 40'000) == 69'000);
    CHECK(p.due(32, 0, 70'000) == 85'000);
    CHECK(p.slips() == 0);
}

TEST_CASE("pacer at a bit rate charges each burst its bytes", "[loadgen]") {
    // 1 GHz, 8 Gbit/s = 1 byte per tick.
    Pacer p(1'000'000'000, Rate{.bps = 8e9}, 0, 1'000'000);
    CHECK(p.due(4, 6000, 0) == 0);
    CHECK(p.due(1, 100, 0) == 6000);
    CHECK(p.due(1, 100, 0) == 6100);
}

TEST_CASE("pacer restarts its schedule instead of bursting after a stall", "[loadgen]") {
    Pacer p(1'000'000'000, Rate{.pps = 1e6}, 0, 10'000);
    CHECK(p.due(10, 0, 0) == 0);
    // 10 frames later is tick 10,000; the sender shows up at 500,000.
    CHECK(p.due(10, 0, 500'000) == 500'000);
    CHECK(p.slips() == 1);
    CHECK(p.due(10, 0, 500'000) == 510'000);
    // Within the allowed lag the schedule catches up without a slip.
    CHECK(p.due(10, 0, 525'000) == 520'000);
    CHECK(p.slips() == 1);
}

TEST_CASE("pacer without a rate lets every burst leave at once", "[loadgen]") {
    Pacer p(1'000'000'000, Rate{}, 0, 10);
    CHECK(p.due(64, 100'000, 7) == 7);
    CHECK(p.due(64, 100'000, 9) == 9);
    CHECK(p.slips() == 0);
}
