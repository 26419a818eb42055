// Syslog over TCP with RFC 6587 octet-counting framing ("LEN SP MSG"), for
// the control thread: poll(now) does all the work with non-blocking sockets
// and a zero poll() timeout, so alert delivery never waits for the collector.
// Frames wait in a bounded queue; when it is full the configured policy drops
// the oldest or the newest frame, counted. A down collector is retried with
// capped exponential backoff. With `tls` set the same connection carries
// RFC 5425 syslog over TLS (tls_session.hpp): the handshake is driven from
// poll() as well, and a collector that fails verification gets no byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/socket.h>

#include "core/counters.hpp"
#include "core/result.hpp"
#include "output/tls_config.hpp"
#include "output/tls_session.hpp"

namespace vtap::output {

enum class DropPolicy : uint8_t { kOldest, kNewest };
// kConnecting covers the TCP connect and, with TLS, the handshake.
enum class SenderState : uint8_t { kDisconnected, kConnecting, kConnected };
std::string_view state_name(SenderState s) noexcept;

struct SyslogTcpConfig {
    std::string host = "127.0.0.1";  // numeric IPv4/IPv6 or a name (resolved once, in create)
    uint16_t port = 514;
    size_t queue_frames = 4096;      // >= 1
    DropPolicy drop = DropPolicy::kOldest;
    uint64_t backoff_min_ns = 100'000'000;     // first retry after 100 ms
    uint64_t backoff_max_ns = 30'000'000'000;  // then doubling up to 30 s
    uint64_t connect_timeout_ns = 5'000'000'000;
    size_t max_bytes_per_poll = 1 << 20;       // bounds the time one poll() spends writing
    std::optional<TlsConfig> tls;              // set: RFC 5425 syslog over TLS on this connection
};

struct SyslogCounters {
    Counter queued;          // syslog.queued: frames accepted into the queue
    Counter sent;            // syslog.sent: frames whose last byte the kernel accepted
    Counter bytes;           // syslog.bytes: frame bytes (prefix included) of sent frames
    Counter dropped_full;    // syslog.dropped_full: frames dropped by the queue policy
    Counter connects;        // syslog.connects: connections established
    Counter reconnects;      // syslog.reconnects: connections established after a loss or failure
    Counter connect_failures;// syslog.connect_failures: refused, timed out, unreachable
    Counter disconnects;     // syslog.disconnects: established connections lost
    Counter resent_partial;  // syslog.resent_partial: frames cut by a lost connection, sent again whole
    Counter tls_failures;    // syslog.tls_failures: TLS handshakes that failed (verification included);
                             // each is also a connect_failure
};

class SyslogTcpSender {
public:
    // Validates the config, resolves host (blocking name lookup: call at
    // start-up) and, with TLS, loads the CA / client certificate files (an
    // Error names a missing or unreadable file).
    static Result<SyslogTcpSender> create(SyslogTcpConfig cfg);

    SyslogTcpSender(SyslogTcpSender&&) noexcept;
    SyslogTcpSender& operator=(SyslogTcpSender&&) noexcept;
    SyslogTcpSender(const SyslogTcpSender&) = delete;
    SyslogTcpSender& operator=(const SyslogTcpSender&) = delete;
    ~SyslogTcpSender();  // closes; frames still queued are lost (flush first)

    // Frames one message and queues it. Never blocks, never writes. False when
    // the message was dropped (policy kNewest on a full queue).
    bool enqueue(std::string_view msg);

    // Connects / writes / notices a closed peer, without blocking. `now_ns`
    // is CLOCK_MONOTONIC (monotonic_ns()).
    void poll(uint64_t now_ns);

    // Shutdown: polls until the queue is empty or `deadline_ns` (monotonic)
    // passes, sleeping at most 10 ms at a time. Error: how many frames remain.
    Result<void> flush(uint64_t deadline_ns);

    SenderState state() const noexcept { return state_; }
    size_t queued_frames() const noexcept { return queue_.size(); }
    const SyslogCounters& counters() const noexcept { return *counters_; }
    const SyslogTcpConfig& config() const noexcept { return cfg_; }
    std::string endpoint() const;  // "127.0.0.1:6514", for errors and logs
    bool tls() const noexcept { return creds_ != nullptr; }
    // The socket (-1 when none), for an output thread that sleeps in poll()
    // between calls: wait for POLLOUT while frames are queued.
    int fd() const noexcept { return fd_; }
    // Why the last connection attempt failed or the last connection was lost,
    // for logs: "certificate signed by unknown authority for 127.0.0.1:6514".
    // Empty until something failed; kept after a later success.
    const std::string& last_error() const noexcept { return last_error_; }

    static uint64_t monotonic_ns() noexcept;

private:
    explicit SyslogTcpSender(SyslogTcpConfig cfg);
    void start_connect(uint64_t now_ns);
    void finish_connect(uint64_t now_ns);
    void established();
    void write_some(uint64_t now_ns);
    bool send_plain(size_t budget, size_t& written, int& err);
    TlsIo send_tls(size_t budget, size_t& written);
    void consume(size_t n);
    void lose_connection(uint64_t now_ns, bool was_connected, std::string why);
    void close_fd() noexcept;

    SyslogTcpConfig cfg_;
    sockaddr_storage addr_{};
    socklen_t addr_len_ = 0;
    int fd_ = -1;
    SenderState state_ = SenderState::kDisconnected;
    std::deque<std::string> queue_;  // framed: "LEN SP MSG"
    size_t front_offset_ = 0;        // bytes of queue_.front() already written on this connection
    // TLS: GnuTLS took `tls_stage_` (pending_len_ bytes, copied from the queue
    // front, covering pending_frames_ frames) and said EAGAIN; the retry must
    // pass the same bytes, so those frames are in flight and never dropped.
    size_t pending_len_ = 0;
    size_t pending_frames_ = 0;
    std::string tls_stage_;          // frames coalesced into one TLS record (<= 16 KiB)
    std::shared_ptr<const TlsCredentials> creds_;  // null: plain TCP
    std::optional<TlsSession> tls_;  // set from TCP connect until the connection closes
    std::string last_error_;
    uint64_t next_attempt_ns_ = 0;
    uint64_t connect_started_ns_ = 0;
    uint64_t backoff_ns_ = 0;
    bool had_failure_ = false;       // the next established connection is a reconnect
    std::unique_ptr<SyslogCounters> counters_;  // stable address for readers; Counter is not movable
};

}  // namespace vtap::output
