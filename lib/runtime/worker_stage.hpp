// The worker's pluggable stage. A worker lcore dequeues a burst from its ring
// and hands it to its WorkerStage before freeing it; the detection engine
// (flow tracking, Hyperscan) arrives as another WorkerStage. One instance per
// worker, never shared, called only from that worker's lcore: no locks.
// Per-burst virtual dispatch only; nothing virtual runs per packet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/counters.hpp"
#include "core/result.hpp"

struct rte_mbuf;
struct rte_hash;

namespace vtap::runtime {

using StatList = std::vector<std::pair<std::string, uint64_t>>;

class WorkerStage {
public:
    virtual ~WorkerStage() = default;
    // Sees every packet the worker dequeued; must not free or keep them.
    virtual void on_burst(rte_mbuf** pkts, uint16_t n, WorkerCounters& ctr) noexcept = 0;
    // Called when a poll found the ring empty (timers, housekeeping).
    virtual void on_idle(WorkerCounters& ctr) noexcept { (void)ctr; }
    // Called on the control thread after every worker lcore returned: work
    // other workers handed over after this one stopped polling. Returns true
    // while work remains; the caller drains the alert queues and calls again.
    virtual bool on_stopped(WorkerCounters& ctr) noexcept {
        (void)ctr;
        return false;
    }
    // Extra counters under "<prefix>.<name>" (control thread; reads only).
    virtual void append_stats(const std::string& prefix, StatList& out) const { (void)prefix; (void)out; }
};

// The stage of this milestone: counts distinct inner flows per worker in a
// fixed-capacity DPDK hash keyed by the canonical FlowKey (both directions
// are one flow). Table full -> worker.flow_table_full, the flow is not counted.
class FlowCountStage final : public WorkerStage {
public:
    static Result<std::unique_ptr<FlowCountStage>> create(unsigned worker, uint32_t capacity, int socket);
    ~FlowCountStage() override;
    void on_burst(rte_mbuf** pkts, uint16_t n, WorkerCounters& ctr) noexcept override;

private:
    explicit FlowCountStage(rte_hash* h) : table_(h) {}
    rte_hash* table_;
};

}  // namespace vtap::runtime
