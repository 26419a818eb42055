// IPv4 and IPv6 fragment reassembly, one instance per worker (hot path, no
// sharing). The shard hash keys fragments on addresses only, so every
// fragment of a datagram reaches the same worker; here they are put back
// together so a signature split across fragments is seen whole, as
// Suricata does.
//
// Storage is fixed at create(): per datagram slot a buffer for the largest
// IP payload plus a bit per byte saying which bytes arrived. Nothing
// allocates per packet. Overlaps keep the bytes that arrived first (the
// "first" policy; Suricata's default "bsd" policy prefers a later fragment
// that starts before an earlier one, which differs only for overlaps).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/pkt_meta.hpp"
#include "core/prefaulted.hpp"
#include "core/result.hpp"
#include "flow/elapsed_clock.hpp"
#include "flow/probe_index.hpp"

namespace vtap::flow {

struct DefragConfig {
    // Defaults of Suricata's defrag section (timeout 60 s); the slot count
    // bounds memory: ~72 KiB per slot.
    static constexpr uint32_t kMaxDatagramsLimit = 4096;
    uint32_t max_datagrams = 256;          // datagrams under reassembly at once, 1..4096
    uint64_t timeout_ns = 60'000'000'000;  // from the first fragment; 1 s..3600 s
};

struct DefragCounters {
    uint64_t fragments = 0;    // defrag.fragments: IPv4 and IPv6 fragments received
    uint64_t reassembled = 0;  // defrag.reassembled: datagrams completed
    uint64_t timeouts = 0;     // defrag.timeouts: incomplete datagrams dropped after timeout_ns
    uint64_t evicted = 0;      // defrag.evicted: oldest incomplete datagram dropped for a new one
    uint64_t invalid = 0;      // defrag.invalid: fragments rejected (see add())
};

// A completed datagram as one contiguous inner frame: the first fragment's
// link header and IPv4 header (MF and offset cleared, total length and
// checksum fixed) followed by the whole payload. For IPv6 (RFC 8200 s4.5):
// the first fragment's link header, IPv6 header and the extension headers
// before its fragment header, the fragment header removed (the header that
// named it now names the fragment header's next header, payload length
// fixed), then the whole fragmentable part. `meta` is the first
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

    // One fragment whose IP header is at frame + m.l3_off, `len` bytes
    // readable: IPv4 (m.l3 == IPv4, kFlagFragment) or IPv6 (a fragment
    // header after the IPv6 header and any hop-by-hop, routing, destination
    // options or AH headers). Returns the reassembled datagram when this
    // fragment completed it, else nullptr. Rejected and counted invalid: a
    // fragment cut short (bytes missing from the copy), an empty one, one
    // ending past 65,535 bytes of IP datagram (IPv4) or of fragmentable
    // part (IPv6), one past a total already fixed by a last fragment, or a
    // second last fragment with another total (the first total stands).
    // IPv6 only: a non-last fragment whose length is not a multiple of 8
    // (RFC 8200 s4.5), no fragment header within 8 extension headers, or
    // headers before the fragment data that do not fit kHeadRoom.
    const Reassembled* add(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns) noexcept;

    // Drops (counted as timeouts) every datagram older than the timeout.
    // Ages are measured on an ElapsedClock of now_ns (see elapsed_clock.hpp).
    void expire(uint64_t now_ns) noexcept;

    const DefragCounters& counters() const noexcept { return ctr_; }
    uint32_t in_progress() const noexcept { return used_; }
    size_t memory_bytes() const noexcept {
        return data_.size() + bits_.size() + slots_.size() * sizeof(Slot) + index_.size() * sizeof(probe::Entry) +
               free_.capacity() * sizeof(uint32_t);
    }

