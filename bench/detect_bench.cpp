// Detection benchmarks: BM_ScanBurst runs Scanner::scan_packet (Hyperscan +
// header checks + confirmation) over bursts of 64 real payloads; the
// baseline BM_RawHyperscanBurst hands the same bytes to hs_scan with the same
// database and does nothing per match — the ceiling. Their bytes/s ratio is
// the cost of confirmation. BM_ScanStreamBurst / BM_RawHyperscanStreamBurst
// do the same in stream mode over 16 interleaved flows.
// Payloads: TCP/UDP payloads from $VTAP_CORPUS/traffic/*.pcap (default
// /work/shared/corpus), else generated HTTP-like requests and responses.
// Rules: N synthetic content rules (args 100, 1000), a fifth of them built
// from HTTP vocabulary so that confirmation really runs.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <string>
#include <vector>

#include "detect/database.hpp"
#include "detect/scanner.hpp"

using namespace vtap;
using namespace vtap::detect;

namespace {

constexpr size_t kBurst = 64;
constexpr size_t kMaxPayloads = 20000;

struct Rng {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
};

// Payload of an Ethernet frame carrying IPv4/IPv6 TCP or UDP; empty otherwise.
std::string l4_payload(const uint8_t* f, size_t len) {
    size_t off = 12;
    if (len < 14) return {};
    uint16_t type = static_cast<uint16_t>(f[12] << 8 | f[13]);
    off = 14;
    while ((type == 0x8100 || type == 0x88a8) && len >= off + 4) {
        type = static_cast<uint16_t>(f[off + 2] << 8 | f[off + 3]);
        off += 4;
    }
    uint8_t proto = 0;
    if (type == 0x0800 && len >= off + 20) {
        proto = f[off + 9];
        off += (f[off] & 0x0f) * 4u;
    } else if (type == 0x86dd && len >= off + 40) {
        proto = f[off + 6];
        off += 40;
    } else {
        return {};
    }
    if (proto == 6 && len >= off + 20) off += (f[off + 12] >> 4) * 4u;
    else if (proto == 17 && len >= off + 8) off += 8;
    else return {};
    return off < len ? std::string(reinterpret_cast<const char*>(f + off), len - off) : std::string{};
}

std::vector<std::string> corpus_payloads() {
    const char* env = std::getenv("VTAP_CORPUS");
    const std::filesystem::path dir = std::filesystem::path(env ? env : "/work/shared/corpus") / "traffic";
    std::vector<std::string> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return out;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".pcap") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t* p = pcap_open_offline(file.c_str(), err);
        if (p == nullptr) continue;
        pcap_pkthdr* h = nullptr;
        const u_char* data = nullptr;
        while (out.size() < kMaxPayloads && pcap_next_ex(p, &h, &data) == 1) {
            std::string pl = l4_payload(data, h->caplen);
            if (!pl.empty()) out.push_back(std::move(pl));
        }
        pcap_close(p);
    }
    return out;
}

std::vector<std::string> generated_payloads() {
    static const char* kPaths[] = {"/index.html", "/api/v1/items?id=", "/static/app.js", "/login.php", "/images/logo.png"};
    static const char* kAgents[] = {"Mozilla/5.0 (X11; Linux x86_64)", "curl/7.88.1", "python-requests/2.31"};
    Rng rng;
    std::vector<std::string> out;
    for (size_t i = 0; i < 4096; ++i) {
        std::string s;
        if (i % 2 == 0) {
            s = std::string("GET ") + kPaths[rng.below(5)] + std::to_string(rng.below(100000)) + " HTTP/1.1\r\nHost: www" +
                std::to_string(rng.below(50)) + ".example.com\r\nUser-Agent: " + kAgents[rng.below(3)] +
                "\r\nAccept: */*\r\nCookie: session=" + std::to_string(rng.next()) + "\r\n\r\n";
        } else {
            s = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1024\r\n\r\n<html><body>";
            while (s.size() < 1200) s += static_cast<char>('a' + rng.below(26));
        }
        out.push_back(std::move(s));
    }
    return out;
}

const std::vector<std::string>& payloads() {
    static const std::vector<std::string> p = [] {
        auto c = corpus_payloads();
        return c.empty() ? generated_payloads() : c;
    }();
    return p;
}

std::vector<rules::Rule> synthetic_rules(uint32_t n) {
    static const char* kVocab[] = {"GET ", "POST ", "HTTP/1.1", "Host: ", "User-Agent: ", "Content-Type", "Cookie: ",
                                   "text/html", "Accept", "\r\n\r\n", "200 OK", "curl/", ".php", "login", "admin"};
    Rng rng;
    std::vector<rules::Rule> out;
    for (uint32_t i = 0; i < n; ++i) {
        rules::Rule r;
        r.sid = 1000000 + i;
        r.rev = 1;
        r.proto = rules::Proto::kTcp;
        r.msg = "synthetic " + std::to_string(i);
        rules::Content a;
        if (i % 5 == 0) {
            a.bytes = kVocab[rng.below(15)];
            rules::Content b;
            b.bytes = kVocab[rng.below(15)];
            b.distance = rules::IntOrVar{0, {}};
            b.nocase = i % 2 == 0;
            r.payload = {a, b};
        } else {
            const uint32_t len = 6 + rng.below(8);
            for (uint32_t k = 0; k < len; ++k) a.bytes += static_cast<char>(0x21 + rng.below(94));
            a.nocase = i % 3 == 0;
            if (i % 7 == 0) a.depth = rules::IntOrVar{64, {}};
            r.payload = {a};
        }
        out.push_back(std::move(r));
    }
    return out;
}

std::shared_ptr<const Database> database(uint32_t n) {
    static std::map<uint32_t, std::shared_ptr<const Database>> cache;
    auto& db = cache[n];
    if (!db) db = compile(synthetic_rules(n), {}).value();
    return db;
}

