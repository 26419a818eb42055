// SyslogDgramSender: connected datagram sockets, bounded queue, no blocking.
#include "output/syslog_dgram.hpp"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>

#include "output/eve_fit.hpp"

namespace vtap::output {

SyslogDgramSender::SyslogDgramSender(SyslogDgramConfig cfg)
    : cfg_(std::move(cfg)), counters_(std::make_unique<DgramCounters>()) {}

std::string SyslogDgramSender::endpoint() const {
    return cfg_.unix_socket ? "unix " + cfg_.path : "udp " + cfg_.host + ":" + std::to_string(cfg_.port);
}

Result<SyslogDgramSender> SyslogDgramSender::create(SyslogDgramConfig cfg) {
    SyslogDgramSender s(std::move(cfg));
    const std::string where = "syslog " + s.endpoint();
    const auto& c = s.cfg_;
    if (c.queue_frames == 0) return fail(where, "queue_frames must be at least 1");
    if (c.max_message_bytes < 480 || c.max_message_bytes > 65000)
        return fail(where, "max_message_bytes must be 480..65000 (RFC 5426: every receiver takes 480)");
    if (c.max_messages_per_poll == 0 || c.retry_ns == 0) return fail(where, "retry and per-poll limits must be > 0");
    if (c.unix_socket) {
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (c.path.empty() || c.path.size() >= sizeof un.sun_path)
            return fail(where, "socket path must be 1.." + std::to_string(sizeof un.sun_path - 1) + " bytes");
        std::memcpy(un.sun_path, c.path.c_str(), c.path.size() + 1);
        std::memcpy(&s.addr_, &un, sizeof un);
        s.addr_len_ = sizeof un;
        return s;
    }
    if (c.port == 0) return fail(where, "port 0 is not a collector port");
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(c.host.c_str(), std::to_string(c.port).c_str(), &hints, &res);
    if (rc != 0 || !res) return fail(where, std::string("cannot resolve host: ") + gai_strerror(rc));
    std::memcpy(&s.addr_, res->ai_addr, res->ai_addrlen);
    s.addr_len_ = res->ai_addrlen;
    freeaddrinfo(res);
    return s;
}

SyslogDgramSender::SyslogDgramSender(SyslogDgramSender&& o) noexcept
    : cfg_(std::move(o.cfg_)), addr_(o.addr_), addr_len_(o.addr_len_), fd_(std::exchange(o.fd_, -1)),
      state_(o.state_), queue_(std::move(o.queue_)), next_attempt_ns_(o.next_attempt_ns_),
      had_failure_(o.had_failure_), counters_(std::move(o.counters_)) {}

SyslogDgramSender& SyslogDgramSender::operator=(SyslogDgramSender&& o) noexcept {
    if (this != &o) {
        close_fd();
        cfg_ = std::move(o.cfg_);
        addr_ = o.addr_;
        addr_len_ = o.addr_len_;
        fd_ = std::exchange(o.fd_, -1);
        state_ = o.state_;
        queue_ = std::move(o.queue_);
        next_attempt_ns_ = o.next_attempt_ns_;
        had_failure_ = o.had_failure_;
        counters_ = std::move(o.counters_);
    }
    return *this;
}

SyslogDgramSender::~SyslogDgramSender() { close_fd(); }

void SyslogDgramSender::close_fd() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool SyslogDgramSender::enqueue(std::string_view header, std::string_view eve_line) {
    auto& c = *counters_;
    if (queue_.size() >= cfg_.queue_frames) {
        c.dropped_full.add();
        if (cfg_.drop == DropPolicy::kNewest) return false;
        queue_.pop_front();  // datagrams are never partly sent: the oldest can always go
    }
    const size_t room = cfg_.max_message_bytes > header.size() ? cfg_.max_message_bytes - header.size() : 0;
    const FitResult fit = fit_eve_line(eve_line, room, scratch_);
    if (fit != FitResult::kWhole) c.truncated.add();
    if (fit == FitResult::kCut) c.truncated_cut.add();
    std::string msg;
    msg.reserve(header.size() + scratch_.size());
    msg.append(header).append(scratch_);
    queue_.push_back(std::move(msg));
    c.queued.add();
    return true;
}

void SyslogDgramSender::try_connect(uint64_t now_ns) {
    const int type = SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
    fd_ = ::socket(cfg_.unix_socket ? AF_UNIX : addr_.ss_family, type, 0);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) == 0) {
        state_ = SenderState::kConnected;
        counters_->connects.add();
        if (had_failure_) counters_->reconnects.add();
        had_failure_ = false;
        return;
    }
    // Unix: no socket file yet, or nobody reading it (the daemon restarts).
    close_fd();
    had_failure_ = true;
    state_ = SenderState::kDisconnected;
    next_attempt_ns_ = now_ns + cfg_.retry_ns;
}

void SyslogDgramSender::poll(uint64_t now_ns) {
    if (state_ == SenderState::kDisconnected) {
        if (now_ns < next_attempt_ns_) return;
        try_connect(now_ns);
        if (state_ != SenderState::kConnected) return;
    }
    auto& c = *counters_;
    size_t done = 0, refused = 0;
    while (!queue_.empty() && done < cfg_.max_messages_per_poll) {
        const std::string& m = queue_.front();
        const ssize_t w = ::send(fd_, m.data(), m.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w >= 0) {
            c.sent.add();
            c.bytes.add(m.size());
            queue_.pop_front();
            done++;
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return;  // reader busy: next poll
        c.send_errors.add();
        if (!cfg_.unix_socket && errno == ECONNREFUSED && ++refused < 2) {
            // An ICMP port unreachable for an earlier datagram is reported
            // here, and this datagram was not sent (the error is cleared):
            // try it once more. A collector that is down loses UDP anyway.
            continue;
        }
        if (errno == EMSGSIZE) {
            // The socket will never take it (limit above the kernel's): drop it.
            c.dropped_error.add();
            queue_.pop_front();
            continue;
        }
        if (cfg_.unix_socket) {
            // The reader went away: reconnect later, keep the message.
            close_fd();
            had_failure_ = true;
            state_ = SenderState::kDisconnected;
            next_attempt_ns_ = now_ns + cfg_.retry_ns;
        }
        return;
    }
}

Result<void> SyslogDgramSender::flush(uint64_t deadline_ns) {
    for (;;) {
        const uint64_t now = SyslogTcpSender::monotonic_ns();
        poll(now);
        if (queue_.empty()) return {};
        if (now >= deadline_ns)
            return fail("syslog " + endpoint(), std::to_string(queue_.size()) +
                                                    " messages not delivered by the shutdown deadline");
        if (fd_ >= 0) {
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, 5);
        } else {
            ::poll(nullptr, 0, 5);
        }
    }
}

}  // namespace vtap::output
