// decap_burst: two passes over the burst, one concern each.
//   1. outer:  validate Eth/IPv4/UDP/VXLAN, apply allow-lists, strip (adj)
//   2. inner:  parse inner headers, trim padding, fill PktMeta offsets
// Each pass compacts survivors to the front; dropped mbufs are collected and
// freed with one rte_pktmbuf_free_bulk at the end.
#include "decap/decap.hpp"

#include <cstring>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "core/pkt_meta.hpp"
#include "wire/parse.hpp"

namespace vtap::decap {
namespace {

// How far ahead to prefetch: the next frames' first cache line (the outer
// stack is 50 bytes) is fetched while this one is parsed, as l3fwd does.
constexpr uint16_t kPrefetchAhead = 4;

bool is_exception_candidate(DropReason r) noexcept {
    return r == DropReason::kNotIpv4 || r == DropReason::kNotUdp || r == DropReason::kWrongPort;
}

struct Dropped {
    uint16_t n = 0;
    rte_mbuf* pkts[kMaxBurst];
};

inline void drop(rte_mbuf* m, DropReason why, RxCounters& ctr, Dropped& d, ExceptionHook exc) noexcept {
    ctr.drop(why).add();
    if (exc.sink && is_exception_candidate(why) && !exc.sink->full()) {
        exc.sink->push(m);
        ctr.diverted.add();
        return;
    }
    d.pkts[d.n++] = m;
}

uint16_t outer_stage(rte_mbuf** pkts, uint16_t n, const DecapConfig& cfg, RxCounters& ctr,
                     Dropped& dropped, ExceptionHook exc) noexcept {
    uint16_t kept = 0;
    // A burst usually carries copies from one or a few tapped NICs: remember
    // the last source the allow-list accepted and skip the prefix walk for
    // it. 0.0.0.0 never passes parse_outer as a tap source worth caching,
    // so 0 doubles as "nothing cached".
    uint32_t last_allowed_src = 0;
    for (uint16_t i = 0; i < n; i++) {
        if (i + kPrefetchAhead < n) {
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
            // PktMeta lives in the mbuf's second cache line, which the PMD
            // never touched: fetch it before the write below misses.
            rte_prefetch0(&pkts[i + kPrefetchAhead]->cacheline1);
        }
        rte_mbuf* m = pkts[i];
        wire::OuterInfo o;
        DropReason why;
        if (unlikely(wire::parse_outer(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len,
                                       cfg.udp_port, o, why) == wire::Verdict::kDrop)) {
            drop(m, why, ctr, dropped, exc);
            continue;
        }
        if (o.src != last_allowed_src || o.src == 0) {
            if (unlikely(!cfg.source_allowed(rte_be_to_cpu_32(o.src)))) {
                drop(m, DropReason::kSourceDenied, ctr, dropped, exc);
                continue;
            }
            last_allowed_src = o.src;
        }
        if (unlikely(!cfg.vni_allowed(o.vni))) {
            drop(m, DropReason::kVniDenied, ctr, dropped, exc);
            continue;
        }
        uint8_t flags = 0;
        if (unlikely(o.reserved_set)) {
            if (cfg.reserved_bits == ReservedBits::kStrict) {
                drop(m, DropReason::kVxlanReserved, ctr, dropped, exc);
                continue;
            }
            ctr.reserved_set.add();
            flags = kFlagVxlanReserved;
        }
        if (unlikely(o.inner_len > cfg.max_inner_frame)) {
            drop(m, DropReason::kInnerOversize, ctr, dropped, exc);
            continue;
        }
        // Zero-copy strip: the inner frame starts at the new data offset. The
        // outer frame's trailing bytes past the UDP datagram are trimmed with
        // the inner padding in the next stage.
        rte_pktmbuf_adj(m, static_cast<uint16_t>(o.inner_off));
        PktMeta& meta = pkt_meta(m);
        meta.tap_src = o.src;
        meta.tap_dst = o.dst;
        meta.vni = o.vni;
        meta.flags = flags;
        // Remember the inner length until the inner stage consumes it.
        meta.payload_off = static_cast<uint16_t>(o.inner_len);
        pkts[kept++] = m;
    }
    return kept;
}

// decap.mode ip: gives a bare IP packet the Ethernet header the inner parse
// starts from, in the headroom (no copy of the packet). False: dropped.
inline bool add_ethernet(rte_mbuf* m, RxCounters& ctr, Dropped& dropped) noexcept {
    if (unlikely(m->data_len == 0)) {
        drop(m, DropReason::kInnerTruncated, ctr, dropped, {});
        return false;
    }
    const uint8_t version = rte_pktmbuf_mtod(m, const uint8_t*)[0] >> 4;
    if (unlikely(version != 4 && version != 6)) {
        drop(m, DropReason::kInnerBadIpHeader, ctr, dropped, {});
        return false;
    }
    auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, wire::kEthHdrLen));
    if (unlikely(eth == nullptr)) {
        drop(m, DropReason::kNoHeadroom, ctr, dropped, {});
        return false;
    }
    std::memset(eth, 0, 12);
    eth[12] = version == 4 ? 0x08 : 0x86;
    eth[13] = version == 4 ? 0x00 : 0xdd;
    return true;
}