PacketInfo info_for(size_t i) {
    PacketInfo p;
    p.src = IpAddr::v4(198, 18, 0, static_cast<uint8_t>(1 + i % 16));
    p.dst = IpAddr::v4(198, 18, 1, 1);
    p.src_port = static_cast<uint16_t>(40000 + i % 16);
    p.dst_port = 80;
    p.proto = kProtoTcp;
    p.has_flow = p.to_server = p.established = true;
    return p;
}

int count_match(unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) {
    ++*static_cast<uint64_t*>(ctx);
    return 0;
}

void BM_ScanBurst(benchmark::State& state) {
    const auto db = database(static_cast<uint32_t>(state.range(0)));
    auto scanner = Scanner::create(db).value();
    const auto& pl = payloads();
    MatchSink sink;
    size_t next = 0, bytes = 0, items = 0;
    for (auto _ : state) {
        for (size_t k = 0; k < kBurst; ++k, next = (next + 1) % pl.size()) {
            PacketInfo info = info_for(next);
            info.dsize = static_cast<uint16_t>(pl[next].size());
            scanner.scan_packet(info, {reinterpret_cast<const uint8_t*>(pl[next].data()), pl[next].size()}, sink);
            bytes += pl[next].size();
        }
        items += kBurst;
        benchmark::DoNotOptimize(sink.size());
        sink.clear();
    }
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    const auto& c = scanner.counters();
    state.counters["cand/pkt"] = static_cast<double>(c.candidates) / static_cast<double>(c.packet_scans);
    state.counters["match/pkt"] = static_cast<double>(c.matches) / static_cast<double>(c.packet_scans);
}

void BM_RawHyperscanBurst(benchmark::State& state) {
    const auto db = database(static_cast<uint32_t>(state.range(0)));
    const hs_database_t* hs = db->group(GroupId::kTcpNoStream).db.get();
    hs_scratch_t* scratch = nullptr;
    if (hs_alloc_scratch(hs, &scratch) != HS_SUCCESS) {
        state.SkipWithError("hs_alloc_scratch");
        return;
    }
    const auto& pl = payloads();
    uint64_t hits = 0;
    size_t next = 0, bytes = 0, items = 0;
    for (auto _ : state) {
        for (size_t k = 0; k < kBurst; ++k, next = (next + 1) % pl.size()) {
            hs_scan(hs, pl[next].data(), static_cast<unsigned>(pl[next].size()), 0, scratch, count_match, &hits);
            bytes += pl[next].size();
        }
        items += kBurst;
        benchmark::DoNotOptimize(hits);
    }
    hs_free_scratch(scratch);
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

constexpr size_t kFlows = 16;

void BM_ScanStreamBurst(benchmark::State& state) {
    const auto db = database(static_cast<uint32_t>(state.range(0)));
    auto scanner = Scanner::create(db).value();
    const auto& pl = payloads();
    std::vector<StreamHandle> flows(kFlows);
    MatchSink sink;
    size_t next = 0, bytes = 0, items = 0;
    for (auto _ : state) {
        for (size_t k = 0; k < kBurst; ++k, next = (next + 1) % pl.size()) {
            PacketInfo info = info_for(next);
            info.stream_added = true;
            scanner.scan_stream(flows[next % kFlows], {reinterpret_cast<const uint8_t*>(pl[next].data()), pl[next].size()}, info, sink);
            bytes += pl[next].size();
        }
        items += kBurst;
        benchmark::DoNotOptimize(sink.size());
        sink.clear();
    }
    for (auto& f : flows) scanner.close_stream(f);
    const auto& c = scanner.counters();
    state.counters["cand/pkt"] = static_cast<double>(c.candidates) / static_cast<double>(c.stream_scans);
    state.counters["match/pkt"] = static_cast<double>(c.matches) / static_cast<double>(c.stream_scans);
    state.counters["stream_B"] = static_cast<double>(scanner.stream_bytes() + sizeof(StreamHandle));
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_RawHyperscanStreamBurst(benchmark::State& state) {
    const auto db = database(static_cast<uint32_t>(state.range(0)));
    const hs_database_t* hs = db->group(GroupId::kStreamToServer).db.get();
    hs_scratch_t* scratch = nullptr;
    std::vector<hs_stream_t*> flows(kFlows, nullptr);
    if (hs_alloc_scratch(hs, &scratch) != HS_SUCCESS) {
        state.SkipWithError("hs_alloc_scratch");
        return;
    }
    for (auto& f : flows) hs_open_stream(hs, 0, &f);
    const auto& pl = payloads();
    uint64_t hits = 0;
    size_t next = 0, bytes = 0, items = 0;
    for (auto _ : state) {
        for (size_t k = 0; k < kBurst; ++k, next = (next + 1) % pl.size()) {
            hs_scan_stream(flows[next % kFlows], pl[next].data(), static_cast<unsigned>(pl[next].size()), 0, scratch, count_match, &hits);
            bytes += pl[next].size();
        }
        items += kBurst;
        benchmark::DoNotOptimize(hits);
    }
    for (auto& f : flows) hs_close_stream(f, scratch, nullptr, nullptr);
    hs_free_scratch(scratch);
    state.SetItemsProcessed(static_cast<int64_t>(items));
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

}  // namespace

BENCHMARK(BM_ScanBurst)->Arg(100)->Arg(1000);
BENCHMARK(BM_RawHyperscanBurst)->Arg(100)->Arg(1000);
BENCHMARK(BM_ScanStreamBurst)->Arg(100)->Arg(1000);
BENCHMARK(BM_RawHyperscanStreamBurst)->Arg(100)->Arg(1000);
BENCHMARK_MAIN();
