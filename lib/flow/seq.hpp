// TCP sequence-number arithmetic, mod 2^32 (RFC 9293 s3.4): a is "before" b
// when the signed 32-bit distance b - a is positive. Valid for numbers less
// than 2^31 apart, which the reassembler guarantees by refusing anything
// further ahead than FlowConfig::max_seq_ahead.
#pragma once

#include <cstdint>

namespace vtap::flow {

// Signed distance from b to a: > 0 when a is after b.
constexpr int32_t seq_diff(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b); }
constexpr bool seq_lt(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) < 0; }
constexpr bool seq_leq(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) <= 0; }
constexpr bool seq_gt(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) > 0; }
constexpr bool seq_geq(uint32_t a, uint32_t b) noexcept { return seq_diff(a, b) >= 0; }

}  // namespace vtap::flow
