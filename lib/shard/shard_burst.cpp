// The shard stage: fan a hashed burst out to the worker rings.
#include <algorithm>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

// Bit i set when dest[i] == w, for the first `chunks` x 16 entries of dest.
uint64_t packets_for(const uint8_t* dest, uint16_t chunks, uint8_t w) noexcept {
    uint64_t mask = 0;
#ifdef __SSE2__
    const __m128i want = _mm_set1_epi8(static_cast<char>(w));
    for (uint16_t c = 0; c < chunks; c++) {
        const __m128i got = _mm_load_si128(reinterpret_cast<const __m128i*>(dest) + c);
        mask |= uint64_t{static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(got, want)))} << (16 * c);
    }
#else
    for (uint16_t i = 0; i < chunks * 16; i++) mask |= uint64_t{dest[i] == w} << i;
#endif
    return mask;
}

// One chunk of at most kMaxBurst packets. Grouping by mask instead of a
// per-worker counter histogram: with few workers, consecutive packets bump
// the same counter and each increment waits on the previous store. Here one
// vector compare per 16 packets finds a worker's packets, which are then
// gathered in burst order, hence every flow's order is kept. The loop runs
// once per worker that has packets, jumping to the next unplaced packet's.
uint16_t shard_chunk(rte_mbuf** pkts, uint16_t n, const ShardTargets& t, RxCounters& ctr) noexcept {
    const uint16_t n_workers = t.n_workers;
    if (n_workers == 1) return hand_off(t.rings[0], pkts, n, ctr);

    static_assert(kMaxBurst <= 64 && kMaxBurst % 16 == 0 && kMaxWorkers < 0xff);
    alignas(16) uint8_t dest[kMaxBurst];
    for (uint16_t i = 0; i < n; i++)
        dest[i] = static_cast<uint8_t>(worker_of(pkt_meta(pkts[i]).flow_hash, n_workers));
    const uint16_t chunks = static_cast<uint16_t>((n + 15) / 16);
    for (uint16_t i = n; i < chunks * 16; i++) dest[i] = 0xff;  // matches no worker

    uint64_t unplaced = n == 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1;
    uint16_t sent = 0;
    rte_mbuf* group[kMaxBurst];
    while (unplaced) {
        const uint8_t w = dest[__builtin_ctzll(unplaced)];
        uint64_t mine = packets_for(dest, chunks, w);
        unplaced &= ~mine;
        uint16_t k = 0;
        for (; mine; mine &= mine - 1) group[k++] = pkts[__builtin_ctzll(mine)];
        sent += hand_off(t.rings[w], group, k, ctr);
    }
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
