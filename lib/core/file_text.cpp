#include "core/file_text.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace vtap {

Result<MappedFile> MappedFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    const bool stat_ok = ::fstat(fd, &st) == 0;
    const int stat_errno = errno;
    MappedFile f;
    if (!stat_ok) {
        ::close(fd);
        return fail(path, std::string("cannot stat: ") + std::strerror(stat_errno));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return fail(path, "is a directory");
    }
    if (!S_ISREG(st.st_mode)) {  // a pipe or a character device: read it to the end
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n == 0) break;
            if (n < 0) {
                if (errno == EINTR) continue;
                const int e = errno;
                ::close(fd);
                return fail(path, std::string("read error: ") + std::strerror(e));
            }
            f.read_.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
        return f;
    }
    if (st.st_size > 0) {
        void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) {
            const int e = errno;
            ::close(fd);
            return fail(path, std::string("cannot map: ") + std::strerror(e));
        }
        f.data_ = p;
        f.size_ = static_cast<size_t>(st.st_size);
    }
    ::close(fd);  // the mapping keeps the file
    return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), read_(std::move(o.read_)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
    if (this != &o) {
        if (data_) ::munmap(data_, size_);
        data_ = std::exchange(o.data_, nullptr);
        size_ = std::exchange(o.size_, 0);
        read_ = std::move(o.read_);
    }
    return *this;
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(data_, size_);
}

Result<std::string> read_file_text(const std::string& path) {
    auto f = MappedFile::open(path);
    if (!f) return std::unexpected(f.error());
    return std::string(f->text());
}

}  // namespace vtap
