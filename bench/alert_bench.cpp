// Alert path costs: EVE formatting on the output thread (alerts/s, output
// bytes/s) and the worker's publish + the output thread's drain through one
// AlertQueue (single thread, so the figure is the ring's own cost).
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "alert/alert_queue.hpp"
#include "alert/eve_json.hpp"

using namespace vtap;
using namespace vtap::alert;

namespace {

AlertRecord sample(size_t payload_len) {
    AlertRecord r;
    r.ts_ns = 1795305326123456789ull;
    r.flow_id = 987654321;
    uint32_t a, b;
    inet_pton(AF_INET, "10.0.0.4", &a);
    inet_pton(AF_INET, "198.18.0.9", &b);
    r.set_ipv4(a, b);
    r.src_port = 51000;
    r.dst_port = 80;
    r.ip_proto = 6;
    r.direction = Direction::kToServer;
    r.tunneled = true;
    r.vni = Vni{27};
    r.tap_src = a;
    r.tap_dst = b;
    r.sid = 2019401;
    r.rev = 3;
    r.priority = 2;
    r.msg.set("ET POLICY curl User-Agent Outbound \"quoted\"");
    r.class_desc.set("Potential Corporate Privacy Violation");
    std::string p = "GET /index.html HTTP/1.1\r\nHost: example\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
    while (p.size() < payload_len) p += p;
    r.payload.set(reinterpret_cast<const uint8_t*>(p.data()), payload_len);
    return r;
}

// Args: payload excerpt bytes. A new second every 1000 alerts, so the
// timestamp cache is exercised as at ~1000 alerts per second of traffic time.
void BM_FormatEve(benchmark::State& st) {
    AlertRecord r = sample(static_cast<size_t>(st.range(0)));
    EveOptions o;
    o.host = "sensor-1";
    o.in_iface = "net_netvsc0";
    EveFormatter f(o);
    std::string out;
    out.reserve(4096);
    size_t bytes = 0;
    uint64_t n = 0;
    for (auto _ : st) {
        out.clear();
        r.ts_ns += 1'000'000;
        r.src_port = static_cast<uint16_t>(1024 + (n++ & 0x3FFF));  // a different community id each time
        f.format(r, out);
        bytes += out.size();
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_FormatEve)->Arg(0)->Arg(64)->Arg(256);

// Args: alerts published per drain. One iteration = that many publishes and
// one drain of them all.
void BM_PublishDrain(benchmark::State& st) {
    const auto burst = static_cast<uint32_t>(st.range(0));
    auto q = AlertQueue::create("bench_alerts", 1024, SOCKET_ID_ANY);
    if (!q) {
        st.SkipWithError(q.error().to_string().c_str());
        return;
    }
    AlertRecord r = sample(256);
    uint64_t sum = 0;
    for (auto _ : st) {
        for (uint32_t i = 0; i < burst; i++) {
            r.sid = i;
            q->publish(r);
        }
        q->drain([&](const AlertRecord& x) { sum += x.sid; });
    }
    benchmark::DoNotOptimize(sum);
    if (q->counters().producer.dropped.get() != 0) st.SkipWithError("records dropped");
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * burst));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * burst * sizeof(AlertRecord)));
}
BENCHMARK(BM_PublishDrain)->Arg(1)->Arg(32)->Arg(512);

}  // namespace
