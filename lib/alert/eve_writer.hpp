// EVE lines to a file (append) or stdout, buffered, for the output thread.
// reopen() supports logrotate: after the file is renamed, the next reopen()
// creates a fresh file at the configured path. request_reopen() only sets a
// flag, so a SIGHUP handler may call it; service() performs the reopen on the
// writer's own thread. Counters: alert.written, alert.write_errors, alert.lost.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/counters.hpp"
#include "core/result.hpp"

namespace vtap::alert {

struct WriterCounters {
    Counter written;       // alert.written: lines handed to write(2) completely
    Counter write_errors;  // alert.write_errors: failed writes (each also returned as an Error)
    Counter lost;          // alert.lost: buffered lines not written because of an error
    Counter reopens;       // alert.reopens: successful reopen() calls on a file
};

class EveWriter {
public:
    static constexpr size_t kDefaultBuffer = 64 * 1024;
    static constexpr std::string_view kStdout = "-";

    // Opens `path` for appending (created 0640 if absent); "-" is stdout.
    static Result<EveWriter> open(std::string path, size_t buffer_bytes = kDefaultBuffer);

    EveWriter(EveWriter&&) noexcept;
    EveWriter& operator=(EveWriter&&) noexcept;
    EveWriter(const EveWriter&) = delete;
    EveWriter& operator=(const EveWriter&) = delete;
    ~EveWriter();  // flushes (errors only counted) and closes

    // Buffers one line, which must end with '\n' and contain no other. Writes
    // the buffer out first when the line would not fit. An Error names the
    // path and strerror; the lines that could not be written are counted lost.
    Result<void> write_line(std::string_view line);
    // Several complete lines at once (what EveFormatter appended to a string).
    Result<void> write_lines(std::string_view lines);
    Result<void> flush();

    // Flushes, closes and opens the path again. No-op (a flush) for stdout.
    Result<void> reopen();
    void request_reopen() noexcept { state_->reopen_requested.store(true, std::memory_order_relaxed); }
    // Reopens if requested since the last call. Call it from the drain loop.
    Result<void> service();

    const std::string& path() const noexcept { return path_; }
    const WriterCounters& counters() const noexcept { return state_->counters; }
    size_t buffered_bytes() const noexcept { return buf_.size(); }

private:
    struct State {
        WriterCounters counters;
        std::atomic<bool> reopen_requested{false};
    };
    EveWriter(int fd, std::string path, size_t buffer_bytes);
    Result<void> write_out(const char* p, size_t n, size_t lines);
    void close_fd() noexcept;
    bool is_stdout() const noexcept { return path_ == kStdout; }

    int fd_ = -1;
    std::string path_;
    size_t cap_ = kDefaultBuffer;
    std::string buf_;
    size_t buf_lines_ = 0;
    bool torn_ = false;  // a failed write left a partial line at the end of the file
    std::unique_ptr<State> state_;
};

}  // namespace vtap::alert
