// Fixed-size blocks for per-flow state that only some flows need (a TCP
// direction's stream window): created on the control path, taken and given
// back on the hot path without locks.
//
// Blocks come from chunks of at least 2 MiB, 2 MiB aligned and offered to
// transparent huge pages (MADV_HUGEPAGE, best effort). The first `prefault`
// blocks are written at create(), so no packet faults on them; when those
// are out the pool maps one more chunk. With huge pages that is one page
// fault per 2 MiB (512 blocks of 4 KiB) where a malloc per block took one
// per 4 KiB, ~10 us each on this workplace's VMs: a worker whose live
// streams pass the prefaulted count no longer halves its rate while they
// climb (bench/README.md, session 9). Without huge pages a chunk faults
// page by page as its blocks are first used, as malloc did.
//
// A given-back block is reused, never unmapped: the pool's memory is its
// peak, bounded by max_blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/result.hpp"

namespace vtap {

class BlockPool {
public:
    static constexpr size_t kChunkBytes = size_t{2} << 20;

    // block_bytes > 0; prefault <= max_blocks.
    static Result<BlockPool> create(size_t block_bytes, size_t max_blocks, size_t prefault);

    BlockPool() = default;
    BlockPool(BlockPool&& o) noexcept { *this = std::move(o); }
    BlockPool& operator=(BlockPool&& o) noexcept;
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;
    ~BlockPool() { release(); }

    struct Taken {
        uint8_t* block = nullptr;  // nullptr: max_blocks are out, or mapping a chunk failed
        bool fresh = false;        // never handed out before and not prefaulted: its first write may fault
    };

    // Hot path. A given-back block first, else the next unused one, else one
    // from a new chunk (an mmap: once per chunk, at a new peak).
    Taken take() noexcept {
        if (!free_.empty()) {
            uint8_t* b = free_.back();
            free_.pop_back();
            return {b, false};
        }
        if (next_ == end_ && !grow()) return {};
        uint8_t* b = next_;
        next_ += block_bytes_;
        ++carved_;
        return {b, b >= prefaulted_end_ || b < prefaulted_begin_};
    }

    // Hot path. `b` came from take() on this pool and is not in use.
    void give(uint8_t* b) noexcept { free_.push_back(b); }  // capacity max_blocks: never reallocates

    size_t block_bytes() const noexcept { return block_bytes_; }
    size_t max_blocks() const noexcept { return max_blocks_; }
    size_t carved() const noexcept { return carved_; }        // blocks handed out at least once
    size_t free_blocks() const noexcept { return free_.size(); }
    size_t chunks() const noexcept { return chunks_.size(); }
    size_t mapped_bytes() const noexcept { return mapped_bytes_; }

private:
    struct Chunk {
        uint8_t* base;
        size_t bytes;
    };
    static uint8_t* map_chunk(size_t bytes) noexcept;
    bool grow() noexcept;
    void start_carving(Chunk c) noexcept;
    void release() noexcept;

    size_t block_bytes_ = 0;
    size_t max_blocks_ = 0;
    size_t chunk_bytes_ = 0;       // kChunkBytes, or one block rounded up to 2 MiB
    size_t carved_ = 0;
    size_t mapped_bytes_ = 0;
    uint8_t* next_ = nullptr;      // next unused block of the newest chunk
    uint8_t* end_ = nullptr;       // past its last whole block
    uint8_t* prefaulted_begin_ = nullptr;
    uint8_t* prefaulted_end_ = nullptr;
    std::vector<uint8_t*> free_;   // capacity max_blocks
    std::vector<Chunk> chunks_;    // capacity: enough for max_blocks
};

}  // namespace vtap
