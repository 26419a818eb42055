// Writes test frames to a classic pcap file (libpcap), for feeding the real
// pipeline through net_pcap, and reads pcap or pcapng files back.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <pcap/pcap.h>

namespace vtap::test {

inline void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames,
                       int link_type = DLT_EN10MB) {
    pcap_t* dead = pcap_open_dead(link_type, 65535);
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    if (!d) {
        std::string err = pcap_geterr(dead);
        pcap_close(dead);
        throw std::runtime_error("cannot write " + path + ": " + err);
    }
    long usec = 0;
    for (const auto& f : frames) {
        pcap_pkthdr h{};
        h.ts.tv_sec = 1700000000 + usec / 1000000;
        h.ts.tv_usec = usec % 1000000;
        usec += 10;
        h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
        pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

// Every frame of a pcap or pcapng file, as captured (caplen bytes).
inline std::vector<std::vector<uint8_t>> read_pcap(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(path.c_str(), err);
    if (!p) throw std::runtime_error("cannot read " + path + ": " + err);
    std::vector<std::vector<uint8_t>> frames;
    pcap_pkthdr* h;
    const u_char* d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) frames.emplace_back(d, d + h->caplen);
    std::string why = rc == PCAP_ERROR ? pcap_geterr(p) : "";
    pcap_close(p);
    if (rc == PCAP_ERROR) throw std::runtime_error(path + ": damaged after frame " + std::to_string(frames.size()) + ": " + why);
    return frames;
}

// Frames in a canonical order (length, then bytes), for comparing captures
// whose order differs across workers. (A comparator rather than vector's
// operator<, which trips a GCC 12 -Wstringop-overread false positive.)
inline void sort_frames(std::vector<std::vector<uint8_t>>& frames) {
    std::sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) {
        if (a.size() != b.size()) return a.size() < b.size();
        return !a.empty() && std::memcmp(a.data(), b.data(), a.size()) < 0;
    });
}

}  // namespace vtap::test
