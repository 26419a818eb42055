// BlockPool: prefaulted blocks first, then 2 MiB chunks mapped on demand,
// given-back blocks reused, max_blocks a hard bound.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core/block_pool.hpp"

using namespace vtap;

namespace {

bool aligned_2m(const uint8_t* p) { return reinterpret_cast<uintptr_t>(p) % BlockPool::kChunkBytes == 0; }

long minor_faults() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt;
}

// "[madvise]" or "[always]": MADV_HUGEPAGE regions get huge pages.
bool thp_on() {
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string s;
    std::getline(f, s);
    return s.find("[never]") == std::string::npos && !s.empty();
}

}  // namespace

TEST_CASE("block pool hands out prefaulted blocks, then blocks of a new 2 MiB chunk", "[core][block_pool]") {
    auto p = BlockPool::create(4096, 2000, 3);
    REQUIRE(p);
    // The prefaulted region is rounded up to 2 MiB: 512 blocks, none fresh.
    CHECK(p->chunks() == 1);
    CHECK(p->mapped_bytes() == BlockPool::kChunkBytes);
    std::vector<uint8_t*> got;
    for (int i = 0; i < 512; ++i) {
        auto t = p->take();
        REQUIRE(t.block != nullptr);
        CHECK_FALSE(t.fresh);
        got.push_back(t.block);
    }
    CHECK(aligned_2m(got.front()));
    auto t = p->take();  // the 513th: a second chunk
    REQUIRE(t.block != nullptr);
    CHECK(t.fresh);
    CHECK(aligned_2m(t.block));
    CHECK(p->chunks() == 2);
    CHECK(p->carved() == 513);
    got.push_back(t.block);
    // Distinct, whole blocks: write each fully, read back.
    for (size_t i = 0; i < got.size(); ++i) std::memset(got[i], static_cast<int>(i & 0xff), 4096);
    for (size_t i = 0; i < got.size(); ++i) CHECK(got[i][4095] == static_cast<uint8_t>(i & 0xff));
    CHECK(std::set<uint8_t*>(got.begin(), got.end()).size() == got.size());
    // Given back, reused last-in first-out, and not fresh any more.
    p->give(got.back());
    p->give(got[7]);
    CHECK(p->free_blocks() == 2);
    auto a = p->take();
    auto b = p->take();
    CHECK(a.block == got[7]);
    CHECK(b.block == got.back());
    CHECK_FALSE(a.fresh);
    CHECK_FALSE(b.fresh);
    CHECK(p->chunks() == 2);
}

TEST_CASE("block pool without prefaulted blocks maps nothing until the first take", "[core][block_pool]") {
    auto p = BlockPool::create(1500, 100, 0);
    REQUIRE(p);
    CHECK(p->mapped_bytes() == 0);
    auto t = p->take();
    REQUIRE(t.block != nullptr);
    CHECK(t.fresh);
    CHECK(p->mapped_bytes() == BlockPool::kChunkBytes);
    // 1500 does not divide 2 MiB: blocks are back to back, none crosses the chunk end.
    auto u = p->take();
    CHECK(u.block == t.block + 1500);
}

TEST_CASE("block pool never hands out more than max_blocks", "[core][block_pool]") {
    auto p = BlockPool::create(4096, 3, 0);
    REQUIRE(p);
    uint8_t* b[3];
    for (auto& x : b) {
        x = p->take().block;
        REQUIRE(x != nullptr);
    }
    auto none = p->take();
    CHECK(none.block == nullptr);
    CHECK(p->chunks() == 1);
    CHECK(p->carved() == 3);
    p->give(b[1]);
    CHECK(p->take().block == b[1]);
    CHECK(p->take().block == nullptr);
}

TEST_CASE("block pool blocks larger than 2 MiB get a chunk each", "[core][block_pool]") {
    const size_t big = BlockPool::kChunkBytes + 4096;
    auto p = BlockPool::create(big, 2, 0);
    REQUIRE(p);
    auto a = p->take();
    auto b = p->take();
    REQUIRE(a.block != nullptr);
    REQUIRE(b.block != nullptr);
    CHECK(p->chunks() == 2);
    CHECK(p->mapped_bytes() == 2 * 2 * BlockPool::kChunkBytes);
    std::memset(a.block, 1, big);
    std::memset(b.block, 2, big);
    CHECK(a.block[big - 1] == 1);
    CHECK(p->take().block == nullptr);
}

TEST_CASE("block pool refuses a zero block size and more prefaulted blocks than max_blocks", "[core][block_pool]") {
    auto zero = BlockPool::create(0, 10, 0);
    REQUIRE_FALSE(zero);
    CHECK_THAT(zero.error().to_string(), Catch::Contains("block size must be > 0"));
    auto over = BlockPool::create(64, 10, 11);
    REQUIRE_FALSE(over);
    CHECK_THAT(over.error().to_string(), Catch::Contains("prefault (11) exceeds max_blocks (10)"));
}

TEST_CASE("block pool moves its chunks with it", "[core][block_pool]") {
    auto p = BlockPool::create(4096, 1024, 1);
    REQUIRE(p);
    uint8_t* b = p->take().block;
    BlockPool q = std::move(*p);
    CHECK(p->mapped_bytes() == 0);
    CHECK(p->take().block == nullptr);  // moved-from: empty, hands out nothing
    q.give(b);
    CHECK(q.take().block == b);
    CHECK(q.mapped_bytes() == BlockPool::kChunkBytes);
}

TEST_CASE("block pool a new chunk's blocks fault once per huge page, not once per 4 KiB", "[core][block_pool]") {
    if (!thp_on()) {
        WARN("transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled): skipped");
        return;
    }
    auto p = BlockPool::create(4096, 4096, 0);
    REQUIRE(p);
    const long before = minor_faults();
    for (int i = 0; i < 2048; ++i) {  // four chunks, every block written
        auto t = p->take();
        REQUIRE(t.block != nullptr);
        std::memset(t.block, 0xab, 4096);
    }
    const long faults = minor_faults() - before;
    INFO("minor faults for 2048 fresh 4 KiB blocks: " << faults);
    CHECK(faults < 2048 / 8);  // 4 with huge pages; 2048 with 4 KiB pages
    CHECK(p->chunks() == 4);
}
