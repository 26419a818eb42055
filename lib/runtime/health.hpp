// Health and liveness for load balancer probes and systemd: a monitor that
// turns counter samples into a verdict, and a tiny non-blocking HTTP/1.0
// responder the control thread serves between its other chores (never a
// worker). Unhealthy when a lane (worker or RX lcore) has queued input and
// makes no progress for stall_ms, or when lost/received over the last
// window_s exceeds max_drop_ratio. GET /health (or /): 200 or 503 + JSON.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/result.hpp"

namespace vtap::runtime {

// One observation of the pipeline, taken by the control thread.
struct HealthSample {
    struct Lane {
        std::string name;       // "worker1", "rx0"
        uint64_t progress = 0;  // a counter that moves while the lane works (packets, polls)
        uint64_t backlog = 0;   // input waiting for it (ring count); 0 = idle is fine
    };
    uint64_t now_ms = 0;        // monotonic
    std::vector<Lane> lanes;
    uint64_t received = 0;      // frames that reached vtapd or its NIC (rx.packets + imissed + rx_nombuf)
    uint64_t lost = 0;          // of those, lost for lack of capacity (imissed + rx_nombuf + shard.ring_full)
};

struct HealthVerdict {
    bool ok = true;
    std::string reason;         // empty when ok
    double drop_ratio = 0;      // over the window
};

// Pure logic; fed by update(), asked by verdict().
class HealthMonitor {
public:
    explicit HealthMonitor(const config::HealthConfig& cfg);
    void update(const HealthSample& s);
    const HealthVerdict& verdict() const { return verdict_; }

private:
    struct LaneState {
        uint64_t progress = 0;
        uint64_t since_ms = 0;  // last progress, or last time it was idle
    };
    struct Point {
        uint64_t t_ms, received, lost;
    };
    // Below this many frames in the window the ratio says nothing.
    static constexpr uint64_t kMinFrames = 100;
    config::HealthConfig cfg_;
    std::vector<LaneState> lanes_;
    std::deque<Point> window_;
    HealthVerdict verdict_;
};

// Serves the verdict over HTTP on cfg.listen. Non-blocking; poll() accepts,
// reads and answers what is ready and returns at once.
class HealthServer {
public:
    static Result<std::unique_ptr<HealthServer>> open(const std::string& listen);
    ~HealthServer();
    HealthServer(const HealthServer&) = delete;
    HealthServer& operator=(const HealthServer&) = delete;

    void poll(const HealthVerdict& v, uint64_t now_ms);
    uint16_t port() const { return port_; }  // the bound port (listen may say :0 in tests)
    uint64_t requests() const { return requests_; }

private:
    struct Conn {
        int fd = -1;
        uint64_t deadline_ms = 0;
        std::string in, out;
        size_t sent = 0;
    };
    HealthServer() = default;
    std::string response(const std::string& request, const HealthVerdict& v) const;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    uint64_t requests_ = 0;
    std::vector<Conn> conns_;
};

}  // namespace vtap::runtime
