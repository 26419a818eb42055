// FlowTable's private storage types, shared by flow_table.cpp (index, LRU,
// lifecycle) and tcp_stream.cpp (reassembly). Internal to lib/flow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "flow/flow_table.hpp"

namespace vtap::flow {

// One unit of the out-of-order pool: up to kPieceData contiguous stream bytes
// starting at seq. A segment longer than that occupies several pieces.
inline constexpr uint32_t kPieceBytes = 512;
inline constexpr uint32_t kPieceHeader = 16;
inline constexpr uint32_t kPieceData = kPieceBytes - kPieceHeader;

struct detail::Piece {
    uint32_t next;   // next piece of the stream, or of the free list
    uint32_t seq;
    uint16_t len;
    uint8_t pad[6];
    uint8_t data[kPieceData];
};
static_assert(sizeof(detail::Piece) == kPieceBytes);

}  // namespace vtap::flow
