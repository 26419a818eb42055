// The exception path: frames on the data port that are not VTAP traffic
// (ARP, ping, the load balancer's health probe, SSH) reach the kernel through
// a tap interface, and the kernel's replies leave through the data port.
//   RX lcore (hot):  decap's ExceptionHook sink -> exception_burst: classify
//                    against the forward table -> ring (or free, counted)
//   control thread:  ring -> tap; tap -> data port TX queue 0 (its only user)
// The control thread polls every few milliseconds: fine for ARP, probes and
// an SSH session, not meant for bulk traffic.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/burst.hpp"
#include "core/counters.hpp"
#include "core/result.hpp"
#include "drivers/driver.hpp"
#include "runtime/stats.hpp"

struct rte_mempool;
struct rte_ring;

namespace vtap::runtime {

inline constexpr size_t kMaxForward = 16;

// Data-path view of exception.forward: what may reach the kernel.
struct ForwardTable {
    struct Entry {
        config::ForwardKind kind = config::ForwardKind::kEtherType;
        uint16_t value = 0;
    };
    uint8_t n = 0;
    std::array<Entry, kMaxForward> e{};
    uint8_t own_mac[6] = {};  // frames from this source MAC are our own transmissions seen again

    static ForwardTable from(const std::vector<config::ForwardEntry>& fwd);
};

// Index of the first entry matching the frame (outer Ethernet, at most one
// VLAN tag), or -1. Ports are matched on IPv4 first fragments only.
int classify(const uint8_t* frame, uint32_t len, const ForwardTable& t) noexcept;

// Written by one RX lcore.
struct alignas(kCacheLine) ExceptionRxCounters {
    Counter queued;         // exception.queued: matched, handed to the control thread
    Counter not_forwarded;  // exception.not_forwarded: matched no forward entry, freed
    Counter own_frames;     // exception.own_frames: our own transmissions seen again, freed
    Counter ring_full;      // exception.ring_full: control thread behind, freed
    std::array<Counter, kMaxForward> matched;  // exception.forward.<entry>
};

// The RX lcore's side; ring == nullptr: no exception path on this lcore.
struct ExceptionRx {
    rte_ring* ring = nullptr;
    const ForwardTable* table = nullptr;
    uint16_t port = 0;  // only this port's non-VTAP frames are diverted
    ExceptionRxCounters ctr;
};

// Hands the frames decap diverted to the control thread; frees the rest.
// Empties `sink`.
void exception_burst(Burst& sink, ExceptionRx& x) noexcept;

// Control side: owns the tap port and the ring.
class ExceptionPath {
public:
    // Creates the tap (kernel interface cfg.tap_name with the data port's
    // MAC), sets cfg.address on it when given, and the ring RX lcores feed.
    static Result<std::unique_ptr<ExceptionPath>> create(const config::ExceptionConfig& cfg, uint16_t data_port,
                                                         unsigned tap_index, rte_mempool* pool, bool multi_producer,
                                                         int socket);
    ~ExceptionPath();
    ExceptionPath(const ExceptionPath&) = delete;
    ExceptionPath& operator=(const ExceptionPath&) = delete;

    // Moves what is waiting in both directions; control thread only.
    void poll() noexcept;

    rte_ring* ring() const { return ring_; }
    const ForwardTable& table() const { return table_; }
    uint16_t data_port() const { return data_port_; }
    const drivers::PortHandle& tap() const { return tap_; }

    // exception.* counters, with the RX lcores' blocks summed.
    void append_stats(StatsSnapshot& s, const std::vector<const ExceptionRxCounters*>& rx) const;

private:
    ExceptionPath() = default;
    config::ExceptionConfig cfg_;
    ForwardTable table_;
    uint16_t data_port_ = 0;
    drivers::PortHandle tap_;
    bool tap_open_ = false;
    rte_ring* ring_ = nullptr;
    // Written by the control thread only; read by telemetry.
    Counter to_kernel_, to_kernel_dropped_, from_kernel_, tx_, tx_dropped_;
};

}  // namespace vtap::runtime
