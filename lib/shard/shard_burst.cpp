// The shard stage: fan a hashed burst out to the worker rings.
#include <algorithm>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "core/burst.hpp"
#include "shard/shard.hpp"

namespace vtap::shard {

namespace {

// Hands pkts[0..n) (all bound for one worker, in burst order) to its ring;
// whatever the ring refuses is freed and counted. Returns the number enqueued.
uint16_t hand_off(rte_ring* ring, rte_mbuf** pkts, uint16_t n, RxCounters& ctr) noexcept {
    const uint16_t sent =
        ring ? static_cast<uint16_t>(rte_ring_enqueue_burst(ring, reinterpret_cast<void* const*>(pkts), n, nullptr))
             : 0;
    if (sent < n) {
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
        ctr.drop(DropReason::kRingFull).add(n - sent);
    }
    return sent;
}

// One chunk of at most kMaxBurst packets. A stable counting sort by worker
// groups the burst in two passes over the stack (no per-worker arrays of
// kMaxBurst slots, ~700 bytes in all) and keeps every worker's packets in
// burst order, hence every flow's.
uint16_t shard_chunk(rte_mbuf** pkts, uint16_t n, const ShardTargets& t, RxCounters& ctr) noexcept {
    const uint16_t n_workers = t.n_workers;
    if (n_workers == 1) return hand_off(t.rings[0], pkts, n, ctr);

    uint8_t dest[kMaxBurst];
    uint16_t begin[kMaxWorkers];
    uint16_t end[kMaxWorkers];
    std::fill_n(end, n_workers, uint16_t{0});
    for (uint16_t i = 0; i < n; i++) {
        dest[i] = static_cast<uint8_t>(worker_of(pkt_meta(pkts[i]).flow_hash, n_workers));
        end[dest[i]]++;
    }
    uint16_t at = 0;
    for (uint16_t w = 0; w < n_workers; w++) {
        begin[w] = at;
        at += end[w];
        end[w] = begin[w];
    }
    rte_mbuf* grouped[kMaxBurst];
    for (uint16_t i = 0; i < n; i++) grouped[end[dest[i]]++] = pkts[i];

    uint16_t sent = 0;
    for (uint16_t w = 0; w < n_workers; w++)
        if (end[w] != begin[w])
            sent += hand_off(t.rings[w], grouped + begin[w], end[w] - begin[w], ctr);
    return sent;
}

}  // namespace

uint16_t shard_burst(rte_mbuf** pkts, uint16_t n, const ShardTargets& t,
                     RxCounters& ctr) noexcept {
    // No worker to take them (a wiring bug in runtime): still free and count
    // every packet rather than index past the rings.
    if (t.n_workers == 0 || t.n_workers > kMaxWorkers) {
        if (n) {
            rte_pktmbuf_free_bulk(pkts, n);
            ctr.drop(DropReason::kRingFull).add(n);
        }
        return 0;
    }
    uint16_t sent = 0;
    for (uint32_t at = 0; at < n; at += kMaxBurst)  // 32-bit: n may be near 65535
        sent += shard_chunk(pkts + at, static_cast<uint16_t>(std::min<uint32_t>(kMaxBurst, n - at)), t, ctr);
    ctr.delivered.add(sent);
    return sent;
}

}  // namespace vtap::shard
