// Driving the vtapd binary from integration tests: a config written into a
// TempDir, vtapd run in the background (its output in a file, stopped by a
// signal), and DPDK telemetry queries over the EAL's runtime socket.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/process.hpp"

namespace vtap::test {

inline const std::string& vtapd_path() {
    static const std::string p = env_or("VTAPD", "apps/vtapd/vtapd");
    return p;
}

// A unique EAL --file-prefix per test process and purpose.
inline std::string eal_prefix(const std::string& tag) { return "vtap" + tag + std::to_string(getpid()); }

struct VtapdConfig {
    std::string prefix;                           // EAL --file-prefix
    std::string ports;                            // YAML list items under ports:
    std::string tap_sources = "[198.18.0.0/15]";
    std::string decap;                            // more "  key: value\n" lines under decap:
    unsigned workers = 1;
    unsigned rx_lcores = 1;
    unsigned ring_size = 1024;
    std::string mempool = "  mbufs: 8191\n";      // lines under mempool:
    std::string extra;                            // more top-level sections
};

inline std::string write_vtapd_config(const std::string& path, const VtapdConfig& c) {
    std::ofstream f(path);
    f << "eal:\n  args: [--no-huge, -m, '512', --no-shconf, --file-prefix=" << c.prefix
      << ", '--log-level=lib.eal:error']\n"
      << "ports:\n" << c.ports
      << "decap:\n  tap_sources: " << c.tap_sources << "\n" << c.decap
      << "pipeline:\n  workers: " << c.workers << "\n  rx_lcores: " << c.rx_lcores
      << "\n  ring_size: " << c.ring_size << "\n"
      << "mempool:\n" << c.mempool
      << c.extra;
    if (!f.flush()) throw std::runtime_error("cannot write " + path);
    return path;
}

inline std::string pcap_port_yaml(const std::string& file, bool infinite = false) {
    return "  - driver: pcap\n    pcap_file: " + file + "\n    infinite_rx: " + (infinite ? "true" : "false") + "\n";
}

inline std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// vtapd (or any program) in the background, stdout and stderr in `log`.
// The destructor kills and reaps it if the test did not stop it.
class Background {
public:
    Background(const std::vector<std::string>& argv, std::string log) : log_(std::move(log)) {
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
        if (pid_ == 0) {
            int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
            execv(args[0], args.data());
            _exit(127);
        }
    }
    ~Background() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    std::string output() const { return read_file(log_); }
    pid_t pid() const { return pid_; }  // -1 once it has exited

    // Polls the output until it contains `text`; false at the timeout or
    // when the process ended first.
    bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            if (output().find(text) != std::string::npos) return true;
            if (pid_ > 0 && waitpid(pid_, &status_, WNOHANG) == pid_) {
                pid_ = -1;
                return output().find(text) != std::string::npos;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

    // Sends `sig` and waits up to `timeout` for the exit; returns the exit
    // code (128+signal if killed by one), or -1 if it had to be killed.
    int stop(int sig = SIGTERM, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        if (pid_ > 0) {
            kill(pid_, sig);
            const auto end = std::chrono::steady_clock::now() + timeout;
            while (waitpid(pid_, &status_, WNOHANG) == 0) {
                if (std::chrono::steady_clock::now() >= end) {
                    kill(pid_, SIGKILL);
                    waitpid(pid_, nullptr, 0);
                    pid_ = -1;
                    return -1;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            pid_ = -1;
        }
        return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    }

private:
    std::string log_;
    pid_t pid_ = -1;
    int status_ = 0;
};

// Where EAL puts its runtime files, and with them the telemetry socket
// (eal_create_runtime_dir: /var/run for root, else $XDG_RUNTIME_DIR or /tmp).
inline std::string dpdk_runtime_dir(const std::string& prefix) {
    std::string base = geteuid() == 0 ? "/var/run" : env_or("XDG_RUNTIME_DIR", "/tmp");
    return base + "/dpdk/" + prefix;
}

inline std::string telemetry_socket(const std::string& prefix) {
    return dpdk_runtime_dir(prefix) + "/dpdk_telemetry.v2";
}

// One request on DPDK's telemetry v2 socket (SOCK_SEQPACKET): the server
// first sends its info message, then one reply per command.
inline std::string telemetry_query(const std::string& prefix, const std::string& command) {
    const std::string path = telemetry_socket(prefix);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer{fd};
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<char> buf(1 << 16);
    if (recv(fd, buf.data(), buf.size(), 0) <= 0) throw std::runtime_error("no telemetry greeting on " + path);
    if (send(fd, command.data(), command.size(), 0) != static_cast<ssize_t>(command.size()))
        throw std::runtime_error("send " + command + ": " + std::strerror(errno));
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) throw std::runtime_error("no telemetry reply to " + command);
    return std::string(buf.data(), static_cast<size_t>(n));
}

// vtapd offline on one pcap with `workers` workers and the rules in
// <dir>/<name>.rules, alerts as EVE JSON to <dir>/<name>.eve.json: its exit
// status, output and stats (read when it exited 0).
struct DetectRun {
    int status = -1;
    std::string output;
    std::map<std::string, double> stats;
    std::string eve;  // the EVE file's path
};

// One pcap port per file; with several, `rx_lcores` RX lcores share them.
inline DetectRun run_vtapd_detect(const TempDir& dir, const std::string& name, const std::vector<std::string>& pcaps,
                                  unsigned workers, unsigned rx_lcores = 1) {
    VtapdConfig vc;
    vc.prefix = eal_prefix(name);
    for (const auto& pcap : pcaps) vc.ports += pcap_port_yaml(pcap);
    vc.workers = workers;
    vc.rx_lcores = rx_lcores;
    DetectRun r;
    r.eve = dir / (name + ".eve.json");
    vc.extra = "detect:\n  rule_files: [\"" + dir / (name + ".rules") + "\"]\n  classification_file: \"\"\n"
               "alerts:\n  eve: \"" + r.eve + "\"\n";
    const std::string cfg = write_vtapd_config(dir / (name + ".yaml"), vc), stats = dir / (name + ".stats.json");
    auto out = run_cmd(vtapd_path() + " -c " + cfg + " --stats-file " + stats);
    r.status = out.status;
    r.output = out.text;
    if (r.status == 0) r.stats = read_stats(stats);
    return r;
}

inline DetectRun run_vtapd_detect(const TempDir& dir, const std::string& name, const std::string& pcap,
                                  unsigned workers) {
    return run_vtapd_detect(dir, name, std::vector<std::string>{pcap}, workers);
}

// Alerts of one sid in an EVE JSON file vtapd wrote.
inline unsigned eve_count_sid(const std::string& eve_path, unsigned sid) {
    std::ifstream f(eve_path);
    const std::string key = "\"signature_id\":" + std::to_string(sid) + ",";
    unsigned n = 0;
    for (std::string line; std::getline(f, line);) n += line.find(key) != std::string::npos;
    return n;
}

}  // namespace vtap::test
