// IPv4 fragment reassembly, one instance per worker (hot path, no sharing).
// The shard hash keys fragments on addresses only, so every fragment of a
// datagram reaches the same worker; here they are put back together so a
// signature split across fragments is seen whole, as Suricata does.
//
// Storage is fixed at create(): per datagram slot a buffer for the largest
// IPv4 payload plus a bit per byte saying which bytes arrived. Nothing
// allocates per packet. Overlaps keep the bytes that arrived first (the
// "first" policy; Suricata's default "bsd" policy prefers a later fragment
// that starts before an earlier one, which differs only for overlaps).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/pkt_meta.hpp"
#include "core/result.hpp"

namespace vtap::flow {

struct DefragConfig {
    // Defaults of Suricata's defrag section (timeout 60 s); the slot count
    // bounds memory: ~72 KiB per slot.
    static constexpr uint32_t kMaxDatagramsLimit = 4096;
    uint32_t max_datagrams = 256;          // datagrams under reassembly at once, 1..4096
    uint64_t timeout_ns = 60'000'000'000;  // from the first fragment; 1 s..3600 s
};

struct DefragCounters {
    uint64_t fragments = 0;    // defrag.fragments: IPv4 fragments received
    uint64_t reassembled = 0;  // defrag.reassembled: datagrams completed
    uint64_t timeouts = 0;     // defrag.timeouts: incomplete datagrams dropped after timeout_ns
    uint64_t evicted = 0;      // defrag.evicted: oldest incomplete datagram dropped for a new one
    uint64_t invalid = 0;      // defrag.invalid: fragments rejected (see add())
};

// A completed datagram as one contiguous inner frame: the first fragment's
// link header and IPv4 header (MF and offset cleared, total length and
// checksum fixed) followed by the whole payload. `meta` is the first
// fragment's PktMeta (tap fields, VNI) with its offsets still those of the
// fragment: the caller re-parses the frame. Valid until the next add().
struct Reassembled {
    const uint8_t* frame = nullptr;
    uint32_t len = 0;
    PktMeta meta{};
};

class Defrag {
public:
    static Result<std::unique_ptr<Defrag>> create(const DefragConfig& cfg);

    // One IPv4 fragment (m.l3 == IPv4, kFlagFragment) whose IP header is at
    // frame + m.l3_off, `len` bytes readable. Returns the reassembled
    // datagram when this fragment completed it, else nullptr. Rejected and
    // counted invalid: a fragment cut short (bytes missing from the copy),
    // an empty one, one ending past 65,535 bytes of IP datagram, one past a
    // total already fixed by a last fragment, or a second last fragment
    // with another total (the first total stands).
    const Reassembled* add(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns) noexcept;

    // Drops (counted as timeouts) every datagram older than the timeout.
    void expire(uint64_t now_ns) noexcept;

    const DefragCounters& counters() const noexcept { return ctr_; }
    uint32_t in_progress() const noexcept { return used_; }
    size_t memory_bytes() const noexcept { return data_.size() + bits_.size() + slots_.size() * sizeof(Slot); }

    // Link header (Ethernet + 2 VLAN tags) + the longest IPv4 header.
    static constexpr uint32_t kHeadRoom = 96;
    static constexpr uint32_t kMaxIp = 65535;

private:
    static constexpr uint32_t kNoSlot = ~0u;
    struct Key {
        uint32_t src = 0, dst = 0;  // inner addresses, network order
        uint32_t tap_src = 0;       // which tapped NIC the copy came from
        uint32_t vni = 0;
        uint16_t id = 0;
        uint8_t proto = 0;
        bool operator==(const Key&) const = default;
    };
    struct Slot {
        Key key;
        uint64_t first_ns = 0;   // first fragment's arrival: timeout and eviction age
        uint32_t total = 0;      // payload bytes, known once the last fragment came (0 = unknown)
        uint32_t received = 0;   // distinct payload bytes arrived
        uint32_t max_end = 0;    // highest payload byte end seen
        uint16_t head_len = 0;   // link + IP header bytes of the first fragment (0 = not seen)
        bool used = false;
        PktMeta meta{};          // first fragment's
        uint8_t head[kHeadRoom];
    };
    Defrag() = default;
    uint32_t find_or_claim(const Key& k, uint64_t now_ns) noexcept;
    void release(uint32_t i) noexcept;
    uint8_t* data(uint32_t i) noexcept { return data_.data() + size_t{i} * (kHeadRoom + kMaxIp); }
    uint8_t* bits(uint32_t i) noexcept { return bits_.data() + size_t{i} * (kMaxIp / 8 + 1); }

    DefragConfig cfg_;
    std::vector<Slot> slots_;
    std::vector<uint8_t> data_;  // per slot: kHeadRoom + kMaxIp bytes; the payload starts at kHeadRoom
    std::vector<uint8_t> bits_;  // per slot: one bit per payload byte
    uint32_t used_ = 0;
    Reassembled out_;
    DefragCounters ctr_;
};

}  // namespace vtap::flow
