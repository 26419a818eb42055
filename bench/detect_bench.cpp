// Detection benchmarks: BM_ScanBurst runs Scanner::scan_packet (Hyperscan +
// header checks + confirmation) over bursts of 64 real payloads; the
// baseline BM_RawHyperscanBurst hands the same bytes to hs_scan with the same
// database and does nothing per match — the ceiling. Their bytes/s ratio is
// the cost of confirmation. BM_ScanStreamBurst / BM_RawHyperscanStreamBurst
// do the same in stream mode over 16 interleaved flows.
// Payloads: TCP/UDP payloads from $VTAP_CORPUS/traffic/*.pcap (default
// /work/shared/corpus), else generated HTTP-like requests and responses.
// Rules: N synthetic content rules (args 100, 1000), a fifth of them built
// from HTTP vocabulary so that confirmation really runs; arg 0 = every rule
// of ET Open ($VTAP_CORPUS/rules/et-open-suricata-5.0_2024-04-21/*.rules)
// that loads, through runtime::load_and_compile as vtapd loads them (skipped
// with a message when the corpus is absent). The raw baselines scan with the
// same compiled database the Scanner uses for those payloads.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <string>
#include <vector>

#include "detect/database.hpp"
#include "detect/scanner.hpp"
#include "runtime/rule_loading.hpp"

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

std::filesystem::path corpus_dir() {
    const char* env = std::getenv("VTAP_CORPUS");
    return env ? env : "/work/shared/corpus";
}

std::vector<std::string> corpus_payloads() {
    const std::filesystem::path dir = corpus_dir() / "traffic";
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

constexpr uint32_t kAllEtOpen = 0;  // benchmark arg: every loadable ET Open rule

// Every ET Open rule file, loaded and compiled by the code vtapd runs at
// start (unsupported rules are skipped there, as in vtapd). Null, with
// `why` set, when the corpus is absent or does not load.
std::shared_ptr<const Database> et_open_database(std::string& why) {
    const std::filesystem::path dir = corpus_dir() / "rules" / "et-open-suricata-5.0_2024-04-21";
    config::DetectConfig dc;
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec))
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.path().extension() == ".rules") dc.rule_files.push_back(entry.path());
    if (dc.rule_files.empty()) {
        why = "ET Open rules not found in " + dir.string() + " (set VTAP_CORPUS)";
        return nullptr;
    }
    std::sort(dc.rule_files.begin(), dc.rule_files.end());
    if (std::filesystem::exists(dir / "classification.config")) dc.classification_file = dir / "classification.config";
    auto loaded = runtime::load_and_compile(dc);
    if (!loaded) {
        why = loaded.error().to_string();
        return nullptr;
    }
    std::fprintf(stderr, "detect_bench: ET Open: %s\n", loaded->summary.c_str());
    return loaded->db;
}

// Rule set of a benchmark arg, compiled once per process. Null (and the
// benchmark skipped with `why`) when it cannot be had.
std::shared_ptr<const Database> database(benchmark::State& state) {
    static std::map<int64_t, std::shared_ptr<const Database>> cache;
    static std::string et_why;
    const int64_t n = state.range(0);
    auto& db = cache[n];
    if (!db) db = n == kAllEtOpen ? et_open_database(et_why) : compile(synthetic_rules(static_cast<uint32_t>(n)), {}).value();
    if (!db) state.SkipWithError(et_why.c_str());
    else if (n == kAllEtOpen) state.SetLabel("all loadable ET Open: " + std::to_string(db->rules().size()) + " rules");
    return db;
}

// The group's Hyperscan database; skips the benchmark when the rule set has
// none for it (nothing for Hyperscan to scan).
const hs_database_t* group_db(benchmark::State& state, const Database& db, GroupId g) {
    const hs_database_t* hs = db.group(g).db.get();
    if (hs == nullptr) state.SkipWithError((std::string("no Hyperscan database for group ") + group_name(g)).c_str());
    return hs;
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
    const auto db = database(state);
    if (!db) return;
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
    const auto db = database(state);
    if (!db) return;
    // scan_packet's group for these payloads: TCP, not added to a stream.
    const hs_database_t* hs = group_db(state, *db, GroupId::kTcpNoStream);
    if (hs == nullptr) return;
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
    const auto db = database(state);
    if (!db) return;
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
    const auto db = database(state);
    if (!db) return;
    // scan_stream's group for these payloads: to_server.
    const hs_database_t* hs = group_db(state, *db, GroupId::kStreamToServer);
    if (hs == nullptr) return;
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

// Arg: synthetic rules, or 0 = all loadable ET Open rules.
BENCHMARK(BM_ScanBurst)->Arg(100)->Arg(1000)->Arg(kAllEtOpen);
BENCHMARK(BM_RawHyperscanBurst)->Arg(100)->Arg(1000)->Arg(kAllEtOpen);
BENCHMARK(BM_ScanStreamBurst)->Arg(100)->Arg(1000)->Arg(kAllEtOpen);
BENCHMARK(BM_RawHyperscanStreamBurst)->Arg(100)->Arg(1000)->Arg(kAllEtOpen);
BENCHMARK_MAIN();
