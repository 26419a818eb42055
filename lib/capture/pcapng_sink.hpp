// Control side of the decapsulated capture (cold path, control thread only).
// PcapngSink owns one CaptureTap (pool + SP/SC ring) per worker, drains the
// rings into a pcapng file with rte_pcapng_write_packets, and rotates
// FILE -> FILE.1 -> ... so that at most max_files files of at most max_bytes
// each exist. Not thread-safe: one control thread calls everything here.
#pragma once

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_config.h>

#include "capture/capture_tap.hpp"
#include "core/counters.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"

struct rte_pcapng;

namespace vtap::capture {

// Own settings (mirrors config::CaptureConfig, so capture does not depend on config).
struct CaptureSettings {
    std::string path;                  // FILE; older files are FILE.1 (newest) .. FILE.<max_files-1>
    uint64_t max_bytes = 64ull << 20;  // start a new file before one would exceed this; 0 = no limit
    uint32_t max_files = 4;            // files kept, the one being written included; >= 1
    uint32_t snaplen = 0;              // bytes kept per frame; 0 = whole frame (up to kMaxSnaplen)
    uint32_t ring_size = 1024;         // copies in flight per worker: ring capacity = pool size
};

inline constexpr uint32_t kMaxFiles = 1000;
inline constexpr uint32_t kMaxRingSize = 1u << 20;

// Written by the control thread only.
struct SinkCounters {
    Counter packets;       // capture.packets: frames written to a file
    Counter bytes;         // capture.bytes: captured frame bytes written (after snaplen)
    Counter files;         // capture.files: files started (the first one included)
    Counter write_errors;  // capture.write_errors: failed or short writes
    Counter lost;          // capture.lost: queued frames not written (write error, no file)
    Counter unknown_port;  // capture.unknown_port: frame from a port without an interface block, written as the first port's
};

class PcapngSink {
public:
    // Validates the settings, creates the pools and rings and the first file.
    // An existing FILE is rotated to FILE.1 (replaced when max_files is 1). Needs a
    // running EAL and at least one ethdev port: rte_pcapng_fdopen writes one
    // interface block per port, and every frame is filed under its rx port.
    static Result<std::unique_ptr<PcapngSink>> open(const CaptureSettings& settings,
                                                    uint16_t n_workers);

    // Drains what is still queued, closes the file, frees pools and rings.
    // Workers must have stopped calling capture_burst on these taps.
    ~PcapngSink();
    PcapngSink(const PcapngSink&) = delete;
    PcapngSink& operator=(const PcapngSink&) = delete;

    // The tap worker `w` passes to capture_burst; valid until destruction.
    CaptureTap& tap(WorkerId w) noexcept { return taps_[w.value]; }
    uint16_t n_workers() const noexcept { return static_cast<uint16_t>(taps_.size()); }

    // Writes everything queued on every worker ring when the call started,
    // rotating as needed. Returns the number of frames written, or the first
    // error met (the other rings are still drained; unwritable frames are
    // freed and counted as capture.lost). After a write error the next write
    // starts a new file.
    Result<uint32_t> drain();

    // Drains, then closes the current file. Idempotent; nothing is written
    // afterwards (frames queued later are freed as capture.lost).
    Result<void> close();

    const SinkCounters& counters() const noexcept { return counters_; }
    const CaptureSettings& settings() const noexcept { return settings_; }
    // FILE for index 0, FILE.<i> otherwise.
    std::string file_path(uint32_t index) const;

private:
    explicit PcapngSink(const CaptureSettings& settings);

    Result<void> create_taps(uint16_t n_workers);
    Result<void> start_file();     // shift FILE.* and open a fresh FILE
    Result<void> ensure_file();    // start_file() if none is open
    void close_file() noexcept;
    Result<void> write_run(rte_mbuf** pkts, uint16_t n);  // frees the n mbufs
    Result<void> write_batch(rte_mbuf** pkts, uint16_t n);
    void free_ring(rte_ring* ring) noexcept;

    CaptureSettings settings_;
    uint32_t instance_;                  // keeps DPDK object names unique per sink
    std::vector<CaptureTap> taps_;       // never resized after open: workers hold references
    rte_pcapng* out_ = nullptr;
    int fd_ = -1;                        // owned by out_ (rte_pcapng_close closes it)
    uint64_t file_bytes_ = 0;
    uint64_t file_packets_ = 0;
    std::bitset<RTE_MAX_ETHPORTS> file_ports_;  // ports with an interface block in this file
    uint16_t first_port_ = 0;
    bool closed_ = false;
    SinkCounters counters_;
};

}  // namespace vtap::capture
