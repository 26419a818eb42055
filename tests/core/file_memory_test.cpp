#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/file_text.hpp"
#include "core/prefaulted.hpp"

using namespace vtap;

namespace {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/vtap_core_test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string write(const std::string& name, const std::string& bytes) const {
        const std::string p = path + "/" + name;
        std::ofstream(p, std::ios::binary) << bytes;
        return p;
    }
};

}  // namespace

TEST_CASE("a mapped file holds exactly the file's bytes, NULs and no trailing newline included", "[core][file]") {
    TempDir d;
    std::string bytes = "alert tcp any any -> any any (msg:\"x\"; sid:1;)\n";
    bytes += std::string("\0\xff\x01", 3);
    bytes += "last line without newline";
    auto f = MappedFile::open(d.write("r.rules", bytes));
    REQUIRE(f);
    REQUIRE(f->text() == bytes);
    MappedFile moved = std::move(*f);  // the mapping moves with it
    REQUIRE(moved.text() == bytes);
    auto s = read_file_text(d.path + "/r.rules");
    REQUIRE(s);
    REQUIRE(*s == bytes);
}

TEST_CASE("an empty file maps to an empty text", "[core][file]") {
    TempDir d;
    auto f = MappedFile::open(d.write("empty", ""));
    REQUIRE(f);
    REQUIRE(f->text().empty());
}

TEST_CASE("unreadable paths fail with the path and the reason", "[core][file]") {
    TempDir d;
    auto missing = MappedFile::open(d.path + "/nope.rules");
    REQUIRE_FALSE(missing);
    REQUIRE(missing.error().where == d.path + "/nope.rules");
    REQUIRE(missing.error().what == "cannot open: No such file or directory");
    auto dir = read_file_text(d.path);
    REQUIRE_FALSE(dir);
    REQUIRE(dir.error().where == d.path);
    REQUIRE(dir.error().what == "is a directory");
}

TEST_CASE("prefaulted memory is zeroed, and large arrays are 2 MiB aligned", "[core][memory]") {
    PrefaultedVector<uint64_t> big(size_t{3} << 18);  // 6 MiB
    REQUIRE(reinterpret_cast<uintptr_t>(big.data()) % (size_t{2} << 20) == 0);
    bool zero = true;
    for (uint64_t v : big) zero = zero && v == 0;
    REQUIRE(zero);
    void* small = alloc_prefaulted(100);
    REQUIRE(small != nullptr);
    REQUIRE(reinterpret_cast<uintptr_t>(small) % 64 == 0);
    const auto* b = static_cast<const uint8_t*>(small);
    for (int i = 0; i < 100; i++) REQUIRE(b[i] == 0);
    std::free(small);
}

TEST_CASE("a pipe is read to its end (vtapd -c <(...))", "[core][file]") {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const std::string bytes = "pipeline:\n  workers: 1\n";
    REQUIRE(write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    close(fds[1]);
    auto s = read_file_text("/proc/self/fd/" + std::to_string(fds[0]));
    close(fds[0]);
    REQUIRE(s);
    REQUIRE(*s == bytes);
}