    // Link header (Ethernet + 2 VLAN tags, 22 bytes) + the longest IPv4
    // header (60), or the IPv6 header (40) and up to 194 bytes of extension
    // headers before the fragment header (RFC 8200 wants them all in the
    // first fragment; real ones are a few tens of bytes).
    static constexpr uint32_t kHeadRoom = 256;
    static constexpr uint32_t kMaxIp = 65535;

private:
    static constexpr uint32_t kNoSlot = ~0u;
    struct Key {
        uint8_t src[16] = {}, dst[16] = {};  // inner addresses, network order (IPv4: first 4 bytes)
        uint32_t tap_src = 0;                 // which tapped NIC the copy came from
        uint32_t vni = 0;
        uint32_t id = 0;                      // IPv4: 16 bits; IPv6: the fragment header's 32
        uint8_t proto = 0;                    // IPv4 only (RFC 791); RFC 8200 keys IPv6 without it
        uint8_t version = 0;                  // 4 or 6
        bool operator==(const Key&) const = default;
    };
    // One fragment as add() parsed it, IPv4 or IPv6 alike.
    struct Piece {
        Key key;
        const uint8_t* data = nullptr;  // the fragment's bytes of the payload
        uint32_t off = 0, end = 0;      // their place in the payload
        uint32_t head_len = 0;          // link + IP header bytes before `data`, without a fragment header
        uint16_t nh_off = 0;            // IPv6: frame offset of the Next Header byte naming the fragment header
        uint8_t next = 0;               // IPv6: the fragment header's next header
        bool more = false;
    };
    bool parse_ipv4(const uint8_t* frame, uint32_t len, const PktMeta& m, Piece& p) const noexcept;
    bool parse_ipv6(const uint8_t* frame, uint32_t len, const PktMeta& m, Piece& p) const noexcept;
    struct Slot {
        Key key;
        uint64_t first_ns = 0;   // first fragment's arrival: timeout and eviction age
        uint32_t total = 0;      // payload bytes, known once the last fragment came (0 = unknown)
        uint32_t received = 0;   // distinct payload bytes arrived
        uint32_t max_end = 0;    // highest payload byte end seen
        uint16_t head_len = 0;   // link + IP header bytes of the first fragment (0 = not seen)
        uint16_t nh_off = 0;     // IPv6: first fragment's Next Header byte to rewrite
        uint8_t next = 0;        // IPv6: first fragment's fragment header next header
        bool used = false;
        uint32_t hash = 0;       // of key, as the index holds it
        uint32_t older = kNoSlot, newer = kNoSlot;  // the age list: used slots in the order they were claimed
        PktMeta meta{};          // first fragment's
        uint8_t head[kHeadRoom];
    };
    Defrag() = default;
    uint32_t find_or_claim(const Key& k, uint64_t now_ns) noexcept;
    void release(uint32_t i) noexcept;
    bool reclaim_if_expired(uint32_t i, uint64_t now_ns) noexcept;
    void expire_at(uint64_t now_ns) noexcept;  // now_ns on clock_
    static uint32_t hash(const Key& k) noexcept;
    uint8_t* data(uint32_t i) noexcept { return data_.data() + size_t{i} * (kHeadRoom + kMaxIp); }
    uint8_t* bits(uint32_t i) noexcept { return bits_.data() + size_t{i} * (kMaxIp / 8 + 1); }

    DefragConfig cfg_;
    PrefaultedVector<Slot> slots_;
    PrefaultedVector<uint8_t> data_;  // per slot: kHeadRoom + kMaxIp bytes; the payload starts at kHeadRoom
    PrefaultedVector<uint8_t> bits_;  // per slot: one bit per payload byte
    // Key -> slot (probe_index.hpp, as FlowTable's) over a power of two at
    // least twice max_datagrams: a fragment costs a few probes, not a walk
    // over every slot, so a fragment flood at max_datagrams 4096 stays cheap.
    PrefaultedVector<probe::Entry> index_;
    uint32_t index_mask_ = 0;
    std::vector<uint32_t> free_;             // unused slots
    uint32_t oldest_ = kNoSlot, newest_ = kNoSlot;  // ends of the age list
    ElapsedClock clock_;  // every first_ns is on it: the age list stays in time order
    uint32_t used_ = 0;
    Reassembled out_;
    DefragCounters ctr_;
};

}  // namespace vtap::flow
