// capture_burst: per-burst copy of inner frames into pcapng EPB mbufs.
#include "capture/capture_tap.hpp"

#include <cstring>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_ring.h>

#include "core/burst.hpp"

namespace vtap::capture {
namespace {

// Lays out one EPB for `m` in `mc`. The capture pool's data room holds
// epb_size(snaplen) bytes after the headroom, so everything fits in this one
// segment by construction.
inline void format_epb(rte_mbuf* mc, const rte_mbuf* m, uint32_t snaplen, uint64_t ns) noexcept {
    const uint32_t orig_len = rte_pktmbuf_pkt_len(m);
    const uint32_t caplen = orig_len < snaplen ? orig_len : snaplen;
    const uint32_t padded = (caplen + 3u) & ~3u;
    const uint32_t total = epb_size(caplen);

    auto* base = rte_pktmbuf_mtod(mc, uint8_t*);
    auto* data = base + sizeof(EpbHeader);
    // Returns a pointer into m when the bytes are contiguous there, else
    // gathers the segments into `data`.
    const void* src = rte_pktmbuf_read(m, 0, caplen, data);
    if (src != data) rte_memcpy(data, src, caplen);
    std::memset(data + caplen, 0, padded - caplen);
    std::memcpy(data + padded, &total, sizeof(total));

    auto* h = reinterpret_cast<EpbHeader*>(base);
    h->block_type = kEpbBlockType;
    h->block_length = total;
    h->interface_id = 0;
    h->timestamp_hi = static_cast<uint32_t>(ns >> 32);
    h->timestamp_lo = static_cast<uint32_t>(ns);
    h->captured_length = caplen;
    h->original_length = orig_len;

    mc->data_len = static_cast<uint16_t>(total);
    mc->pkt_len = total;
    // rte_pcapng_write_packets maps the port to the file's interface block.
    // Offloaded VLAN tags (m->vlan_tci) are deliberately not reinserted as
    // rte_pcapng_copy would: after decap they belong to the outer frame.
    mc->port = m->port;
}

}  // namespace

uint16_t capture_burst(CaptureTap& tap, rte_mbuf* const* pkts, uint16_t n,
                       CaptureCounters& counters) noexcept {
    // This lcore is the ring's only producer: its free count can only grow
    // until our enqueue, so whatever we copy below is guaranteed to fit.
    // Checking first means a full ring costs no copies and no frees.
    const uint32_t room = rte_ring_free_count(tap.ring);
    const uint16_t take = n < room ? n : static_cast<uint16_t>(room);
    if (take < n) counters.ring_full.add(n - take);
    if (take == 0) return 0;

    // One timestamp per burst: frames of a burst arrived together.
    const uint64_t ns = tap.clock.to_ns(rte_rdtsc());

    uint16_t queued = 0;
    for (uint16_t off = 0; off < take; off += kMaxBurst) {
        const uint16_t chunk = take - off < kMaxBurst ? take - off : kMaxBurst;
        rte_mbuf* copies[kMaxBurst];
        uint16_t made = 0;
        for (uint16_t i = 0; i < chunk; ++i) {
            rte_mbuf* mc = rte_pktmbuf_alloc(tap.pool);
            if (mc == nullptr) {
                counters.pool_empty.add();
                continue;
            }
            format_epb(mc, pkts[off + i], tap.snaplen, ns);
            copies[made++] = mc;
        }
        const unsigned sent =
            rte_ring_enqueue_burst(tap.ring, reinterpret_cast<void**>(copies), made, nullptr);
        // Only reachable if another thread also produces on this ring
        // (a contract violation); still, nothing leaks and nothing is silent.
        if (sent < made) {
            rte_pktmbuf_free_bulk(copies + sent, made - sent);
            counters.ring_full.add(made - sent);
        }
        queued += static_cast<uint16_t>(sent);
    }
    counters.queued.add(queued);
    return queued;
}

}  // namespace vtap::capture
