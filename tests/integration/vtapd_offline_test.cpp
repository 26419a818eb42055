// Offline input is a file, not a wire: vtapd must read all of it however
// far RX runs ahead of the workers. A capture several times larger than the
// mempool and the worker rings goes through without a frame lost to an
// empty pool (port rx_nombuf) or a full ring (shard.ring_full).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "support/flat_json.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;

namespace {

const std::string kVtapPcap = env_or("VTAP_PCAP", "apps/vtap-pcap/vtap-pcap");

void require_lossless(unsigned workers, unsigned ring_size, unsigned mbufs, bool preload = false) {
    TempDir dir;
    const std::string capture = dir / "big.pcap", summary = dir / "summary.json";
    auto gen = run_cmd(kVtapPcap + " synth --out " + capture + " --flows 600 --seed 3 --size imix --summary-json " +
                       summary);
    INFO(gen.text);
    REQUIRE(gen.status == 0);
    const auto sum = parse_flat_json(read_file(summary)).numbers;
    const double frames = sum.at("frames");
    // Several times what the binding limit (pool or rings) can hold at once.
    REQUIRE(frames > 2.5 * std::min(mbufs, ring_size * workers));

    VtapdConfig vc;
    vc.prefix = eal_prefix("off");
    vc.ports = pcap_port_yaml(capture) + (preload ? "    preload: true\n" : "");
    vc.workers = workers;
    vc.ring_size = ring_size;
    vc.mempool = "  mbufs: " + std::to_string(mbufs) + "\n";
    const std::string cfg = write_vtapd_config(dir / "vtapd.yaml", vc), stats = dir / "stats.json";
    auto out = run_cmd(vtapd_path() + " -c " + cfg + " --stats-file " + stats);
    INFO(out.text);
    REQUIRE(out.status == 0);
    auto s = read_stats(stats);
    CHECK(s["port.pcap0.ipackets"] == frames);
    CHECK(s["port.pcap0.rx_nombuf"] == 0);
    CHECK(s["shard.ring_full"] == 0);
    CHECK(s["rx.packets"] == frames);
    CHECK(s["decap.delivered"] == frames);
    CHECK(s["worker.packets"] == frames);
    CHECK(s["worker.bytes"] == sum.at("inner_bytes"));
    CHECK(s["worker.flows"] == sum.at("flows"));
}

}  // namespace

TEST_CASE("vtapd reads a capture larger than its mempool without losing a frame", "[integration][offline]") {
    require_lossless(2, 1024, 2047);
}

TEST_CASE("vtapd reads a capture larger than its worker ring without losing a frame", "[integration][offline]") {
    require_lossless(1, 128, 8191);
}

// preload: the frames come from memory at ring speed; RX must still wait
// for the worker rings, and the pool (unused by preloaded frames) is small.
TEST_CASE("vtapd delivers a preloaded capture once, every frame, without a ring drop", "[integration][offline]") {
    require_lossless(2, 128, 2047, true);
}
