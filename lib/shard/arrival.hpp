// Arrival order across the RX -> worker rings. A worker sees its own share
// of an RX lcore's packets in order (its ring is FIFO per producer) but
// nothing of the other workers' shares. Work one worker hands to another (a
// reassembled datagram, runtime/defrag_handoff) must run where the packet
// that produced it would have run: after the receiver's own packets that
// arrived before it. So each RX lcore numbers the packets it delivers, and
// the handed work carries the number of the packet that completed it.
//
// The number lives in the mbuf's RSS hash word: nothing reads the NIC's hash
// past RX (hash_burst sets PktMeta::flow_hash), and the word sits in the
// mbuf's first cache line, which RX writes anyway. The dynfield area has no
// room left: PktMeta and the RX timestamp fill it.
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_mbuf.h>

namespace vtap::shard {

// Every RX lcore index fits the 8 bits an arrival keeps for it.
inline constexpr uint16_t kMaxRxLcores = 256;

struct Arrival {
    uint64_t seq;  // the packet's number on its RX lcore, from 0; 56 bits
    uint8_t rx;    // the RX lcore's index
};

static_assert(sizeof(rte_mbuf::hash) == sizeof(uint64_t));

// Numbers pkts[0..n) next, next + 1, ... as RX lcore `rx`'s and advances
// next. The NIC's RSS flag goes: the word no longer holds its hash.
inline void stamp_arrivals(rte_mbuf** pkts, uint16_t n, uint8_t rx, uint64_t& next) noexcept {
    for (uint16_t i = 0; i < n; i++) {
        const uint64_t word = (next++ << 8) | rx;
        std::memcpy(&pkts[i]->hash, &word, sizeof word);
        pkts[i]->ol_flags &= ~RTE_MBUF_F_RX_RSS_HASH;
    }
}

inline Arrival arrival_of(const rte_mbuf* m) noexcept {
    uint64_t word;
    std::memcpy(&word, &m->hash, sizeof word);
    return {word >> 8, static_cast<uint8_t>(word)};
}

}  // namespace vtap::shard
