// SyslogTcpSender: non-blocking connect (and TLS handshake), octet-counted
// frames, partial writes, capped exponential backoff. All socket calls use
// MSG_DONTWAIT / SOCK_NONBLOCK and poll() with a zero timeout (flush
// excepted). Queue, framing and backoff are shared by both transports; only
// the byte pushing differs (sendmsg over frames, or one TLS record).
#include "output/syslog_tcp.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utility>

namespace vtap::output {

namespace {
constexpr size_t kMaxIov = 64;          // frames gathered into one sendmsg
constexpr size_t kTlsRecord = 16384;    // TLS max plaintext per record (RFC 8446 5.1)
}  // namespace

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
    std::shared_ptr<const TlsCredentials> creds;
    if (cfg.tls) {
        auto c = TlsCredentials::load(*cfg.tls, cfg.host);
        if (!c) return fail(where, c.error().what);
        creds = std::move(*c);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(cfg.host.c_str(), std::to_string(cfg.port).c_str(), &hints, &res);
    if (rc != 0 || !res) return fail(where, std::string("cannot resolve host: ") + gai_strerror(rc));
    SyslogTcpSender s(std::move(cfg));
    s.creds_ = std::move(creds);
    std::memcpy(&s.addr_, res->ai_addr, res->ai_addrlen);
    s.addr_len_ = res->ai_addrlen;
    freeaddrinfo(res);
    return s;
}

SyslogTcpSender::SyslogTcpSender(SyslogTcpSender&& o) noexcept
    : cfg_(std::move(o.cfg_)), addr_(o.addr_), addr_len_(o.addr_len_), fd_(std::exchange(o.fd_, -1)),
      state_(std::exchange(o.state_, SenderState::kDisconnected)), queue_(std::move(o.queue_)),
      front_offset_(std::exchange(o.front_offset_, 0)),
      pending_len_(std::exchange(o.pending_len_, 0)), pending_frames_(std::exchange(o.pending_frames_, 0)),
      tls_stage_(std::move(o.tls_stage_)), creds_(std::move(o.creds_)), tls_(std::move(o.tls_)),
      last_error_(std::move(o.last_error_)), next_attempt_ns_(o.next_attempt_ns_),
      connect_started_ns_(o.connect_started_ns_), backoff_ns_(o.backoff_ns_), had_failure_(o.had_failure_),
      counters_(std::move(o.counters_)) {
    o.tls_.reset();
}

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
        pending_len_ = std::exchange(o.pending_len_, 0);
        pending_frames_ = std::exchange(o.pending_frames_, 0);
        tls_stage_ = std::move(o.tls_stage_);
        creds_ = std::move(o.creds_);
        tls_ = std::move(o.tls_);
        o.tls_.reset();
        last_error_ = std::move(o.last_error_);
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
    if (tls_) {
        if (state_ == SenderState::kConnected) tls_->bye();  // never in the middle of a handshake
        tls_.reset();
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::string SyslogTcpSender::endpoint() const { return cfg_.host + ":" + std::to_string(cfg_.port); }

bool SyslogTcpSender::enqueue(std::string_view msg) {
    if (queue_.size() >= cfg_.queue_frames) {
        counters_->dropped_full.add();
        // Frames in flight must be finished: dropping a partly written one
        // would leave half a frame on the stream and desynchronise the
        // receiver's octet counting, and frames GnuTLS holds for a retry
        // must stay byte-identical. Drop the oldest frame not in flight.
        const size_t busy = pending_len_ > 0 ? pending_frames_ : (front_offset_ > 0 ? 1 : 0);
        if (cfg_.drop == DropPolicy::kNewest || busy >= queue_.size()) return false;
        queue_.erase(queue_.begin() + std::ptrdiff_t(busy));
    }
    std::string frame = std::to_string(msg.size());
    frame.reserve(frame.size() + 1 + msg.size());
    frame.push_back(' ');
    frame.append(msg);
    queue_.push_back(std::move(frame));
    counters_->queued.add();
    return true;
}

void SyslogTcpSender::lose_connection(uint64_t now_ns, bool was_connected, std::string why) {
    close_fd();
    last_error_ = std::move(why);
    if (was_connected)
        counters_->disconnects.add();
    else
        counters_->connect_failures.add();
    // A frame cut by the loss never reached the receiver whole (it discards
    // a truncated frame, or a truncated TLS record, when the connection
    // closes), so it goes again, whole, on the next connection.
    if (front_offset_ > 0 || pending_len_ > 0) {
        counters_->resent_partial.add();
        front_offset_ = 0;
    }
    pending_len_ = 0;
    pending_frames_ = 0;
    had_failure_ = true;
    state_ = SenderState::kDisconnected;
    next_attempt_ns_ = now_ns + backoff_ns_;
    backoff_ns_ = backoff_ns_ > cfg_.backoff_max_ns / 2 ? cfg_.backoff_max_ns : backoff_ns_ * 2;
}

void SyslogTcpSender::start_connect(uint64_t now_ns) {
    fd_ = ::socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return lose_connection(now_ns, false, "socket: " + std::string(std::strerror(errno)));
    connect_started_ns_ = now_ns;
    state_ = SenderState::kConnecting;
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) == 0) return finish_connect(now_ns);
    if (errno != EINPROGRESS)
        return lose_connection(now_ns, false, "connect to " + endpoint() + ": " + std::strerror(errno));
}

