// Syslog over datagrams, for the control thread: UDP (RFC 5426: one message
// per datagram, no framing) or a local unix datagram socket (/dev/log style).
// Messages wait in a bounded queue and poll(now) sends them without blocking
// (SOCK_NONBLOCK, MSG_DONTWAIT). A message longer than max_message_bytes is
// fitted by fit_eve_line (eve_fit.hpp) and counted, never split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <sys/socket.h>

#include "core/counters.hpp"
#include "core/result.hpp"
#include "output/syslog_tcp.hpp"

namespace vtap::output {

struct SyslogDgramConfig {
    bool unix_socket = false;        // false: UDP to host:port; true: AF_UNIX to path
    std::string host = "127.0.0.1";  // resolved once, in create
    uint16_t port = 514;
    std::string path = "/dev/log";
    size_t queue_frames = 4096;      // >= 1
    DropPolicy drop = DropPolicy::kOldest;
    size_t max_message_bytes = 2048; // >= 480 (RFC 5426 3.2: every receiver takes 480)
    uint64_t retry_ns = 200'000'000; // unix socket absent or refused: next try
    size_t max_messages_per_poll = 4096;
};

struct DgramCounters {
    Counter queued;          // messages accepted into the queue
    Counter sent;            // datagrams the kernel accepted
    Counter bytes;           // their bytes
    Counter dropped_full;    // dropped by the queue policy
    Counter dropped_error;   // refused for good by the socket (EMSGSIZE)
    Counter truncated;       // messages fitted to max_message_bytes (JSON kept valid)
    Counter truncated_cut;   // of those, cut with the JSON left incomplete (limit below the fixed fields)
    Counter send_errors;     // sends refused (ICMP unreachable, no reader); the message is retried
    Counter connects;        // unix: socket connected
    Counter reconnects;      // unix: connected again after a failure
};

class SyslogDgramSender {
public:
    static Result<SyslogDgramSender> create(SyslogDgramConfig cfg);

    SyslogDgramSender(SyslogDgramSender&&) noexcept;
    SyslogDgramSender& operator=(SyslogDgramSender&&) noexcept;
    SyslogDgramSender(const SyslogDgramSender&) = delete;
    SyslogDgramSender& operator=(const SyslogDgramSender&) = delete;
    ~SyslogDgramSender();

    // Queues `header` + `eve_line` as one message, fitting the line into
    // max_message_bytes - header.size(). False when the queue policy dropped it.
    bool enqueue(std::string_view header, std::string_view eve_line);

    // Sends what the socket takes now; never blocks.
    void poll(uint64_t now_ns);
    // Polls until the queue is empty or `deadline_ns` passes. Error: how many remain.
    Result<void> flush(uint64_t deadline_ns);

    SenderState state() const noexcept { return state_; }
    size_t queued_frames() const noexcept { return queue_.size(); }
    const DgramCounters& counters() const noexcept { return *counters_; }
    std::string endpoint() const;  // "udp 127.0.0.1:514", "unix /dev/log"

private:
    explicit SyslogDgramSender(SyslogDgramConfig cfg);
    void try_connect(uint64_t now_ns);
    void close_fd() noexcept;

    SyslogDgramConfig cfg_;
    sockaddr_storage addr_{};
    socklen_t addr_len_ = 0;
    int fd_ = -1;
    SenderState state_ = SenderState::kDisconnected;
    std::deque<std::string> queue_;
    uint64_t next_attempt_ns_ = 0;
    bool had_failure_ = false;
    std::string scratch_;
    std::unique_ptr<DgramCounters> counters_;
};

}  // namespace vtap::output
