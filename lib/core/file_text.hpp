// Control path: whole files into memory, for the config, rule files,
// classification.config and the database cache.
//
// MappedFile maps the file read-only with its pages populated up front: the
// page cache's pages are mapped in one call, not copied into fresh heap
// memory that then faults page by page. On a virtual machine whose page
// faults cost tens of microseconds (this workplace's), reading 20 MB of ET
// Open rules through a stringstream was 40 % of a cached start.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace vtap {

class MappedFile {
public:
    // Errors name the path and the reason: "cannot open: <strerror>",
    // "is a directory", "cannot map: <strerror>", "read error: <strerror>".
    // An empty file maps to "". What cannot be mapped (a pipe, a process
    // substitution such as -c <(...)) is read to its end instead.
    static Result<MappedFile> open(const std::string& path);

    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::string_view text() const noexcept {
        return data_ ? std::string_view{static_cast<const char*>(data_), size_} : std::string_view{read_};
    }

private:
    MappedFile() = default;
    void* data_ = nullptr;  // the mapping, or nullptr: the text is in read_
    size_t size_ = 0;
    std::string read_;
};

// The file's bytes as a string (a copy of its mapping).
Result<std::string> read_file_text(const std::string& path);

}  // namespace vtap