// TCP connect first; then, with TLS, the handshake, one step per poll(). The
// connect timeout covers both.
void SyslogTcpSender::finish_connect(uint64_t now_ns) {
    const bool timed_out = now_ns - connect_started_ns_ > cfg_.connect_timeout_ns;
    const std::string after = " after " + std::to_string(cfg_.connect_timeout_ns / 1'000'000) + " ms";
    if (!tls_) {
        pollfd p{fd_, POLLOUT, 0};
        const int n = ::poll(&p, 1, 0);
        if (n == 0) {
            if (timed_out) lose_connection(now_ns, false, "connect to " + endpoint() + " timed out" + after);
            return;
        }
        int err = 0;
        socklen_t len = sizeof err;
        if (n < 0 || ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
            return lose_connection(now_ns, false,
                                   "connect to " + endpoint() + ": " + std::strerror(err ? err : errno));
        if (!creds_) return established();
        auto s = TlsSession::start(creds_, fd_, endpoint());
        if (!s) {
            counters_->tls_failures.add();
            return lose_connection(now_ns, false, s.error().to_string());
        }
        tls_.emplace(std::move(*s));
    }
    switch (tls_->handshake()) {
        case TlsIo::kOk: return established();
        case TlsIo::kAgain:
            if (timed_out) {
                counters_->tls_failures.add();
                lose_connection(now_ns, false, "TLS handshake with " + endpoint() + " timed out" + after);
            }
            return;
        case TlsIo::kClosed:
        case TlsIo::kError: {
            // Fail closed: nothing was sent, the socket is closed, retry after backoff.
            counters_->tls_failures.add();
            std::string why = tls_->error();
            return lose_connection(now_ns, false, std::move(why));
        }
    }
}

void SyslogTcpSender::established() {
    state_ = SenderState::kConnected;
    counters_->connects.add();
    if (had_failure_) counters_->reconnects.add();
    had_failure_ = false;
    backoff_ns_ = cfg_.backoff_min_ns;
    front_offset_ = 0;
    pending_len_ = 0;
    pending_frames_ = 0;
}

// `n` bytes from the queue front reached the transport: completes frames.
void SyslogTcpSender::consume(size_t n) {
    while (n > 0) {
        const std::string& f = queue_.front();
        const size_t take = n < f.size() - front_offset_ ? n : f.size() - front_offset_;
        front_offset_ += take;
        n -= take;
        if (front_offset_ == f.size()) {
            counters_->sent.add();
            counters_->bytes.add(f.size());
            queue_.pop_front();
            front_offset_ = 0;
        }
    }
}

// One sendmsg over up to kMaxIov frames from the front: a syscall per batch,
// not per frame. False with `err` set when nothing was written.
bool SyslogTcpSender::send_plain(size_t budget, size_t& written, int& err) {
    iovec iov[kMaxIov];
    size_t n = 0, total = 0, off = front_offset_;
    for (auto it = queue_.begin(); it != queue_.end() && n < kMaxIov && total < budget; ++it, off = 0) {
        size_t len = it->size() - off;
        if (len > budget - total) len = budget - total;
        iov[n++] = iovec{const_cast<char*>(it->data() + off), len};
        total += len;
    }
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = n;
    const ssize_t w = ::sendmsg(fd_, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
        err = errno;
        return false;
    }
    written = size_t(w);
    return true;
}

// Coalesces frames from the front into one TLS record (one syscall, one MAC
// per up to 16 KiB). After kAgain the same staged bytes go again unchanged.
TlsIo SyslogTcpSender::send_tls(size_t budget, size_t& written) {
    if (pending_len_ == 0) {
        const size_t cap = budget < kTlsRecord ? budget : kTlsRecord;
        tls_stage_.clear();
        size_t frames = 0, off = front_offset_;
        for (auto it = queue_.begin(); it != queue_.end() && tls_stage_.size() < cap; ++it, off = 0) {
            size_t len = it->size() - off;
            if (len > cap - tls_stage_.size()) len = cap - tls_stage_.size();
            tls_stage_.append(it->data() + off, len);
            frames++;
        }
        pending_len_ = tls_stage_.size();
        pending_frames_ = frames;
    }
    const TlsIo r = tls_->send(tls_stage_.data(), pending_len_, written);
    if (r != TlsIo::kAgain) {
        pending_len_ = 0;
        pending_frames_ = 0;
    }
    return r;
}

void SyslogTcpSender::write_some(uint64_t now_ns) {
    size_t budget = cfg_.max_bytes_per_poll;
    while (!queue_.empty() && budget > 0) {
        size_t written = 0;
        if (tls_) {
            const TlsIo r = send_tls(budget, written);
            if (r == TlsIo::kAgain) return;
            if (r != TlsIo::kOk) {
                std::string why = tls_->error();
                return lose_connection(now_ns, true, std::move(why));
            }
        } else {
            int err = 0;
            if (!send_plain(budget, written, err)) {
                if (err == EINTR) continue;
                if (err == EAGAIN || err == EWOULDBLOCK) return;
                return lose_connection(now_ns, true, "connection to " + endpoint() + " lost: " + std::strerror(err));
            }
        }
        consume(written);
        budget -= written < budget ? written : budget;
    }
}

void SyslogTcpSender::poll(uint64_t now_ns) {
    if (state_ == SenderState::kDisconnected && now_ns >= next_attempt_ns_) start_connect(now_ns);
    if (state_ == SenderState::kConnecting) finish_connect(now_ns);
    if (state_ != SenderState::kConnected) return;

    // A collector never talks back; readable means closed (0) or reset. Any
    // bytes it does send are read and ignored so they cannot fill the buffer
    // (over TLS: session tickets and alerts, which GnuTLS must process).
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
        if (tls_) {
            const TlsIo r = tls_->drain_input();
            if (r == TlsIo::kClosed) return lose_connection(now_ns, true, "collector " + endpoint() + " closed the TLS session");
            if (r == TlsIo::kError) {
                std::string why = tls_->error();
                return lose_connection(now_ns, true, std::move(why));
            }
        } else {
            char sink[512];
            const ssize_t r = ::recv(fd_, sink, sizeof sink, MSG_DONTWAIT);
            if (r == 0) return lose_connection(now_ns, true, "collector " + endpoint() + " closed the connection");
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return lose_connection(now_ns, true, "connection to " + endpoint() + " lost: " + std::strerror(errno));
        }
    }
    write_some(now_ns);
}

