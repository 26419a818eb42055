// Strong ids: a VNI is not a worker index is not a port number.
#pragma once

#include <cstdint>

namespace vtap {

template <class Tag, class Rep>
struct StrongId {
    Rep value{};
    constexpr StrongId() = default;
    constexpr explicit StrongId(Rep v) : value(v) {}
    constexpr auto operator<=>(const StrongId&) const = default;
};

using Vni = StrongId<struct VniTag, uint32_t>;          // 24-bit VXLAN network identifier
using WorkerId = StrongId<struct WorkerTag, uint16_t>;  // index of a worker lcore, 0..workers-1
using PortId = StrongId<struct PortTag, uint16_t>;      // DPDK ethdev port id
using QueueId = StrongId<struct QueueTag, uint16_t>;    // RX queue on a port

}  // namespace vtap
