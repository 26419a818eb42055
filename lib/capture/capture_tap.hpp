// Data side of the decapsulated capture (hot path, worker lcores). For each
// inner frame of a burst, capture_burst copies up to snaplen bytes into a
// pcapng Enhanced Packet Block in an mbuf from this worker's capture pool and
// queues it on this worker's ring for PcapngSink. It never blocks and never
// touches the original mbufs: no mbuf or no ring room means a counted skip.
#pragma once

#include <cstdint>

#include "capture/epb.hpp"
#include "core/counters.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace vtap::capture {

// Largest frame kept whole: a 9000-byte outer IP packet carries an inner
// frame of at most 8964 bytes (9000 - IPv4 20 - UDP 8 - VXLAN 8). Longer
// frames (LRO/GSO super-frames) are truncated to this; the EPB still records
// their original length.
inline constexpr uint32_t kMaxSnaplen = 9216;

// Written by one worker lcore; the control thread reads and sums them.
struct alignas(kCacheLine) CaptureCounters {
    Counter queued;      // capture.queued: frames copied and queued for the writer
    Counter pool_empty;  // capture.pool_empty: no capture mbuf free, frame not captured
    Counter ring_full;   // capture.ring_full: writer's ring had no room, frame not captured
};

// One per worker, owned by PcapngSink. That worker is the ring's only
// producer and the pool's only consumer; the sink is the ring's only
// consumer and frees the written copies back. So the ring is SP/SC, the pool
// single-consumer, and the pool has no lcore cache: its free count is exact.
struct CaptureTap {
    rte_ring* ring = nullptr;
    rte_mempool* pool = nullptr;
    uint32_t snaplen = kMaxSnaplen;  // 1..kMaxSnaplen
    TscClock clock{};
};

// Captures pkts[0..n) (any n; the originals are only read). Frames that do
// not fit in the ring are the burst's last ones. Returns the number queued.
uint16_t capture_burst(CaptureTap& tap, rte_mbuf* const* pkts, uint16_t n,
                       CaptureCounters& counters) noexcept;

}  // namespace vtap::capture
