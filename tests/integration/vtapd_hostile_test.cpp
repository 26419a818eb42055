// vtapd end to end on hostile traffic. A seeded generator takes the inner
// frames of ordinary conversations (TCP over IPv4 and IPv6, UDP, ICMP, IPv4
// and IPv6 fragments, VLAN tags, IPv6 extension headers, IPv4 and TCP
// options) and damages them: bits flipped, bytes overwritten, lengths set to
// edge values, frames cut short or padded, runs of bytes inserted or
// removed so every header after them shifts. Most damage lands in the
// headers, where the parsers, the flow table, TCP reassembly and defrag
// take their decisions. The mutants run through vtapd twice, with two
// workers (shard rings, defrag handoff) and run to completion, with a rule
// set that uses each family of keywords (content chains, pcre,
// byte_test/byte_jump, flowbits, thresholds, header-only lists, ICMP, TTL,
// TCP flags, dsize, isdataat), interleaved with clean conversations on their
// own addresses.
//
// What must hold: vtapd exits cleanly (under the CI build's ASan and UBSan,
// any memory error or undefined behaviour fails the run), every frame is
// accounted for (delivered or a counted drop, nothing lost between RX and
// the workers), and the clean conversations raise exactly the alerts they
// raise alone: damaged traffic must not corrupt the state that detection of
// other flows depends on.
//
// VTAP_HOSTILE_SEED and VTAP_HOSTILE_MUTANTS change the corpus for longer
// soak runs (the CI run uses the defaults below).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>

#include "flow/tcp.hpp"
#include "support/flat_json.hpp"
#include "support/frames.hpp"
#include "support/pcap_file.hpp"
#include "support/process.hpp"
#include "support/vtapd.hpp"
#include "tests/flow/frag_frames.hpp"

using namespace vtap;
using namespace vtap::test;

namespace {

constexpr uint8_t kSyn = flow::kTcpSyn, kAck = flow::kTcpAck, kPsh = flow::kTcpPsh, kFin = flow::kTcpFin;

// One rule per family of keywords; each fires on the clean traffic below.
constexpr const char* kRules = R"(alert tcp any any -> any 80 (msg:"evil get"; flow:established,to_server; content:"GET /evil"; sid:9200001; rev:1;)
alert tcp any 80 -> any any (msg:"secret in a 200"; flow:established,to_client; content:"HTTP/1.1 200"; content:"secret"; distance:0; within:80; sid:9200002; rev:1;)
alert tcp any any -> any 80 (msg:"bot agent"; flow:to_server; content:"User-Agent|3a|"; pcre:"/^\s*[a-z]{3,}bot\r?$/Rm"; sid:9200003; rev:1;)
alert udp any any -> any 7000 (msg:"length-prefixed"; content:"LEN"; byte_test:2,>,100,0,relative; byte_jump:2,0,relative; content:"END"; within:10; sid:9200004; rev:1;)
alert udp any any -> any 53 (msg:"dns name"; content:"|07|example|03|com|00|"; nocase; isdataat:3,relative; sid:9200005; rev:1;)
alert udp any any -> any any (msg:"big datagram"; dsize:>400; isdataat:500; sid:9200006; rev:1;)
alert icmp any any -> any any (msg:"echo"; itype:8; icode:0; sid:9200007; rev:1;)
alert ip any any -> any any (msg:"low ttl"; ttl:<3; sid:9200008; rev:1;)
alert tcp any any -> any any (msg:"syn fin"; flags:SF; sid:9200009; rev:1;)
alert tcp any any -> any 80 (msg:"login"; flow:established,to_server; content:"LOGIN"; flowbits:set,logged_in; flowbits:noalert; sid:9200010; rev:1;)
alert tcp any 80 -> any any (msg:"welcome after login"; flow:established,to_client; content:"WELCOME"; flowbits:isset,logged_in; sid:9200011; rev:1;)
alert tcp any any -> any 80 (msg:"get, once per source"; flow:to_server; content:"GET "; threshold:type limit,track by_src,count 1,seconds 60; sid:9200012; rev:1;)
alert tcp any any -> any 80 (msg:"abc without xyz"; content:"abc"; content:!"xyz"; sid:9200013; rev:1;)
alert ip [198.18.1.9,198.19.2.9] any -> any any (msg:"listed host"; sid:9200014; rev:1;)
)";
constexpr unsigned kRuleCount = 14;

using Frame = std::vector<uint8_t>;

std::string_view sv(const std::string& s) { return {s.data(), s.size()}; }

