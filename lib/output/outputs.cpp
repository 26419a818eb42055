// Outputs: rate limit -> one EVE line -> every sink; polling, reopen, flush,
// statistics.
#include "output/outputs.hpp"

#include <cstdio>
#include <ctime>
#include <optional>
#include <unistd.h>

#include "alert/eve_writer.hpp"
#include "output/syslog_dgram.hpp"
#include "output/syslog_format.hpp"
#include "output/syslog_tcp.hpp"

namespace vtap::output {

struct Outputs::Sink {
    OutputSpec spec;
    std::unique_ptr<alert::EveWriter> eve;
    std::optional<SyslogTcpSender> tcp;
    std::optional<SyslogDgramSender> dgram;
    SyslogHeader hdr;
    std::string local_tag;        // "vtapd[1234]: " for the local format
    Counter offered;              // alerts handed to this output
    Counter eve_bytes;            // EVE: line bytes handed to the writer
    Counter unsent;               // left in the queue at the shutdown deadline
    Counter state;                // 0 down, 1 connecting, 2 up (a gauge: reset + add)
    uint64_t last_error_log_ns = 0;

    std::string label() const {
        if (eve) return "output " + spec.name + " (eve " + spec.path + ")";
        if (tcp) return "output " + spec.name + " (syslog " + std::string(spec.transport == Transport::kTls ? "tls " : "tcp ") +
                        tcp->endpoint() + ")";
        return "output " + spec.name + " (syslog " + dgram->endpoint() + ")";
    }
    size_t pending() const {
        if (eve) return 0;  // EVE lines are written synchronously by flush()
        return tcp ? tcp->queued_frames() : dgram->queued_frames();
    }
    void set_state(uint64_t v) noexcept {
        state.reset();
        state.add(v);
    }
    uint64_t failures_logged = 0;  // tcp: connect failures + disconnects already reported
    // At most one line per 10 s per output, so a full disk does not flood stderr.
    void log_error(const Error& e, uint64_t now_ns) {
        if (last_error_log_ns && now_ns - last_error_log_ns < 10'000'000'000ull) return;
        last_error_log_ns = now_ns;
        std::fprintf(stderr, "vtapd: %s: %s\n", label().c_str(), e.to_string().c_str());
    }
};

namespace {

uint64_t state_value(SenderState s) {
    switch (s) {
        case SenderState::kDisconnected: return 0;
        case SenderState::kConnecting: return 1;
        case SenderState::kConnected: return 2;
    }
    return 0;
}

// "<PRI>Nov 22 03:18:40 " as glibc's syslog(3) writes to /dev/log: local
// time, no year, day padded with a space (RFC 3164 4.1.2).
void append_local_header(uint8_t facility, uint8_t severity, uint64_t ts_ns, std::string& out) {
    const time_t sec = static_cast<time_t>(ts_ns / 1'000'000'000u);
    struct tm tm {};
    localtime_r(&sec, &tm);
    char buf[48];
    const size_t n = std::strftime(buf, sizeof buf, "%b %e %H:%M:%S ", &tm);
    out.push_back('<');
    out += std::to_string(unsigned(facility) * 8u + (severity & 7u));
    out.push_back('>');
    out.append(buf, n);
}

Result<std::unique_ptr<Outputs::Sink>> make_sink(const OutputSpec& spec) {
    auto s = std::make_unique<Outputs::Sink>();
    s->spec = spec;
    const std::string where = "output " + spec.name;
    if (spec.type == OutputType::kEve) {
        auto w = alert::EveWriter::open(spec.path);
        if (!w) return fail(where, w.error().to_string());
        s->eve = std::make_unique<alert::EveWriter>(std::move(*w));
        s->set_state(2);
        return s;
    }
    auto h = make_header(spec.facility, spec.hostname, spec.app_name);
    if (!h) return fail(where, h.error().to_string());
    s->hdr = std::move(*h);
    s->local_tag = s->hdr.app_name + "[" + std::to_string(::getpid()) + "]: ";
    const DropPolicy drop = spec.drop_newest ? DropPolicy::kNewest : DropPolicy::kOldest;
    if (spec.transport == Transport::kTcp || spec.transport == Transport::kTls) {
        SyslogTcpConfig c;
        c.host = spec.host;
        c.port = spec.port;
        c.queue_frames = spec.queue_frames;
        c.drop = drop;
        if (spec.transport == Transport::kTls) c.tls = spec.tls;
        auto t = SyslogTcpSender::create(std::move(c));
        if (!t) return fail(where, t.error().to_string());
        s->tcp.emplace(std::move(*t));
    } else {
        SyslogDgramConfig c;
        c.unix_socket = spec.transport == Transport::kUnix;
        c.host = spec.host;
        c.port = spec.port;
        c.path = spec.path;
        c.queue_frames = spec.queue_frames;
        c.drop = drop;
        c.max_message_bytes = spec.max_message_bytes;
        auto d = SyslogDgramSender::create(std::move(c));
        if (!d) return fail(where, d.error().to_string());
        s->dgram.emplace(std::move(*d));
    }
    return s;
}

}  // namespace

uint64_t Outputs::monotonic_ns() noexcept { return SyslogTcpSender::monotonic_ns(); }

Outputs::Outputs(const RateLimitSpec& limit, alert::EveOptions eve) : limiter_(limit), fmt_(std::move(eve)) {}
Outputs::~Outputs() = default;

Result<std::unique_ptr<Outputs>> Outputs::create(const std::vector<OutputSpec>& specs, const RateLimitSpec& limit,
                                                 alert::EveOptions eve) {
    auto o = std::unique_ptr<Outputs>(new Outputs(limit, std::move(eve)));
    for (const auto& spec : specs) {
        auto s = make_sink(spec);
        if (!s) return std::unexpected(s.error());
        o->sinks_.push_back(std::move(*s));
    }
    return o;
}

void Outputs::offer(const alert::AlertRecord& rec) {
    if (!limiter_.admit(rec.gid, rec.sid, rec.ts_ns)) return;
    line_.clear();
    fmt_.format(rec, line_);
    written_.add();
    const uint8_t sev = severity_for_priority(rec.priority);
    for (auto& sp : sinks_) {
        Sink& s = *sp;
        s.offered.add();
        if (s.eve) {
            if (auto r = s.eve->write_line(line_); !r) {
                s.set_state(0);
                s.log_error(r.error(), monotonic_ns());
            } else {
                s.eve_bytes.add(line_.size());
            }
            continue;
        }
        header_.clear();
        if (s.spec.format == MessageFormat::kLocal) {
            append_local_header(s.hdr.facility, sev, rec.ts_ns, header_);
            header_ += s.local_tag;
        } else {
            format_rfc5424(s.hdr, sev, rec.ts_ns, {}, header_);
        }
        if (s.tcp) {
            header_.append(line_.data(), line_.size() - 1);  // without '\n'
            s.tcp->enqueue(header_);
        } else {
            s.dgram->enqueue(header_, line_);
        }
    }
}

void Outputs::poll(uint64_t now_ns) {
    const bool reopen = reopen_.exchange(false, std::memory_order_relaxed);
    for (auto& sp : sinks_) {
        Sink& s = *sp;
        if (s.eve) {
            auto r = reopen ? s.eve->reopen() : s.eve->flush();
            if (r) s.set_state(2);
            else {
                s.set_state(0);
                s.log_error(r.error(), now_ns);
            }
        } else if (s.tcp) {
            s.tcp->poll(now_ns);
            s.set_state(state_value(s.tcp->state()));
            // A refused connection or a failed TLS verification must reach
            // the operator, not only a counter (rate-limited by log_error).
            const auto failures = s.tcp->counters().connect_failures.get() + s.tcp->counters().disconnects.get();
            if (failures != s.failures_logged && !s.tcp->last_error().empty()) {
                s.failures_logged = failures;
                s.log_error(Error{s.tcp->endpoint(), s.tcp->last_error()}, now_ns);
            }
        } else {
            s.dgram->poll(now_ns);
            s.set_state(state_value(s.dgram->state()));
        }
    }
}

std::vector<std::string> Outputs::flush(uint64_t deadline_ns) {
    for (;;) {
        const uint64_t now = monotonic_ns();
        poll(now);
        size_t left = 0;
        for (const auto& s : sinks_) left += s->pending();
        if (left == 0 || now >= deadline_ns) break;
        ::usleep(2000);
    }
    std::vector<std::string> report;
    for (auto& sp : sinks_) {
        Sink& s = *sp;
        const size_t n = s.pending();
        if (n == 0) continue;
        s.unsent.add(n);
        const uint64_t st = s.state.get();
        report.push_back(s.label() + ": " + std::to_string(n) + " alert(s) not delivered by the shutdown deadline (" +
                         (st == 2 ? "collector slow" : st == 1 ? "still connecting" : "collector unreachable") + ")");
    }
    return report;
}

void Outputs::append_stats(StatList& out) const {
    out.emplace_back("alert.written", written_.get());
    out.emplace_back("alert.suppressed", limiter_.suppressed());
    out.emplace_back("alert.rate_limit_evictions", limiter_.evictions());
    for (const auto& sp : sinks_) {
        const Sink& s = *sp;
        const std::string p = "output." + s.spec.name + ".";
        auto add = [&](const char* k, uint64_t v) { out.emplace_back(p + k, v); };
        add("offered", s.offered.get());
        if (s.eve) {
            const auto& c = s.eve->counters();
            add("sent", c.written.get());
            add("bytes", s.eve_bytes.get());
            add("dropped_error", c.lost.get());
            add("write_errors", c.write_errors.get());
            add("reopens", c.reopens.get());
        } else if (s.tcp) {
            const auto& c = s.tcp->counters();
            add("queued", c.queued.get());
            add("sent", c.sent.get());
            add("bytes", c.bytes.get());
            add("dropped_full", c.dropped_full.get());
            add("connects", c.connects.get());
            add("reconnects", c.reconnects.get());
            add("connect_failures", c.connect_failures.get());
            if (s.tcp->tls()) add("tls_failures", c.tls_failures.get());
            add("disconnects", c.disconnects.get());
            add("resent_partial", c.resent_partial.get());
        } else {
            const auto& c = s.dgram->counters();
            add("queued", c.queued.get());
            add("sent", c.sent.get());
            add("bytes", c.bytes.get());
            add("dropped_full", c.dropped_full.get());
            add("dropped_error", c.dropped_error.get());
            add("truncated", c.truncated.get());
            add("truncated_cut", c.truncated_cut.get());
            add("send_errors", c.send_errors.get());
            add("connects", c.connects.get());
            add("reconnects", c.reconnects.get());
        }
        add("unsent", s.unsent.get());
        add("state", s.state.get());
    }
}

}  // namespace vtap::output
