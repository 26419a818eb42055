// Why a packet left the data path, as an enum with a constexpr name table
// generated from drop_reasons.def. Counters are indexed by DropReason; the
// names are the public counter names.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vtap {

enum class DropReason : uint8_t {
#define VTAP_DROP(id, name) id,
#include "drop_reasons.def"
#undef VTAP_DROP
    kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonNames = {
#define VTAP_DROP(id, name) name,
#include "drop_reasons.def"
#undef VTAP_DROP
};

constexpr std::string_view drop_reason_name(DropReason r) noexcept {
    return kDropReasonNames[static_cast<size_t>(r)];
}

constexpr size_t index(DropReason r) noexcept { return static_cast<size_t>(r); }

}  // namespace vtap
