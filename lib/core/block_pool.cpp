#include "core/block_pool.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace vtap {

namespace {
constexpr size_t kHugePage = BlockPool::kChunkBytes;
size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
}  // namespace

// 2 MiB aligned, so that the kernel can back it with huge pages: map a
// huge page more than asked and unmap the unaligned head and the tail.
uint8_t* BlockPool::map_chunk(size_t bytes) noexcept {
    void* p = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    auto* raw = static_cast<uint8_t*>(p);
    auto* base = reinterpret_cast<uint8_t*>(round_up(reinterpret_cast<uintptr_t>(raw), kHugePage));
    if (base != raw) munmap(raw, static_cast<size_t>(base - raw));
    const size_t tail = static_cast<size_t>(raw + bytes + kHugePage - (base + bytes));
    if (tail != 0) munmap(base + bytes, tail);
    (void)madvise(base, bytes, MADV_HUGEPAGE);  // best effort: THP may be off
    return base;
}

Result<BlockPool> BlockPool::create(size_t block_bytes, size_t max_blocks, size_t prefault) {
    if (block_bytes == 0) return fail("block pool", "block size must be > 0");
    if (prefault > max_blocks)
        return fail("block pool", "prefault (" + std::to_string(prefault) + ") exceeds max_blocks (" +
                                      std::to_string(max_blocks) + ")");
    BlockPool p;
    p.block_bytes_ = block_bytes;
    p.max_blocks_ = max_blocks;
    p.chunk_bytes_ = round_up(block_bytes, kHugePage);
    const size_t per_chunk = p.chunk_bytes_ / block_bytes;
    p.free_.reserve(max_blocks);
    p.chunks_.reserve((max_blocks + per_chunk - 1) / per_chunk + 1);
    if (prefault != 0) {
        // One mapping for all of them, every page written now, not on a packet.
        const size_t bytes = round_up(prefault * block_bytes, kHugePage);
        uint8_t* base = map_chunk(bytes);
        if (base == nullptr)
            return fail("block pool", "cannot map " + std::to_string(bytes) + " bytes for " + std::to_string(prefault) +
                                          " blocks of " + std::to_string(block_bytes) + " bytes");
        std::memset(base, 0, bytes);
        p.start_carving({base, bytes});
        p.prefaulted_begin_ = base;
        p.prefaulted_end_ = base + bytes;
    }
    return p;
}

BlockPool& BlockPool::operator=(BlockPool&& o) noexcept {
    if (this == &o) return *this;
    release();
    block_bytes_ = o.block_bytes_;
    max_blocks_ = std::exchange(o.max_blocks_, 0);
    chunk_bytes_ = o.chunk_bytes_;
    carved_ = std::exchange(o.carved_, 0);
    mapped_bytes_ = std::exchange(o.mapped_bytes_, 0);
    next_ = std::exchange(o.next_, nullptr);
    end_ = std::exchange(o.end_, nullptr);
    prefaulted_begin_ = std::exchange(o.prefaulted_begin_, nullptr);
    prefaulted_end_ = std::exchange(o.prefaulted_end_, nullptr);
    free_ = std::exchange(o.free_, {});
    chunks_ = std::exchange(o.chunks_, {});
    return *this;
}

void BlockPool::start_carving(Chunk c) noexcept {
    chunks_.push_back(c);  // within the capacity reserved at create()
    mapped_bytes_ += c.bytes;
    next_ = c.base;
    // Never past max_blocks: the last chunk may be carved only in part.
    const size_t blocks = std::min(c.bytes / block_bytes_, max_blocks_ - carved_);
    end_ = c.base + blocks * block_bytes_;
}

bool BlockPool::grow() noexcept {
    if (carved_ >= max_blocks_ || chunks_.size() == chunks_.capacity()) return false;
    uint8_t* base = map_chunk(chunk_bytes_);
    if (base == nullptr) return false;
    start_carving({base, chunk_bytes_});
    return true;
}

void BlockPool::release() noexcept {
    for (const Chunk& c : chunks_) munmap(c.base, c.bytes);
    chunks_.clear();
    free_.clear();
    next_ = end_ = prefaulted_begin_ = prefaulted_end_ = nullptr;
    carved_ = mapped_bytes_ = 0;
}

}  // namespace vtap
