// Per-lcore counters. Each block is written by exactly one lcore and read by
// the control thread; blocks are cache-line aligned so no two writers share a
// line. Counter::add is a relaxed load+store (a plain add on x86), not an
// atomic RMW: there is one writer, the reader only needs a torn-free value.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "drop_reason.hpp"

namespace vtap {

inline constexpr size_t kCacheLine = 64;

class Counter {
public:
    void add(uint64_t n = 1) noexcept {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
    void reset() noexcept { v_.store(0, std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> v_{0};
};

// Written by one RX lcore. Invariant, at any quiescent point:
//   packets == delivered + sum(drops)
// (frames handed to the exception path are counted under their drop reason
// and again in `diverted`).
struct alignas(kCacheLine) RxCounters {
    Counter packets;      // rx.packets: mbufs returned by rte_eth_rx_burst
    Counter bytes;        // rx.bytes: outer frame bytes
    Counter delivered;    // decap.delivered: enqueued to a worker ring
    Counter diverted;     // decap.diverted: non-VTAP frames handed to the exception hook
    Counter reserved_set; // decap.reserved_bits_set: VXLAN reserved bits seen (permissive: still delivered)
    Counter payload_cut;  // decap.inner_payload_cut: headers whole, IP length beyond the bytes that arrived
    Counter untunneled;   // decap.untunneled: frames taken as is (decap.mode ethernet)
    Counter bursts;       // rx.bursts: non-empty polls
    Counter polls;        // rx.polls: all polls, empty included
    Counter busy_cycles;  // rx.busy_cycles: TSC cycles from a non-empty rx_burst to the burst handed on
    std::array<Counter, kDropReasonCount> drops;

    Counter& drop(DropReason r) noexcept { return drops[index(r)]; }
    uint64_t drops_total() const noexcept {
        uint64_t s = 0;
        for (const auto& c : drops) s += c.get();
        return s;
    }
};

// Written by one worker lcore.
struct alignas(kCacheLine) WorkerCounters {
    Counter packets;          // worker.packets
    Counter bytes;            // worker.bytes: inner frame bytes
    Counter bursts;           // worker.bursts
    Counter flows;            // worker.flows: distinct inner flows first seen here
    Counter flow_table_full;  // worker.flow_table_full: flow not tracked, table at capacity
    // worker.busy_cycles: TSC cycles spent on non-empty bursts (stage, capture
    // copy, free), as OVS-DPDK's pmd "processing cycles": busy_cycles / tsc_hz
    // is the worker core's busy time, and bytes over it what the core could
    // take if its input never waited. Read once per burst, not per packet.
    Counter busy_cycles;
};

}  // namespace vtap
