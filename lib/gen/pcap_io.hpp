// Reading and writing classic pcap files through libpcap (cold path).
// The writer is pcap_open_dead(DLT_EN10MB, 65535) + pcap_dump and checks the
// stream for write errors; the reader takes any file libpcap opens (pcap or
// pcapng) but insists on Ethernet link type.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/result.hpp"

struct pcap;
struct pcap_dumper;

namespace vtap::gen {

struct PcapDeleter {
    void operator()(pcap* p) const;
    void operator()(pcap_dumper* d) const;
};

class PcapWriter {
public:
    static Result<PcapWriter> open(const std::string& path);
    // Timestamps are nanoseconds since the epoch, stored with microsecond precision.
    Result<void> write(std::span<const uint8_t> frame, uint64_t ts_ns);
    // Flushes and closes; reports a failed write (disk full, ...) that
    // pcap_dump itself cannot report.
    Result<void> close();

private:
    std::string path_;
    std::unique_ptr<pcap, PcapDeleter> pcap_;
    std::unique_ptr<pcap_dumper, PcapDeleter> dumper_;
};

struct PcapRecord {
    std::span<const uint8_t> data;  // valid until the next call to next()
    uint32_t orig_len = 0;          // length on the wire; > data.size() when truncated
    uint64_t ts_ns = 0;
};

class PcapReader {
public:
    static Result<PcapReader> open(const std::string& path);
    // The next record, std::nullopt at the end of the file.
    Result<std::optional<PcapRecord>> next();

private:
    std::string path_;
    std::unique_ptr<pcap, PcapDeleter> pcap_;
    uint64_t index_ = 0;
};

}  // namespace vtap::gen
