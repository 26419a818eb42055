#include "alert/eve_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace vtap::alert {

namespace {

Result<int> open_append(const std::string& path) {
    if (path == EveWriter::kStdout) return STDOUT_FILENO;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return fail(path, std::string("cannot open for appending: ") + std::strerror(errno));
    return fd;
}

size_t count_lines(const char* p, size_t n) { return static_cast<size_t>(std::count(p, p + n, '\n')); }

}  // namespace

Result<EveWriter> EveWriter::open(std::string path, size_t buffer_bytes) {
    if (path.empty()) return fail("eve output", "empty path (use \"-\" for stdout)");
    auto fd = open_append(path);
    if (!fd) return std::unexpected(fd.error());
    return EveWriter(*fd, std::move(path), buffer_bytes);
}

EveWriter::EveWriter(int fd, std::string path, size_t buffer_bytes)
    : fd_(fd), path_(std::move(path)), cap_(buffer_bytes ? buffer_bytes : 1),
      state_(std::make_unique<State>()) {
    buf_.reserve(cap_);
}

EveWriter::EveWriter(EveWriter&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)), cap_(o.cap_), buf_(std::move(o.buf_)),
      buf_lines_(std::exchange(o.buf_lines_, 0)), torn_(o.torn_), state_(std::move(o.state_)) {}

EveWriter& EveWriter::operator=(EveWriter&& o) noexcept {
    if (this != &o) {
        if (state_) (void)flush();
        close_fd();
        fd_ = std::exchange(o.fd_, -1);
        path_ = std::move(o.path_);
        cap_ = o.cap_;
        buf_ = std::move(o.buf_);
        buf_lines_ = std::exchange(o.buf_lines_, 0);
        torn_ = o.torn_;
        state_ = std::move(o.state_);
    }
    return *this;
}

EveWriter::~EveWriter() {
    if (state_) (void)flush();
    close_fd();
}

void EveWriter::close_fd() noexcept {
    if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
    fd_ = -1;
}

// Writes p[0..n) (holding `lines` complete lines) with write(2), retrying
// short writes and EINTR. On failure the lines not completely written are
// counted lost and the error names the path.
Result<void> EveWriter::write_out(const char* p, size_t n, size_t lines) {
    auto& c = state_->counters;
    if (fd_ < 0) {
        // A previous reopen failed (directory gone, permissions): try again
        // rather than stay dark until the next SIGHUP.
        auto fd = open_append(path_);
        if (!fd) {
            c.write_errors.add();
            c.lost.add(lines);
            return fail(path_, fd.error().what + ", " + std::to_string(lines) + " alert line(s) lost");
        }
        fd_ = *fd;
    }
    if (torn_) {
        // Terminate the partial line a failed write left, so it cannot merge
        // with the next line into one unparseable line.
        if (::write(fd_, "\n", 1) == 1) torn_ = false;
    }
    size_t done = 0;
    while (done < n) {
        const ssize_t w = ::write(fd_, p + done, n - done);
        if (w > 0) {
            done += static_cast<size_t>(w);
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        const int err = w < 0 ? errno : EIO;
        const size_t ok = count_lines(p, done);
        c.written.add(ok);
        c.lost.add(lines - ok);
        c.write_errors.add();
        torn_ = done > 0 && p[done - 1] != '\n';
        return fail(path_, "write failed, " + std::to_string(lines - ok) + " alert line(s) lost: " +
                               std::strerror(err));
    }
    c.written.add(lines);
    return {};
}

Result<void> EveWriter::flush() {
    if (buf_.empty()) return {};
    auto r = write_out(buf_.data(), buf_.size(), buf_lines_);
    buf_.clear();
    buf_lines_ = 0;
    return r;
}

Result<void> EveWriter::write_lines(std::string_view lines) {
    if (lines.empty()) return {};
    const size_t n = count_lines(lines.data(), lines.size());
    Result<void> r;
    if (buf_.size() + lines.size() > cap_) r = flush();
    if (lines.size() > cap_) {
        // Larger than the whole buffer: straight through, nothing to gain by copying.
        auto w = write_out(lines.data(), lines.size(), n);
        return r ? w : r;
    }
    buf_.append(lines);
    buf_lines_ += n;
    return r;
}

Result<void> EveWriter::write_line(std::string_view line) { return write_lines(line); }

Result<void> EveWriter::reopen() {
    auto r = flush();
    if (is_stdout()) return r;
    close_fd();
    torn_ = false;  // a new file starts clean
    auto fd = open_append(path_);
    if (!fd) {
        state_->counters.write_errors.add();
        return std::unexpected(fd.error());
    }
    fd_ = *fd;
    state_->counters.reopens.add();
    return r;
}

Result<void> EveWriter::service() {
    if (!state_->reopen_requested.exchange(false, std::memory_order_relaxed)) return {};
    return reopen();
}

}  // namespace vtap::alert
