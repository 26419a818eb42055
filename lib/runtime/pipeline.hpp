// The receive pipeline: EAL, mempool, ports, worker rings and lcores.
//   RX lcore:  rx_burst -> decap_burst -> hash_burst -> shard_burst
//   worker:    ring dequeue -> WorkerStage -> capture -> free_bulk
// With no worker lcores the RX lcore runs the worker stage itself (run to
// completion). Control path: build, start, watch, stop, report. Libraries
// never exit the process; errors come back as Result.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"
#include "runtime/stats.hpp"

namespace vtap::runtime {

struct RunOptions {
    // Stop after this many seconds (0 = until signalled or end of input).
    double duration_s = 0;
    // Offline: stop once every pcap port has delivered its whole file.
    bool stop_at_end_of_input = true;
    // Where the periodic and final statistics are printed.
    std::function<void(const std::string&)> print;
};

class Pipeline;

// Starts the EAL with the config's arguments (+ what the ports need) and
// builds the pipeline. Call once per process: DPDK's EAL cannot restart.
Result<std::unique_ptr<Pipeline>> start(const config::Config& cfg, const std::string& argv0);

class Pipeline {
public:
    ~Pipeline();
    // Launches the lcores and blocks until stop() is called (e.g. from a
    // signal handler), the duration elapses or the offline input is consumed.
    // Drains the worker rings before returning.
    Result<StatsSnapshot> run(const RunOptions& opt);
    // Async-signal-safe: only sets a flag.
    void stop() noexcept { stop_requested_.store(true, std::memory_order_relaxed); }
    // Async-signal-safe (SIGHUP): the control loop reopens the EVE files
    // (logrotate renamed them) on its next iteration.
    void request_reopen() noexcept;

    StatsSnapshot snapshot() const;

    struct Impl;

private:
    friend Result<std::unique_ptr<Pipeline>> start(const config::Config&, const std::string&);
    explicit Pipeline(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    std::atomic<bool> stop_requested_{false};
};

}  // namespace vtap::runtime
