#include "gen/pcap_io.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "gen/vtap.hpp"

namespace vtap::gen {

void PcapDeleter::operator()(pcap* p) const { pcap_close(p); }
void PcapDeleter::operator()(pcap_dumper* d) const { pcap_dump_close(d); }

Result<PcapWriter> PcapWriter::open(const std::string& path) {
    PcapWriter w;
    w.path_ = path;
    w.pcap_.reset(pcap_open_dead(DLT_EN10MB, static_cast<int>(kMaxOuterFrame)));
    if (!w.pcap_) return fail(path, "pcap_open_dead failed");
    w.dumper_.reset(pcap_dump_open(w.pcap_.get(), path.c_str()));
    if (!w.dumper_) return fail(path, std::string("cannot create: ") + pcap_geterr(w.pcap_.get()));
    return w;
}

Result<void> PcapWriter::write(std::span<const uint8_t> frame, uint64_t ts_ns) {
    if (!dumper_) return fail(path_, "write after close");
    if (frame.size() > kMaxOuterFrame)
        return fail(path_, std::string("frame of ") + std::to_string(frame.size()) + " bytes exceeds the snap length 65535");
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(ts_ns / 1'000'000'000u);
    h.ts.tv_usec = static_cast<suseconds_t>(ts_ns % 1'000'000'000u / 1000u);
    h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper_.get()), &h, frame.data());
    return {};
}

Result<void> PcapWriter::close() {
    if (!dumper_) return {};
    FILE* f = pcap_dump_file(dumper_.get());
    bool bad = pcap_dump_flush(dumper_.get()) != 0 || std::ferror(f);
    int err = errno;
    // pcap_dump_close's fclose result is not reported; the flush above already
    // pushed every byte to the kernel.
    dumper_.reset();
    pcap_.reset();
    if (bad) return fail(path_, std::string("write failed: ") + std::strerror(err));
    return {};
}

Result<PcapReader> PcapReader::open(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapReader r;
    r.path_ = path;
    r.pcap_.reset(pcap_open_offline(path.c_str(), err));
    if (!r.pcap_) {
        // libpcap often starts its message with the path already.
        std::string_view what = err;
        if (what.starts_with(path + ": ")) what.remove_prefix(path.size() + 2);
        return fail(path, "cannot read: " + std::string(what));
    }
    int dlt = pcap_datalink(r.pcap_.get());
    if (dlt != DLT_EN10MB)
        return fail(path, std::string("link type ") + std::to_string(dlt) + " (" +
                              (pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?") +
                              "), want Ethernet (DLT_EN10MB)");
    return r;
}

Result<std::optional<PcapRecord>> PcapReader::next() {
    pcap_pkthdr* h = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(pcap_.get(), &h, &data);
    if (rc == PCAP_ERROR_BREAK) return std::optional<PcapRecord>{};
    if (rc != 1)
        return fail(path_ + " record " + std::to_string(index_ + 1), std::string("cannot read: ") + pcap_geterr(pcap_.get()));
    ++index_;
    PcapRecord rec;
    rec.data = {data, h->caplen};
    rec.orig_len = h->len;
    rec.ts_ns = static_cast<uint64_t>(h->ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(h->ts.tv_usec) * 1000u;
    return rec;
}

}  // namespace vtap::gen
