// The pcapng Enhanced Packet Block as vtapd's workers lay it out in an mbuf,
// and the stateless TSC -> wall-clock conversion for its timestamp. Workers
// format EPBs themselves instead of calling rte_pcapng_copy (see README.md:
// in DPDK 22.11 that function converts time through unsynchronised global
// state); the control thread hands the blocks to rte_pcapng_write_packets.
#pragma once

#include <cstdint>

namespace vtap::capture {

// draft-ietf-opsawg-pcapng, section 4.3 "Enhanced Packet Block":
//
//                         1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +---------------------------------------------------------------+
//  0 |                    Block Type = 0x00000006                    |
//    +---------------------------------------------------------------+
//  4 |                      Block Total Length                       |
//    +---------------------------------------------------------------+
//  8 |                         Interface ID                          |
//    +---------------------------------------------------------------+
// 12 |                        Timestamp (High)                       |
//    +---------------------------------------------------------------+
// 16 |                        Timestamp (Low)                        |
//    +---------------------------------------------------------------+
// 20 |                    Captured Packet Length                     |
//    +---------------------------------------------------------------+
// 24 |                    Original Packet Length                     |
//    +---------------------------------------------------------------+
// 28 /                          Packet Data                          /
//    /              variable length, padded to 32 bits               /
//    +---------------------------------------------------------------+
//    /                      Options (none here)                      /
//    +---------------------------------------------------------------+
//    |                      Block Total Length                       |
//    +---------------------------------------------------------------+
//
// Fields are in the byte order of the section header; rte_pcapng_fdopen
// writes that in host order, so these are host-order integers.
struct EpbHeader {
    uint32_t block_type;       // kEpbBlockType
    uint32_t block_length;     // header + padded data + trailer, a multiple of 4
    uint32_t interface_id;     // set by rte_pcapng_write_packets from mbuf->port
    uint32_t timestamp_hi;     // units from the IDB's if_tsresol; DPDK writes 9 (ns)
    uint32_t timestamp_lo;
    uint32_t captured_length;  // packet data bytes present, <= snaplen
    uint32_t original_length;  // the inner frame's full length
};
static_assert(sizeof(EpbHeader) == 28, "EPB fixed part is 28 bytes");

inline constexpr uint32_t kEpbBlockType = 0x00000006;

// Whole block size for `caplen` bytes of packet data.
constexpr uint32_t epb_size(uint32_t caplen) noexcept {
    return static_cast<uint32_t>(sizeof(EpbHeader)) + ((caplen + 3u) & ~3u) + 4u;
}

inline constexpr uint64_t kNsPerSec = 1'000'000'000ull;

// Wall-clock nanoseconds from a TSC reading, relative to one (tsc, realtime)
// pair sampled when the capture opened. Read-only after that, so any number
// of workers may convert concurrently.
struct TscClock {
    uint64_t base_tsc = 0;
    uint64_t base_ns = 0;  // CLOCK_REALTIME at base_tsc, ns since the epoch
    uint64_t hz = 1;       // TSC ticks per second

    uint64_t to_ns(uint64_t tsc) const noexcept {
        // A TSC read on another core may trail base_tsc by a few ticks:
        // clamp at the base rather than wrap the unsigned difference.
        const uint64_t d = tsc > base_tsc ? tsc - base_tsc : 0;
        // Whole seconds first: d * 1e9 alone overflows after ~6 s at 3 GHz.
        return base_ns + (d / hz) * kNsPerSec + (d % hz) * kNsPerSec / hz;
    }

    // Samples the base pair now (control path; needs a running EAL).
    static TscClock sample() noexcept;
};

}  // namespace vtap::capture