// A client/server exchange: handshake, a login, a greeting, a GET (split
// between two segments when `split`), a 200 with a secret, FIN both ways.
void conversation(std::vector<Frame>& out, const Ep& c, const Ep& s, bool ipv6, bool split) {
    uint32_t cs = 1000, ss = 5000;
    out.push_back(tcp(c, s, cs, 0, kSyn, {}, ipv6).frame);
    out.push_back(tcp(s, c, ss, cs + 1, kSyn | kAck, {}, ipv6).frame);
    ++cs, ++ss;
    out.push_back(tcp(c, s, cs, ss, kAck, {}, ipv6).frame);
    auto from_client = [&](std::string_view d) {
        out.push_back(tcp(c, s, cs, ss, kPsh | kAck, d, ipv6).frame);
        cs += static_cast<uint32_t>(d.size());
    };
    auto from_server = [&](std::string_view d) {
        out.push_back(tcp(s, c, ss, cs, kPsh | kAck, d, ipv6).frame);
        ss += static_cast<uint32_t>(d.size());
    };
    from_client("LOGIN user\r\n");
    from_server("WELCOME back\r\n");
    const std::string get = "GET /evil HTTP/1.1\r\nUser-Agent: crawlbot\r\nX: abc\r\n\r\n";
    if (split) {
        from_client(sv(get).substr(0, 6));
        from_client(sv(get).substr(6));
    } else {
        from_client(get);
    }
    from_server("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nthe secret is here!!");
    out.push_back(tcp(c, s, cs, ss, kFin | kAck, {}, ipv6).frame);
    out.push_back(tcp(s, c, ss, cs + 1, kFin | kAck, {}, ipv6).frame);
    out.push_back(tcp(c, s, cs + 1, ss + 1, kAck, {}, ipv6).frame);
}

std::string length_prefixed() {
    std::string p = "LEN";
    p += static_cast<char>(0);
    p += static_cast<char>(120);
    p += std::string(120, 'p');
    return p + "END of it";
}