// decap.mode ethernet and ip: the frame is the traffic. Only the size bound
// of the VXLAN path applies (to the frame with its Ethernet header); the tap
// fields stay zero.
uint16_t plain_stage(rte_mbuf** pkts, uint16_t n, const DecapConfig& cfg, RxCounters& ctr,
                     Dropped& dropped) noexcept {
    uint16_t kept = 0;
    for (uint16_t i = 0; i < n; i++) {
        rte_mbuf* m = pkts[i];
        if (cfg.mode == DecapMode::kIp && !add_ethernet(m, ctr, dropped)) continue;
        if (unlikely(m->pkt_len > cfg.max_inner_frame)) {
            drop(m, DropReason::kInnerOversize, ctr, dropped, {});
            continue;
        }
        PktMeta& meta = pkt_meta(m);
        meta.tap_src = 0;
        meta.tap_dst = 0;
        meta.vni = 0;
        meta.flags = kFlagUntunneled;
        meta.payload_off = static_cast<uint16_t>(m->pkt_len);  // the inner length, as outer_stage leaves it
        ctr.untunneled.add();
        pkts[kept++] = m;
    }
    return kept;
}

uint16_t inner_stage(rte_mbuf** pkts, uint16_t n, RxCounters& ctr, Dropped& dropped) noexcept {
    uint16_t kept = 0;
    for (uint16_t i = 0; i < n; i++) {
        if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + kPrefetchAhead], void*));
        rte_mbuf* m = pkts[i];
        PktMeta& meta = pkt_meta(m);
        const uint32_t inner_len = meta.payload_off;
        const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
        wire::InnerInfo in;
        DropReason why;
        // The fast path inline here, the general walk out of line: most
        // frames never pay for the call or for a drop reason.
        if (!wire::parse_inner_fast(frame, m->data_len, inner_len, in) &&
            unlikely(wire::parse_inner(frame, m->data_len, inner_len, in, why) == wire::Verdict::kDrop)) {
            drop(m, why, ctr, dropped, {});
            continue;
        }
        // Keep exactly the inner IP packet's frame: drops the inner Ethernet
        // padding and anything after the UDP datagram, so downstream stages can
        // take the payload as [payload_off, pkt_len). A trim spanning more than
        // the last segment (rare: multi-segment jumbo with a long tail) is left
        // untrimmed rather than corrupting the chain.
        const uint32_t excess = m->pkt_len - in.end;
        if (excess) rte_pktmbuf_trim(m, static_cast<uint16_t>(excess));
        if (unlikely(in.flags & kFlagPayloadCut)) ctr.payload_cut.add();
        set_inner_meta(meta, in);
        meta.flow_hash = 0;
        pkts[kept++] = m;
    }
    return kept;
}

}  // namespace

uint16_t decap_burst(rte_mbuf** pkts, uint16_t n, const DecapConfig& cfg, RxCounters& ctr,
                     ExceptionHook exc) noexcept {
    Dropped dropped;
    uint16_t kept = cfg.mode != DecapMode::kVxlan ? plain_stage(pkts, n, cfg, ctr, dropped)
                                                  : outer_stage(pkts, n, cfg, ctr, dropped, exc);
    kept = inner_stage(pkts, kept, ctr, dropped);
    if (dropped.n) rte_pktmbuf_free_bulk(dropped.pkts, dropped.n);
    return kept;
}

}  // namespace vtap::decap
