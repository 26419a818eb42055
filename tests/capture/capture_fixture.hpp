// Helpers for the capture tests: a net_null port (pcapng files need one
// interface block), frames with a sequence number and a known byte pattern,
// a scratch directory, and a libpcap reader for the files the sink writes.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

namespace captest {

// The port frames are "received" on. Created once per process.
inline uint16_t test_port() {
    static uint16_t port = [] {
        uint16_t p = UINT16_MAX;
        if (rte_eth_dev_get_port_by_name("net_null_cap0", &p) != 0) {
            if (rte_eal_hotplug_add("vdev", "net_null_cap0", "") != 0 ||
                rte_eth_dev_get_port_by_name("net_null_cap0", &p) != 0)
                return uint16_t{UINT16_MAX};
        }
        return p;
    }();
    return port;
}

inline rte_mempool* frame_pool() {
    // 2048-byte segments: frames longer than that are chained.
    static rte_mempool* mp = rte_pktmbuf_pool_create("captest_frames", 1023, 0, 0,
                                                     RTE_PKTMBUF_HEADROOM + 2048, SOCKET_ID_ANY);
    return mp;
}

// Ethernet header (locally administered MACs, ethertype 0x88B5 "local
// experimental"), then the sequence number big-endian, then a pattern
// derived from it, so any misplaced or mixed-up byte shows.
inline std::vector<uint8_t> frame_bytes(uint32_t seq, uint32_t len) {
    std::vector<uint8_t> f(len);
    const uint8_t hdr[18] = {0x02, 0, 0, 0, 0, 0x02,  0x02, 0, 0, 0, 0, 0x01,  0x88, 0xb5,
                             uint8_t(seq >> 24), uint8_t(seq >> 16), uint8_t(seq >> 8), uint8_t(seq)};
    for (uint32_t i = 0; i < len; ++i)
        f[i] = i < sizeof(hdr) ? hdr[i] : static_cast<uint8_t>(seq * 31u + i * 7u);
    return f;
}

// An mbuf (chained when len > 2048) holding frame_bytes(seq, len).
inline rte_mbuf* make_frame(uint32_t seq, uint32_t len, uint16_t port = test_port()) {
    const std::vector<uint8_t> bytes = frame_bytes(seq, len);
    rte_mbuf* head = nullptr;
    uint32_t off = 0;
    do {
        rte_mbuf* seg = rte_pktmbuf_alloc(frame_pool());
        if (seg == nullptr) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        const uint32_t part = std::min<uint32_t>(len - off, rte_pktmbuf_tailroom(seg));
        std::memcpy(rte_pktmbuf_append(seg, static_cast<uint16_t>(part)), bytes.data() + off, part);
        off += part;
        if (head == nullptr) head = seg;
        else if (rte_pktmbuf_chain(head, seg) != 0) {
            rte_pktmbuf_free(seg);
            rte_pktmbuf_free(head);
            return nullptr;
        }
    } while (off < len);
    head->port = port;
    return head;
}

inline std::vector<uint8_t> mbuf_bytes(const rte_mbuf* m) {
    std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
    const void* p = rte_pktmbuf_read(m, 0, static_cast<uint32_t>(out.size()), out.data());
    if (p != out.data()) std::memcpy(out.data(), p, out.size());
    return out;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "vtap_capture_XXXXXX").string();
        path = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
    }
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

struct ReadPacket {
    uint32_t caplen;
    uint32_t len;
    uint64_t ts_ns;
    std::vector<uint8_t> data;
};

struct ReadBack {
    std::string error;  // empty when the whole file read cleanly
    int linktype = -1;
    std::vector<ReadPacket> pkts;
};

// Reads a pcapng (or pcap) file with libpcap, nanosecond timestamps.
inline ReadBack read_capture(const std::string& path) {
    ReadBack rb;
    char err[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
    if (p == nullptr) {
        rb.error = err;
        return rb;
    }
    rb.linktype = pcap_datalink(p);
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        rb.pkts.push_back({h->caplen, h->len,
                           static_cast<uint64_t>(h->ts.tv_sec) * 1'000'000'000ull +
                               static_cast<uint64_t>(h->ts.tv_usec),
                           std::vector<uint8_t>(data, data + h->caplen)});
    }
    if (rc == -1) rb.error = pcap_geterr(p);
    pcap_close(p);
    return rb;
}

// Sequence number of a frame built by frame_bytes (needs caplen >= 18).
inline uint32_t seq_of(const ReadPacket& p) {
    return uint32_t(p.data[14]) << 24 | uint32_t(p.data[15]) << 16 | uint32_t(p.data[16]) << 8 |
           p.data[17];
}

inline bool exists(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
}

inline uint64_t file_size(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace captest