std::string dns_query() {
    static const char q[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07" "example\x03" "com\x00\x00\x01\x00\x01";
    return {q, sizeof q - 1};
}

// Everything else the rules look at, from client `c` toward server
// address `s`: datagrams, a fragmented one each way of fragmenting, ICMP, a
// low TTL, a SYN+FIN probe, and host .9 of the client's /24 (a listed host).
void datagrams(std::vector<Frame>& out, const Ep& c, const Ep& s, uint16_t frag_id) {
    const Ep s7000{{s.addr[0], s.addr[1], s.addr[2], s.addr[3]}, 7000};
    const Ep s53{{s.addr[0], s.addr[1], s.addr[2], s.addr[3]}, 53};
    out.push_back(udp(c, s7000, length_prefixed()).frame);
    out.push_back(udp(c, s53, dns_query()).frame);
    out.push_back(make_pkt(IPPROTO_UDP, c, s53, 0, 0, 0, dns_query(), true).frame);
    out.push_back(udp(c, s7000, std::string(600, 'B')).frame);
    out.push_back(icmp(c, s, 8).frame);
    Pkt low = udp(c, s7000, "ttl");
    low.frame[14 + 8] = 2;
    out.push_back(low.frame);
    out.push_back(tcp(c, Ep{{s.addr[0], s.addr[1], s.addr[2], s.addr[3]}, 22}, 77, 0, kSyn | kFin).frame);
    out.push_back(udp(Ep{{c.addr[0], c.addr[1], c.addr[2], 9}, 5555}, s7000, "from a listed host").frame);
    const Pkt w = udp(c, s7000, length_prefixed());
    out.push_back(frag(w, 0, 24, true, frag_id).frame);
    out.push_back(frag(w, 24, static_cast<uint32_t>(w.frame.size() - 34 - 24), false, frag_id).frame);
    const Pkt w6 = make_pkt(IPPROTO_UDP, c, s7000, 0, 0, 0, length_prefixed(), true);
    out.push_back(frag6(w6, 0, 24, true, 0x20000u + frag_id).frame);
    out.push_back(frag6(w6, 24, static_cast<uint32_t>(w6.frame.size() - kIpv6Payload - 24), false, 0x20000u + frag_id, 27,
                        true).frame);
}

// Inner frames with the less common shapes decap and the flow code accept.
void odd_shapes(std::vector<Frame>& out) {
    for (int v = 0; v < 16; v++) {
        Inner in;
        in.src = ip4(198, 19, 2, static_cast<uint8_t>(50 + v));
        in.dst = ip4(198, 19, 2, 200);
        in.vlans.assign(static_cast<size_t>(v % 3), static_cast<uint16_t>(100 + v));
        in.ipv6 = v & 1;
        if (in.ipv6 && (v & 2)) in.v6_ext = {0, 60};
        if (in.ipv6 && (v & 4)) in.v6_ext.push_back(44), in.v6_frag_offset = static_cast<uint16_t>(v & 8 ? 0 : 3);
        if (!in.ipv6) in.ipv4_options_words = static_cast<uint8_t>(v % 4), in.ipv4_frag = v & 8 ? 0x2000 : 0;
        in.proto = std::array<uint8_t, 4>{6, 17, static_cast<uint8_t>(in.ipv6 ? 58 : 1), 47}[static_cast<size_t>(v / 4)];
        in.tcp_doff_words = static_cast<uint8_t>(5 + v % 11);
        in.payload = static_cast<size_t>(v * 37 % 300);
        in.pad = static_cast<size_t>(v % 5);
        out.push_back(inner_frame(in));
    }
}

// Damage, mostly within the first 80 bytes (Ethernet, VLAN, IP, L4 headers).
Frame mutate(Frame f, std::mt19937& rng) {
    auto pos = [&](size_t n) { return rng() % 4 ? rng() % std::min<size_t>(n, 80) : rng() % n; };
    static constexpr uint16_t kEdges[] = {0, 1, 7, 8, 20, 40, 0x3fff, 0x7fff, 0x8000, 0xfffe, 0xffff};
    const unsigned ops = 1 + (rng() % 4 == 0);
    for (unsigned op = 0; op < ops; op++) {
        if (f.empty()) break;
        switch (rng() % 6) {
        case 0:
            for (unsigned i = 1 + rng() % 3; i-- > 0;) f[pos(f.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
        case 1:
            for (unsigned i = 1 + rng() % 6; i-- > 0;) f[pos(f.size())] = static_cast<uint8_t>(rng());
            break;
        case 2: f.resize(rng() % f.size()); break;
        case 3: {
            const size_t at = pos(f.size());
            if (at + 1 < f.size()) put16(f, at, kEdges[rng() % std::size(kEdges)]);
            break;
        }
        case 4:
            for (unsigned i = 1 + rng() % 64; i-- > 0;) f.push_back(static_cast<uint8_t>(rng()));
            break;
        case 5: {
            const size_t at = pos(f.size());
            const size_t len = 1 + rng() % 8;
            if (rng() % 2) f.insert(f.begin() + static_cast<long>(at), len, static_cast<uint8_t>(rng()));
            else f.erase(f.begin() + static_cast<long>(at), f.begin() + static_cast<long>(std::min(f.size(), at + len)));
            break;
        }
        }
    }
    return f;
}

struct Run : DetectRun {
    std::vector<std::string> alerts;  // the EVE file's lines
};

Run run_vtapd(const TempDir& dir, const std::string& name, const std::vector<Frame>& frames, unsigned workers) {
    write_pcap(dir / (name + ".pcap"), frames);
    std::ofstream(dir / (name + ".rules")) << kRules;
    Run r{run_vtapd_detect(dir, name, dir / (name + ".pcap"), workers), {}};
    std::ifstream eve(r.eve);
    for (std::string line; std::getline(eve, line);) r.alerts.push_back(line);
    return r;
}

// sid and both endpoints of an alert.
std::string alert_key(const std::string& line) {
    const FlatJson j = FlatJsonReader::parse(line);
    auto str = [&](const char* k) { return j.strings.count(k) ? j.strings.at(k) : std::string("-"); };
    auto num = [&](const char* k) { return j.numbers.count(k) ? std::to_string(static_cast<long>(j.numbers.at(k))) : "-"; };
    return num("alert.signature_id") + " " + str("src_ip") + ":" + num("src_port") + " " + str("dest_ip") + ":" +
           num("dest_port");
}

std::string endpoints(const std::string& key) { return key.substr(key.find(' ') + 1); }

std::string join(const auto& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? "none" : out;
}

}  // namespace

TEST_CASE("vtapd survives damaged inner traffic, accounts for every frame and still alerts on clean flows",
          "[integration][detect][hostile]") {
    const unsigned seed = static_cast<unsigned>(std::stoul(env_or("VTAP_HOSTILE_SEED", "20261205")));
    const size_t mutants = std::stoul(env_or("VTAP_HOSTILE_MUTANTS", "30000"));
    // Two workers (shard rings, defrag handoff) and run to completion.
    const unsigned workers = GENERATE(2u, 0u);
    INFO("VTAP_HOSTILE_SEED=" << seed << " VTAP_HOSTILE_MUTANTS=" << mutants << " workers " << workers);
    TempDir dir;

    // Clean traffic on 198.18.1.0/24, the mutants' originals on 198.19.2.0/24:
    // two bytes apart, so that one mutated byte cannot turn a mutant into a
    // packet of a clean flow (or of its source, for the by_src threshold).
    std::vector<Frame> clean, originals;
    const Ep server{{198, 18, 1, 200}, 80}, mserver{{198, 19, 2, 200}, 80};
    for (uint16_t i = 0; i < 12; i++) {
        conversation(clean, Ep{{198, 18, 1, static_cast<uint8_t>(1 + i)}, static_cast<uint16_t>(30000 + i)}, server, i % 3 == 2,
                     i % 2);
        conversation(originals, Ep{{198, 19, 2, static_cast<uint8_t>(1 + i)}, static_cast<uint16_t>(40000 + i)}, mserver,
                     i % 3 == 2, i % 2);
    }
    datagrams(clean, Ep{{198, 18, 1, 1}, 30100}, server, 100);
    datagrams(originals, Ep{{198, 19, 2, 1}, 40100}, mserver, 200);
    odd_shapes(originals);

    std::mt19937 rng(seed);
    std::vector<Frame> mixed;
    const size_t per_clean = mutants / clean.size() + 1;
    size_t made = 0, next_clean = 0;
    while (made < mutants || next_clean < clean.size()) {
        if (next_clean < clean.size()) mixed.push_back(vtap_frame(clean[next_clean++]));
        for (size_t k = 0; k < per_clean && made < mutants; k++, made++) {
            const Frame& o = originals[rng() % originals.size()];
            // One in ten damages the outer headers too.
            mixed.push_back(rng() % 10 ? vtap_frame(mutate(o, rng)) : mutate(vtap_frame(o), rng));
        }
    }
    std::vector<Frame> clean_wrapped;
    for (const auto& f : clean) clean_wrapped.push_back(vtap_frame(f));

    Run alone = run_vtapd(dir, "hostile_clean", clean_wrapped, workers);
    INFO(alone.output);
    REQUIRE(alone.status == 0);
    REQUIRE(alone.output.find(std::to_string(kRuleCount) + " loaded, 0 skipped") != std::string::npos);
    CHECK(alone.stats["decap.delivered"] == clean.size());
    std::multiset<std::string> want;
    std::set<std::string> clean_endpoints, sids_fired;
    for (const auto& line : alone.alerts) {
        const std::string k = alert_key(line);
        want.insert(k);
        clean_endpoints.insert(endpoints(k));
        sids_fired.insert(k.substr(0, k.find(' ')));
    }
    // Every rule but the noalert setter fires on the clean traffic alone.
    INFO("sids fired: " << join(sids_fired));
    CHECK(sids_fired.size() == kRuleCount - 1);

    Run run = run_vtapd(dir, "hostile_mixed", mixed, workers);
    INFO(run.output);
    REQUIRE(run.status == 0);
    CHECK(run.output.find("runtime error") == std::string::npos);  // UBSan reports and goes on
    auto& s = run.stats;
    CHECK(s["rx.packets"] == mixed.size());
    CHECK(s["rx.packets"] == s["decap.delivered"] + s["drops.total"]);
    CHECK(s["worker.packets"] == s["decap.delivered"]);
    CHECK(s["shard.ring_full"] == 0);
    // The damage reached every layer: decap refused some, the workers took
    // most, TCP saw broken sequences and defrag broken fragments.
    CHECK(s["decap.delivered"] > 0.6 * mutants);
    CHECK(s["drops.total"] > 0.1 * mutants);
    CHECK(s["decap.inner_bad_ip"] + s["decap.inner_bad_l4"] + s["decap.inner_truncated"] > 0);
    CHECK(s["flow.gaps"] + s["flow.out_of_window"] + s["flow.ooo_bytes"] > 0);
    CHECK(s["defrag.invalid"] + s["defrag.timeouts"] + s["defrag.evicted"] + s["defrag.fragments"] > 0);

    std::multiset<std::string> got;
    for (const auto& line : run.alerts) {
        const std::string k = alert_key(line);
        if (clean_endpoints.count(endpoints(k))) got.insert(k);
    }
    std::vector<std::string> missing, extra;
    std::ranges::set_difference(want, got, std::back_inserter(missing));
    std::ranges::set_difference(got, want, std::back_inserter(extra));
    INFO("missing on clean flows: " << join(missing) << "; extra on clean flows: " << join(extra));
    CHECK(missing.empty());
    CHECK(extra.empty());
    CHECK(run.alerts.size() > want.size());  // the mutants' originals fire too
}
