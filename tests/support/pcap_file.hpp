// Writes test frames to a classic pcap file (libpcap), for feeding the real
// pipeline through net_pcap.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <pcap/pcap.h>

namespace vtap::test {

inline void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
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

}  // namespace vtap::test
