// A DetectStage over real mbufs (EAL tests): compile the given rules, run
// frames through on_burst one at a time, drain the alerts per sid and read
// the stage's counters.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "alert/alert_queue.hpp"
#include "detect/database.hpp"
#include "runtime/detect_stage.hpp"
#include "shard/arrival.hpp"
#include "support/mbufs.hpp"
#include "tests/flow/flow_frames.hpp"

namespace vtap::test {

struct StageFixture {
    rte_mempool* pool;
    alert::AlertQueue alerts;
    std::unique_ptr<runtime::DetectStage> stage;
    WorkerCounters wctr;

    int ts_offset = -1;  // the RX timestamp dynfield, with capture_time
    uint64_t ts_flag = 0;

    // `name` keeps the mempool and ring names of fixtures apart; `worker` is
    // the stage's worker index (its inbox when connected to a handoff).
    // `capture_time`: the stage runs on the mbufs' RX timestamps (ns), as on
    // net_pcap, instead of the wall clock. `midstream`: FlowConfig::midstream.
    StageFixture(const std::string& name, const std::vector<rules::Rule>& rules, uint16_t worker = 0,
                 bool capture_time = false, bool midstream = true)
        : pool(make_pool((name + "_pool").c_str(), 63)), alerts(make_queue(name + "_alerts")) {
        if (capture_time) {
            REQUIRE(rte_mbuf_dyn_rx_timestamp_register(&ts_offset, &ts_flag) == 0);
        }
        auto db = detect::compile(rules, {});
        REQUIRE(db.has_value());
        flow::FlowConfig fc;
        fc.capacity = 64;
        fc.segment_pool_bytes = 64 * 1024;
        fc.midstream = midstream;
        auto st = runtime::DetectStage::create(worker, fc, *db, nullptr, &alerts, 0, capture_time ? 1 : 0);
        REQUIRE(st.has_value());
        stage = std::move(*st);
    }
    ~StageFixture() {
        stage.reset();
        rte_mempool_free(pool);
    }

    // `a`: the arrival RX would have stamped (matters with a handoff).
    void run(const Pkt& p, shard::Arrival a = {}) {
        rte_mbuf* m = mbuf(p, a);
        stage->on_burst(&m, 1, wctr);
        rte_pktmbuf_free(m);
    }

    // `ts_ns`: the RX timestamp, with capture_time.
    rte_mbuf* mbuf(const Pkt& p, shard::Arrival a = {}, uint64_t ts_ns = 0) {
        rte_mbuf* m = make_mbuf(pool, p.frame);
        pkt_meta(m) = p.meta;
        uint64_t next = a.seq;
        shard::stamp_arrivals(&m, 1, a.rx, next);
        if (ts_offset >= 0) {
            *RTE_MBUF_DYNFIELD(m, ts_offset, uint64_t*) = ts_ns;
            m->ol_flags |= ts_flag;
        }
        return m;
    }

    void idle() { stage->on_idle(wctr); }

    // A TCP three-way handshake: the client's ISN is 100 and the server's
    // 500, so their data starts at 101 and 501.
    void handshake(const Ep& cli, const Ep& srv) {
        run(tcp(cli, srv, 100, 0, flow::kTcpSyn));
        run(tcp(srv, cli, 500, 101, flow::kTcpSyn | flow::kTcpAck));
        run(tcp(cli, srv, 101, 501, flow::kTcpAck));
    }

    // sid -> (alerts, payload of the last one)
    std::map<uint32_t, std::pair<unsigned, std::string>> drain() {
        std::map<uint32_t, std::pair<unsigned, std::string>> out;
        alerts.drain([&](const alert::AlertRecord& r) {
            auto& [n, payload] = out[r.sid];
            n++;
            payload.assign(reinterpret_cast<const char*>(r.payload.bytes), r.payload.kept());
        });
        return out;
    }

    uint64_t stat(const std::string& name) {
        runtime::StatList list;
        stage->append_stats("", list);
        for (const auto& [k, v] : list)
            if (k == name) return v;
        FAIL("no stat " << name);
        return 0;
    }

private:
    static alert::AlertQueue make_queue(const std::string& name) {
        auto q = alert::AlertQueue::create(name, 64, SOCKET_ID_ANY);
        REQUIRE(q.has_value());
        return std::move(*q);
    }
};

}  // namespace vtap::test
