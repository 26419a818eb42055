// A burst: up to kMaxBurst mbuf pointers, the unit every data-path stage
// works on. Stages compact survivors to the front and return the new count.
#pragma once

#include <cstdint>

struct rte_mbuf;

namespace vtap {

inline constexpr uint16_t kMaxBurst = 64;

struct Burst {
    uint16_t n = 0;
    rte_mbuf* pkts[kMaxBurst];

    bool full() const noexcept { return n == kMaxBurst; }
    void push(rte_mbuf* m) noexcept { pkts[n++] = m; }
};

}  // namespace vtap
