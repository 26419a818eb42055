// SyslogTcpSender: non-blocking connect, octet-counted frames, partial
// writes, capped exponential backoff. All socket calls use MSG_DONTWAIT /
// SOCK_NONBLOCK and poll() with a zero timeout (flush excepted).
#include "output/syslog_tcp.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>
#include <utility>

namespace vtap::output {

std::string_view state_name(SenderState s) noexcept {
    switch (s) {
        case SenderState::kDisconnected: return "disconnected";
        case SenderState::kConnecting: return "connecting";
        case SenderState::kConnected: return "connected";
    }
    return "?";
}

uint64_t SyslogTcpSender::monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

SyslogTcpSender::SyslogTcpSender(SyslogTcpConfig cfg)
    : cfg_(std::move(cfg)), backoff_ns_(cfg_.backoff_min_ns), counters_(std::make_unique<SyslogCounters>()) {}

Result<SyslogTcpSender> SyslogTcpSender::create(SyslogTcpConfig cfg) {
    const std::string where = "syslog tcp " + cfg.host + ":" + std::to_string(cfg.port);
    if (cfg.port == 0) return fail(where, "port 0 is not a collector port");
    if (cfg.queue_frames == 0) return fail(where, "queue_frames must be at least 1");
    if (cfg.backoff_min_ns == 0 || cfg.backoff_max_ns < cfg.backoff_min_ns)
        return fail(where, "backoff needs 0 < min <= max");
    if (cfg.max_bytes_per_poll == 0) return fail(where, "max_bytes_per_poll must be at least 1");
    if (cfg.tls) return fail(where, "TLS transport is not built yet (issue 4)");
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(cfg.host.c_str(), std::to_string(cfg.port).c_str(), &hints, &res);
    if (rc != 0 || !res) return fail(where, std::string("cannot resolve host: ") + gai_strerror(rc));
    SyslogTcpSender s(std::move(cfg));
    std::memcpy(&s.addr_, res->ai_addr, res->ai_addrlen);
    s.addr_len_ = res->ai_addrlen;
    freeaddrinfo(res);
    return s;
}

SyslogTcpSender::SyslogTcpSender(SyslogTcpSender&& o) noexcept
    : cfg_(std::move(o.cfg_)), addr_(o.addr_), addr_len_(o.addr_len_), fd_(std::exchange(o.fd_, -1)),
      state_(std::exchange(o.state_, SenderState::kDisconnected)), queue_(std::move(o.queue_)),
      front_offset_(std::exchange(o.front_offset_, 0)), next_attempt_ns_(o.next_attempt_ns_),
      connect_started_ns_(o.connect_started_ns_), backoff_ns_(o.backoff_ns_), had_failure_(o.had_failure_),
      counters_(std::move(o.counters_)) {}

SyslogTcpSender& SyslogTcpSender::operator=(SyslogTcpSender&& o) noexcept {
    if (this != &o) {
        close_fd();
        cfg_ = std::move(o.cfg_);
        addr_ = o.addr_;
        addr_len_ = o.addr_len_;
        fd_ = std::exchange(o.fd_, -1);
        state_ = std::exchange(o.state_, SenderState::kDisconnected);
        queue_ = std::move(o.queue_);
        front_offset_ = std::exchange(o.front_offset_, 0);
        next_attempt_ns_ = o.next_attempt_ns_;
        connect_started_ns_ = o.connect_started_ns_;
        backoff_ns_ = o.backoff_ns_;
        had_failure_ = o.had_failure_;
        counters_ = std::move(o.counters_);
    }
    return *this;
}

SyslogTcpSender::~SyslogTcpSender() { close_fd(); }

void SyslogTcpSender::close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::string SyslogTcpSender::endpoint() const { return cfg_.host + ":" + std::to_string(cfg_.port); }

bool SyslogTcpSender::enqueue(std::string_view msg) {
    if (queue_.size() >= cfg_.queue_frames) {
        counters_->dropped_full.add();
        // The frame in flight, once partly written, must be finished: dropping
        // it would leave half a frame on the stream and desynchronise the
        // receiver's octet counting. Drop the next oldest instead.
        const bool front_busy = front_offset_ > 0;
        if (cfg_.drop == DropPolicy::kNewest || (front_busy && queue_.size() == 1)) return false;
        queue_.erase(queue_.begin() + (front_busy ? 1 : 0));
    }
    std::string frame = std::to_string(msg.size());
    frame.reserve(frame.size() + 1 + msg.size());
    frame.push_back(' ');
    frame.append(msg);
    queue_.push_back(std::move(frame));
    counters_->queued.add();
    return true;
}

void SyslogTcpSender::lose_connection(uint64_t now_ns, bool was_connected) {
    close_fd();
    if (was_connected)
        counters_->disconnects.add();
    else
        counters_->connect_failures.add();
    // A frame cut by the loss never reached the receiver whole (it discards
    // a truncated frame when the connection closes), so it goes again, whole,
    // on the next connection.
    if (front_offset_ > 0) {
        counters_->resent_partial.add();
        front_offset_ = 0;
    }
    had_failure_ = true;
    state_ = SenderState::kDisconnected;
    next_attempt_ns_ = now_ns + backoff_ns_;
    backoff_ns_ = backoff_ns_ > cfg_.backoff_max_ns / 2 ? cfg_.backoff_max_ns : backoff_ns_ * 2;
}

void SyslogTcpSender::start_connect(uint64_t now_ns) {
    fd_ = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return lose_connection(now_ns, false);
    connect_started_ns_ = now_ns;
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) == 0) {
        state_ = SenderState::kConnecting;
        return finish_connect(now_ns);
    }
    if (errno != EINPROGRESS) return lose_connection(now_ns, false);
    state_ = SenderState::kConnecting;
}

