// vtapd's decapsulated capture sink end to end: a vtap-pcap capture (plus a
// few frames decap drops) through the vtapd binary with capture.pcapng set;
// the pcapng files, read back with libpcap, must hold exactly the delivered
// inner frames — the input minus its 50 bytes of outer headers — and obey
// the rotation bounds.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "support/flat_json.hpp"
#include "support/frames.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"

using namespace vtap::test;
namespace fs = std::filesystem;

namespace {

using Frames = std::vector<std::vector<uint8_t>>;

const std::string kVtapPcap = env_or("VTAP_PCAP", "apps/vtap-pcap/vtap-pcap");
constexpr size_t kOuterLen = 14 + 20 + 8 + 8;  // Ethernet, IPv4, UDP, VXLAN: no outer VLAN here

struct Input {
    std::string pcap;
    Frames inner;         // what must be captured, in input order
    size_t frames = 0;    // all frames of the pcap
    double inner_bytes = 0;
};

// A seeded VTAP capture with IPv4 and IPv6 conversations of mixed sizes,
// then frames decap drops: they must not reach the capture.
Input make_input(const TempDir& dir) {
    const std::string synth = dir / "synth.pcap", summary = dir / "summary.json";
    auto gen = run_cmd(kVtapPcap + " synth --out " + synth + " --flows 60 --seed 11 --size imix --ipv6-share 0.3" +
                       " --summary-json " + summary);
    INFO(gen.text);
    REQUIRE(gen.status == 0);
    Input in;
    Frames frames = read_pcap(synth);
    for (const auto& f : frames) {
        REQUIRE(f.size() > kOuterLen);
        REQUIRE((f[12] << 8 | f[13]) == 0x0800);  // no outer VLAN: the inner frame starts at 50
        in.inner.emplace_back(f.begin() + kOuterLen, f.end());
    }
    in.inner_bytes = parse_flat_json(read_file(summary)).numbers.at("inner_bytes");
    const auto inner = inner_frame({});
    frames.push_back(vtap_frame(inner, {.dport = 8472}));
    frames.push_back(vtap_frame(inner, {.vxlan_flags = 0}));
    frames.push_back(vtap_frame({inner.begin(), inner.begin() + 20}));
    in.frames = frames.size();
    in.pcap = dir / "input.pcap";
    write_pcap(in.pcap, frames);
    return in;
}

std::map<std::string, double> run_with_capture(const TempDir& dir, const Input& in, unsigned workers,
                                               const std::string& capture_yaml) {
    VtapdConfig vc;
    vc.prefix = eal_prefix("cap");
    vc.ports = pcap_port_yaml(in.pcap);
    vc.workers = workers;
    vc.extra = "capture:\n" + capture_yaml;
    const std::string cfg = write_vtapd_config(dir / "vtapd.yaml", vc), stats = dir / "stats.json";
    auto out = run_cmd(vtapd_path() + " -c " + cfg + " --stats-file " + stats);
    INFO(out.text);
    REQUIRE(out.status == 0);
    auto s = read_stats(stats);
    CHECK(s["rx.packets"] == in.frames);
    CHECK(s["decap.delivered"] == in.inner.size());
    CHECK(s["drops.total"] == in.frames - in.inner.size());
    // Every delivered frame was offered to the sink and none was lost there.
    CHECK(s["capture.queued"] == s["decap.delivered"]);
    CHECK(s["capture.ring_full"] == 0);
    CHECK(s["capture.pool_empty"] == 0);
    CHECK(s["capture.lost"] == 0);
    CHECK(s["capture.write_errors"] == 0);
    return s;
}

// FILE.<n-1> (oldest) ... FILE.1, FILE (newest): the files present, oldest first.
std::vector<std::string> rotated_files(const std::string& file) {
    std::vector<std::string> out;
    for (unsigned i = 1; fs::exists(file + "." + std::to_string(i)); i++)
        out.insert(out.begin(), file + "." + std::to_string(i));
    if (fs::exists(file)) out.push_back(file);
    return out;
}

}  // namespace

TEST_CASE("vtapd captures every delivered inner frame byte for byte and nothing it dropped", "[integration][capture]") {
    TempDir dir;
    const Input in = make_input(dir);
    const std::string file = dir / "inner.pcapng";
    auto s = run_with_capture(dir, in, 2, "  pcapng: " + file + "\n");

    Frames got = read_pcap(file), want = in.inner;
    CHECK(got.size() == s["decap.delivered"]);
    CHECK(s["capture.packets"] == got.size());
    CHECK(s["capture.bytes"] == in.inner_bytes);
    CHECK(s["capture.files"] == 1);
    // Two workers interleave in the file: compare as multisets.
    sort_frames(got);
    sort_frames(want);
    CHECK(got == want);
}

TEST_CASE("vtapd rotates its capture into files no larger than max_bytes that together hold every frame", "[integration][capture]") {
    TempDir dir;
    const Input in = make_input(dir);
    const std::string file = dir / "inner.pcapng";
    constexpr uint64_t kMaxBytes = 65536;
    auto s = run_with_capture(dir, in, 1,
                              "  pcapng: " + file + "\n  max_bytes: " + std::to_string(kMaxBytes) + "\n  max_files: 64\n");

    const auto files = rotated_files(file);
    CHECK(files.size() >= 2);
    CHECK(files.size() == s["capture.files"]);
    Frames all;
    for (const auto& f : files) {
        INFO(f);
        CHECK(fs::file_size(f) <= kMaxBytes);
        Frames part = read_pcap(f);
        CHECK(!part.empty());
        all.insert(all.end(), part.begin(), part.end());
    }
    // One worker keeps input order, so the files read oldest first are the input.
    CHECK(all.size() == in.inner.size());
    CHECK(all == in.inner);
}

TEST_CASE("vtapd keeps only the newest max_files capture files", "[integration][capture]") {
    TempDir dir;
    const Input in = make_input(dir);
    const std::string file = dir / "inner.pcapng";
    constexpr uint64_t kMaxBytes = 65536;
    auto s = run_with_capture(dir, in, 1,
                              "  pcapng: " + file + "\n  max_bytes: " + std::to_string(kMaxBytes) + "\n  max_files: 2\n");

    CHECK(s["capture.files"] > 2);  // the capture needed more files than are kept
    const auto files = rotated_files(file);
    REQUIRE(files.size() == 2);
    CHECK(!fs::exists(file + ".2"));
    Frames kept;
    for (const auto& f : files) {
        INFO(f);
        CHECK(fs::file_size(f) <= kMaxBytes);
        Frames part = read_pcap(f);
        kept.insert(kept.end(), part.begin(), part.end());
    }
    // What is left is the newest stretch of the input, in order.
    REQUIRE(!kept.empty());
    REQUIRE(kept.size() < in.inner.size());
    const Frames tail(in.inner.end() - static_cast<long>(kept.size()), in.inner.end());
    CHECK(kept == tail);
}