Result<void> SyslogTcpSender::flush(uint64_t deadline_ns) {
    for (;;) {
        const uint64_t now = monotonic_ns();
        poll(now);
        if (queue_.empty()) return {};
        if (now >= deadline_ns)
            return fail("syslog tcp " + endpoint(),
                        std::to_string(queue_.size()) + " frames not delivered by the shutdown deadline (collector " +
                            std::string(state_name(state_)) +
                            (last_error_.empty() || state_ == SenderState::kConnected ? "" : "; last error: " + last_error_) +
                            ")");
        uint64_t wait_ns = deadline_ns - now;
        if (state_ == SenderState::kDisconnected && next_attempt_ns_ > now && next_attempt_ns_ - now < wait_ns)
            wait_ns = next_attempt_ns_ - now;
        const int ms = wait_ns >= 10'000'000 ? 10 : int(wait_ns / 1'000'000) + 1;
        if (fd_ >= 0) {
            // A TLS handshake mostly waits for the collector's reply.
            const bool want_read = tls_ && state_ == SenderState::kConnecting && !tls_->wants_write();
            pollfd p{fd_, short(want_read ? POLLIN : POLLOUT), 0};
            ::poll(&p, 1, ms);
        } else {
            ::poll(nullptr, 0, ms);
        }
    }
}

}  // namespace vtap::output