void SyslogTcpSender::finish_connect(uint64_t now_ns) {
    pollfd p{fd_, POLLOUT, 0};
    const int n = ::poll(&p, 1, 0);
    if (n == 0) {
        if (now_ns - connect_started_ns_ > cfg_.connect_timeout_ns) lose_connection(now_ns, false);
        return;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        return lose_connection(now_ns, false);
    state_ = SenderState::kConnected;
    counters_->connects.add();
    if (had_failure_) counters_->reconnects.add();
    had_failure_ = false;
    backoff_ns_ = cfg_.backoff_min_ns;
    front_offset_ = 0;
}

void SyslogTcpSender::poll(uint64_t now_ns) {
    if (state_ == SenderState::kDisconnected && now_ns >= next_attempt_ns_) start_connect(now_ns);
    if (state_ == SenderState::kConnecting) finish_connect(now_ns);
    if (state_ != SenderState::kConnected) return;

    // A collector never talks back; readable means closed (0) or reset. Any
    // bytes it does send are read and ignored so they cannot fill the buffer.
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
        char sink[512];
        const ssize_t r = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return lose_connection(now_ns, true);
    }

    size_t budget = cfg_.max_bytes_per_poll;
    while (!queue_.empty() && budget > 0) {
        const std::string& f = queue_.front();
        size_t want = f.size() - front_offset_;
        if (want > budget) want = budget;
        const ssize_t w = ::send(fd_, f.data() + front_offset_, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            return lose_connection(now_ns, true);
        }
        front_offset_ += size_t(w);
        budget -= size_t(w);
        if (front_offset_ == f.size()) {
            counters_->sent.add();
            counters_->bytes.add(f.size());
            queue_.pop_front();
            front_offset_ = 0;
        }
    }
}

Result<void> SyslogTcpSender::flush(uint64_t deadline_ns) {
    for (;;) {
        const uint64_t now = monotonic_ns();
        poll(now);
        if (queue_.empty()) return {};
        if (now >= deadline_ns)
            return fail("syslog tcp " + endpoint(),
                        std::to_string(queue_.size()) + " frames not delivered by the shutdown deadline (collector " +
                            std::string(state_name(state_)) + ")");
        uint64_t wait_ns = deadline_ns - now;
        if (state_ == SenderState::kDisconnected && next_attempt_ns_ > now && next_attempt_ns_ - now < wait_ns)
            wait_ns = next_attempt_ns_ - now;
        const int ms = wait_ns >= 10'000'000 ? 10 : int(wait_ns / 1'000'000) + 1;
        if (fd_ >= 0) {
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, ms);
        } else {
            ::poll(nullptr, 0, ms);
        }
    }
}

}  // namespace vtap::output
