#include "runtime/health.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vtap::runtime {

HealthMonitor::HealthMonitor(const config::HealthConfig& cfg) : cfg_(cfg) {}

void HealthMonitor::update(const HealthSample& s) {
    if (lanes_.size() != s.lanes.size()) {
        lanes_.assign(s.lanes.size(), LaneState{});
        for (size_t i = 0; i < s.lanes.size(); i++) lanes_[i] = {s.lanes[i].progress, s.now_ms};
    }
    HealthVerdict v;
    for (size_t i = 0; i < s.lanes.size(); i++) {
        auto& st = lanes_[i];
        const auto& l = s.lanes[i];
        if (l.progress != st.progress || l.backlog == 0) st = {l.progress, s.now_ms};
        const uint64_t stuck = s.now_ms - st.since_ms;
        if (v.ok && stuck >= cfg_.stall_ms) {
            v.ok = false;
            v.reason = l.name + " stalled: " + std::to_string(l.backlog) + " frames queued, no progress for " +
                       std::to_string(stuck) + " ms";
        }
    }

    window_.push_back({s.now_ms, s.received, s.lost});
    const uint64_t span = uint64_t{cfg_.window_s} * 1000;
    while (window_.size() > 1 && s.now_ms - window_[1].t_ms >= span) window_.pop_front();
    const Point& first = window_.front();
    const uint64_t rx = s.received - first.received, lost = s.lost - first.lost;
    v.drop_ratio = rx >= kMinFrames ? static_cast<double>(lost) / static_cast<double>(rx) : 0.0;
    if (v.ok && v.drop_ratio > cfg_.max_drop_ratio) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "drop ratio %.4f over the last %u s exceeds %.4f (%llu of %llu frames lost)",
                      v.drop_ratio, cfg_.window_s, cfg_.max_drop_ratio, static_cast<unsigned long long>(lost),
                      static_cast<unsigned long long>(rx));
        v.ok = false;
        v.reason = buf;
    }
    verdict_ = std::move(v);
}

namespace {

constexpr size_t kMaxConns = 16;
constexpr size_t kMaxRequest = 2048;
constexpr uint64_t kConnTimeoutMs = 2000;

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o;
}

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::open(const std::string& listen) {
    const std::string where = "health.listen " + listen;
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) return fail(where, "expected ADDRESS:PORT");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(listen.c_str() + colon + 1)));
    if (inet_pton(AF_INET, listen.substr(0, colon).c_str(), &a.sin_addr) != 1)
        return fail(where, "not an IPv4 address");
    std::unique_ptr<HealthServer> h(new HealthServer());
    h->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (h->listen_fd_ < 0) return fail(where, std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(h->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(h->listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
        return fail(where, std::string("bind: ") + std::strerror(errno));
    if (::listen(h->listen_fd_, 16) != 0) return fail(where, std::string("listen: ") + std::strerror(errno));
    socklen_t len = sizeof a;
    getsockname(h->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    h->port_ = ntohs(a.sin_port);
    return h;
}

HealthServer::~HealthServer() {
    for (auto& c : conns_) close(c.fd);
    if (listen_fd_ >= 0) close(listen_fd_);
}

std::string HealthServer::response(const std::string& req, const HealthVerdict& v) const {
    int code = 200;
    std::string body;
    const bool get = req.starts_with("GET ") || req.starts_with("HEAD ");
    const auto sp = req.find(' ');
    const std::string path = sp == std::string::npos ? "" : req.substr(sp + 1, req.find(' ', sp + 1) - sp - 1);
    if (!get) {
        code = 405;
        body = "{\"error\":\"only GET\"}";
    } else if (path != "/" && path != "/health") {
        code = 404;
        body = "{\"error\":\"try /health\"}";
    } else {
        code = v.ok ? 200 : 503;
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.6f", v.drop_ratio);
        body = std::string("{\"status\":\"") + (v.ok ? "ok" : "unhealthy") + "\",\"drop_ratio\":" + ratio +
               (v.ok ? "" : ",\"reason\":\"" + json_escape(v.reason) + "\"") + "}";
    }
    const char* text = code == 200 ? "OK" : code == 503 ? "Service Unavailable" : code == 404 ? "Not Found"
                                                                                           : "Method Not Allowed";
    body += "\n";
    std::string out = "HTTP/1.0 " + std::to_string(code) + " " + text +
                      "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n";
    if (!req.starts_with("HEAD ")) out += body;
    return out;
}

void HealthServer::poll(const HealthVerdict& v, uint64_t now_ms) {
    while (conns_.size() < kMaxConns) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        conns_.push_back({fd, now_ms + kConnTimeoutMs, {}, {}, 0});
    }
    for (size_t i = 0; i < conns_.size();) {
        Conn& c = conns_[i];
        bool done = now_ms > c.deadline_ms;
        if (!done && c.out.empty()) {
            char buf[512];
            ssize_t n;
            while ((n = recv(c.fd, buf, sizeof buf, 0)) > 0 && c.in.size() < kMaxRequest)
                c.in.append(buf, static_cast<size_t>(n));
            const bool closed = n == 0, error = n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
            if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos ||
                c.in.size() >= kMaxRequest || (closed && !c.in.empty())) {
                c.out = response(c.in, v);
                requests_++;
            } else if (closed || error) {
                done = true;
            }
        }
        if (!done && !c.out.empty()) {
            ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
            if (n > 0) c.sent += static_cast<size_t>(n);
            if (c.sent == c.out.size() || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) done = true;
        }
        if (done) {
            close(c.fd);
            if (i + 1 != conns_.size()) conns_[i] = std::move(conns_.back());
            conns_.pop_back();
        } else {
            i++;
        }
    }
}

}  // namespace vtap::runtime
