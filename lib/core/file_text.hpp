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
    // "is a directory", "cannot map: <strerror>". An empty file maps to "".
    static Result<MappedFile> open(const std::string& path);

    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::string_view text() const noexcept { return {static_cast<const char*>(data_), size_}; }

private:
    MappedFile() = default;
    void* data_ = nullptr;
    size_t size_ = 0;
};

// The file's bytes as a string (a copy of its mapping).
Result<std::string> read_file_text(const std::string& path);

}  // namespace vtap
