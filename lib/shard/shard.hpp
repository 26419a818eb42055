// Symmetric inner-flow hashing and fan-out to worker rings (hot path).
// The hash covers the inner 5-tuple plus inner VLAN IDs, ordered canonically
// so A->B and B->A hash alike, and ignores every outer field: the two
// directions of one conversation may arrive from different tap sources and
// VNIs and must still meet on one worker.
#pragma once

#include <array>
#include <cstdint>

#include "core/counters.hpp"
#include "core/pkt_meta.hpp"

struct rte_mbuf;
struct rte_ring;

namespace vtap::shard {

inline constexpr uint16_t kMaxWorkers = 64;

// The canonical (direction-free) identity of an inner flow. The endpoint that
// sorts lower (address bytes, then port as a number) is `lo`. IPv4 addresses
// occupy the first 4 bytes of the 16-byte fields, the rest zero. Ports are
// set for TCP, UDP and SCTP with a whole L4 header, 0 otherwise (ICMP).
// Fragments other than the first have no ports: every fragment of a datagram
// (first included) is keyed on addresses and protocol only, so they all meet
// on one worker. An IPv6 fragment's proto is IPPROTO_FRAGMENT (44): only the
// first fragment may reveal the upper-layer protocol (RFC 8200 s4.5).
// VLAN IDs are masked to 12 bits. Equal keys always have equal flow_hash.
struct FlowKey {
    uint8_t lo_addr[16];
    uint8_t hi_addr[16];
    uint16_t lo_port;   // network byte order; 0 when the protocol has none
    uint16_t hi_port;
    uint16_t vlan[2];
    uint8_t proto;      // IPPROTO_*
    uint8_t family;     // 4 or 6
    uint8_t pad[2];
    bool operator==(const FlowKey&) const = default;
};
static_assert(sizeof(FlowKey) == 44);

// Equality in six loads a side, inline: the flow table compares a key on
// every lookup, and a memcmp call cost ~66 instructions per packet there.
inline bool same_key(const FlowKey& a, const FlowKey& b) noexcept {
    const auto* pa = reinterpret_cast<const uint8_t*>(&a);
    const auto* pb = reinterpret_cast<const uint8_t*>(&b);
    uint64_t diff = 0;
    for (size_t i = 0; i < 40; i += 8) {
        uint64_t x, y;
        __builtin_memcpy(&x, pa + i, 8);
        __builtin_memcpy(&y, pb + i, 8);
        diff |= x ^ y;
    }
    uint32_t x4, y4;
    __builtin_memcpy(&x4, pa + 40, 4);
    __builtin_memcpy(&y4, pb + 40, 4);
    return (diff | (x4 ^ y4)) == 0;
}

// Builds the canonical key of a decapsulated frame (data = inner Ethernet).
void flow_key(const uint8_t* frame, const PktMeta& m, FlowKey& key) noexcept;

// Symmetric 32-bit hash (CRC32C) of a decapsulated frame; equal for both
// directions, a function of flow_key's result. IPv4 takes a fast path that
// hashes 16 bytes without building the key.
uint32_t flow_hash(const uint8_t* frame, const PktMeta& m) noexcept;

// Sets PktMeta::flow_hash for every packet of the burst.
void hash_burst(rte_mbuf** pkts, uint16_t n) noexcept;

// Maps a hash onto [0, n_workers) by multiply-shift (no division, uniform).
constexpr uint16_t worker_of(uint32_t hash, uint16_t n_workers) noexcept {
    return static_cast<uint16_t>((uint64_t{hash} * n_workers) >> 32);
}

struct ShardTargets {
    uint16_t n_workers = 0;
    std::array<rte_ring*, kMaxWorkers> rings{};
};

// Groups the burst by worker (flow_hash must be set) and makes one
// rte_ring_enqueue_burst per worker that has packets, each worker's packets
// in burst order. Packets a full ring refuses are freed and counted as
// shard.ring_full; the rest are counted in RxCounters::delivered. Targets
// with no worker, more than kMaxWorkers, or a null ring refuse the same way.
// Returns the number enqueued; every mbuf of pkts[] has been handed over or
// freed, so the array's contents are undefined afterwards.
uint16_t shard_burst(rte_mbuf** pkts, uint16_t n, const ShardTargets& t,
                     RxCounters& ctr) noexcept;

}  // namespace vtap::shard
