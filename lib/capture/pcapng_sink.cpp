// PcapngSink: pools, rings, file rotation and the rte_pcapng writer.
#include "capture/pcapng_sink.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "core/burst.hpp"

namespace vtap::capture {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

std::atomic<uint32_t> g_instances{0};

// The worker allocates (single consumer); the sink frees (and the worker, in
// its never-expected enqueue-shortfall path), hence multi-producer puts.
constexpr const char* kPoolOps = "ring_mp_sc";

}  // namespace

TscClock TscClock::sample() noexcept {
    TscClock c;
    c.hz = rte_get_tsc_hz();
    if (c.hz == 0) c.hz = 1;
    // Average two TSC reads around the clock read to centre the pair.
    const uint64_t t0 = rte_rdtsc();
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    const uint64_t t1 = rte_rdtsc();
    c.base_tsc = t0 + (t1 - t0) / 2;
    c.base_ns = static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
    return c;
}

PcapngSink::PcapngSink(const CaptureSettings& settings)
    : settings_(settings), instance_(g_instances.fetch_add(1)) {}

std::string PcapngSink::file_path(uint32_t index) const {
    return index == 0 ? settings_.path : settings_.path + "." + std::to_string(index);
}

Result<std::unique_ptr<PcapngSink>> PcapngSink::open(const CaptureSettings& s,
                                                     uint16_t n_workers) {
    const std::string where = "capture " + (s.path.empty() ? std::string("(no path)") : s.path);
    if (s.path.empty()) return fail(where, "no pcapng path given");
    if (s.max_files < 1 || s.max_files > kMaxFiles)
        return fail(where, "max_files " + std::to_string(s.max_files) + " is outside 1.." +
                               std::to_string(kMaxFiles));
    if (s.snaplen > kMaxSnaplen)
        return fail(where, "snaplen " + std::to_string(s.snaplen) +
                               " exceeds the largest supported frame, " +
                               std::to_string(kMaxSnaplen) + " (0 keeps whole frames)");
    if (s.ring_size < 1 || s.ring_size > kMaxRingSize)
        return fail(where, "ring_size " + std::to_string(s.ring_size) + " is outside 1.." +
                               std::to_string(kMaxRingSize));
    if (n_workers < 1 || n_workers > RTE_MAX_LCORE)
        return fail(where, "worker count " + std::to_string(n_workers) + " is outside 1.." +
                               std::to_string(RTE_MAX_LCORE));
    if (rte_eth_dev_count_avail() == 0)
        return fail(where, "no ethdev port exists: a pcapng file needs the interface "
                           "block of the port each frame arrived on");

    std::unique_ptr<PcapngSink> sink(new PcapngSink(s));
    if (sink->settings_.snaplen == 0) sink->settings_.snaplen = kMaxSnaplen;
    if (auto r = sink->create_taps(n_workers); !r) return std::unexpected(r.error());
    if (auto r = sink->start_file(); !r) return std::unexpected(r.error());
    return sink;
}

Result<void> PcapngSink::create_taps(uint16_t n_workers) {
    const TscClock clock = TscClock::sample();
    // The EPB sits at the data start; the headroom stays unused but
    // rte_pktmbuf_alloc always reserves it.
    const uint32_t room = RTE_PKTMBUF_HEADROOM + epb_size(settings_.snaplen);
    taps_.resize(n_workers);
    for (uint16_t w = 0; w < n_workers; ++w) {
        char name[RTE_MEMPOOL_NAMESIZE];
        std::snprintf(name, sizeof(name), "vcap%u_p%u", instance_, w);
        CaptureTap& t = taps_[w];
        t.snaplen = settings_.snaplen;
        t.clock = clock;
        t.pool = rte_pktmbuf_pool_create_by_ops(name, settings_.ring_size, 0, 0,
                                                static_cast<uint16_t>(room), SOCKET_ID_ANY,
                                                kPoolOps);
        if (t.pool == nullptr)
            return fail("capture pool " + std::string(name),
                        "cannot create " + std::to_string(settings_.ring_size) + " mbufs of " +
                            std::to_string(room) + " bytes: " + rte_strerror(rte_errno));
        std::snprintf(name, sizeof(name), "vcap%u_r%u", instance_, w);
        // EXACT_SZ: capacity is ring_size itself, not the next power of two
        // minus one, so "ring full" means exactly ring_size copies waiting.
        t.ring = rte_ring_create(name, settings_.ring_size, SOCKET_ID_ANY,
                                 RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
        if (t.ring == nullptr)
            return fail("capture ring " + std::string(name),
                        "cannot create with " + std::to_string(settings_.ring_size) +
                            " slots: " + rte_strerror(rte_errno));
    }
    return {};
}

Result<void> PcapngSink::start_file() {
    close_file();
    // FILE.<n-2> -> FILE.<n-1> (replacing the oldest), ..., FILE -> FILE.1.
    struct stat st{};
    if (::lstat(settings_.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        return fail("capture " + settings_.path, "exists and is not a regular file");
    for (uint32_t i = settings_.max_files - 1; i >= 1; --i) {
        const std::string from = file_path(i - 1), to = file_path(i);
        if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
            return fail("capture " + from, "cannot rotate to " + to + ": " + errno_text(errno));
    }
    const std::string& path = settings_.path;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail("capture " + path, "cannot create file: " + errno_text(errno));

    utsname u{};
    std::string os = ::uname(&u) == 0 ? std::string(u.sysname) + " " + u.release : "Linux";
    rte_pcapng* out = rte_pcapng_fdopen(fd, os.c_str(), nullptr, "vtapd",
                                        "vtapd: Azure VNet TAP inner frames, VXLAN removed");
    if (out == nullptr) {
        const int e = errno;
        ::close(fd);
        return fail("capture " + path, "cannot write the pcapng header: " + errno_text(e));
    }
    const off_t header = ::lseek(fd, 0, SEEK_CUR);
    if (header < 0) {
        const int e = errno;
        rte_pcapng_close(out);
        return fail("capture " + path, "cannot tell the header size: " + errno_text(e));
    }
    // rte_pcapng_fdopen just wrote one interface block per port in exactly
    // this iteration order; remember which ports the file can name.
    file_ports_.reset();
    bool first = true;
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port) {
        file_ports_.set(port);
        if (first) first_port_ = port;
        first = false;
    }
    if (first) {
        rte_pcapng_close(out);
        return fail("capture " + path, "no ethdev port exists: the file has no interface block");
    }
    out_ = out;
    fd_ = fd;
    file_bytes_ = static_cast<uint64_t>(header);
    file_packets_ = 0;
    counters_.files.add();
    return {};
}

Result<void> PcapngSink::ensure_file() {
    if (out_ != nullptr) return {};
    return start_file();
}

void PcapngSink::close_file() noexcept {
    if (out_ == nullptr) return;
    rte_pcapng_close(out_);  // closes fd_ too
    out_ = nullptr;
    fd_ = -1;
    file_bytes_ = 0;
    file_packets_ = 0;
}

Result<void> PcapngSink::write_run(rte_mbuf** pkts, uint16_t n) {
    if (n == 0) return {};
    Result<void> r;
    if (out_ == nullptr) {
        counters_.lost.add(n);
        r = fail("capture " + settings_.path,
                 closed_ ? "sink is closed" : "no file open after an earlier error");
    } else {
        uint64_t expect = 0;
        for (uint16_t i = 0; i < n; ++i) expect += rte_pktmbuf_data_len(pkts[i]);
        const ssize_t wrote = rte_pcapng_write_packets(out_, pkts, n);
        // On a short write the whole blocks before the tear are readable and
        // count as written; readers stop at the torn one.
        uint16_t whole = 0;
        uint64_t whole_bytes = 0, frame_bytes = 0;
        while (wrote > 0 && whole < n &&
               whole_bytes + rte_pktmbuf_data_len(pkts[whole]) <= static_cast<uint64_t>(wrote)) {
            whole_bytes += rte_pktmbuf_data_len(pkts[whole]);
            frame_bytes += rte_pktmbuf_mtod(pkts[whole], const EpbHeader*)->captured_length;
            ++whole;
        }
        counters_.packets.add(whole);
        counters_.bytes.add(frame_bytes);
        file_bytes_ += whole_bytes;
        file_packets_ += whole;
        if (wrote != static_cast<ssize_t>(expect)) {
            counters_.lost.add(n - whole);
            counters_.write_errors.add();
            r = fail("capture " + settings_.path,
                     wrote < 0 ? "write failed: " + errno_text(rte_errno)
                               : "short write (" + std::to_string(wrote) + " of " +
                                     std::to_string(expect) + " bytes)");
            close_file();  // the next batch starts a new file
        }
    }
    // rte_pcapng_write_packets (22.11) does not free: the pool gets them back here.
    rte_pktmbuf_free_bulk(pkts, n);
    return r;
}

Result<void> PcapngSink::write_batch(rte_mbuf** pkts, uint16_t n) {
    std::optional<Error> err;
    auto note = [&err](Result<void> r) {
        if (!r && !err) err = std::move(r.error());
    };
    for (uint16_t i = 0; i < n; ++i) {
        // rte_pcapng_write_packets indexes its port table with mbuf->port
        // unchecked; a port without an interface block would yield garbage.
        if (pkts[i]->port >= RTE_MAX_ETHPORTS || !file_ports_.test(pkts[i]->port)) {
            pkts[i]->port = first_port_;
            counters_.unknown_port.add();
        }
    }
    if (!closed_) note(ensure_file());
    uint16_t start = 0;
    uint64_t run_bytes = 0;
    for (uint16_t i = 0; i < n; ++i) {
        const uint64_t size = rte_pktmbuf_data_len(pkts[i]);
        // A file always takes at least one frame, so a frame larger than
        // max_bytes gets a file of its own instead of rotating forever.
        const bool has_frames = file_packets_ + (i - start) > 0;
        if (out_ != nullptr && settings_.max_bytes != 0 && has_frames &&
            file_bytes_ + run_bytes + size > settings_.max_bytes) {
            note(write_run(pkts + start, static_cast<uint16_t>(i - start)));
            start = i;
            run_bytes = 0;
            note(start_file());  // also replaces a file a failed write closed
        }
        run_bytes += size;
    }
    note(write_run(pkts + start, static_cast<uint16_t>(n - start)));
    if (err) return std::unexpected(*err);
    return {};
}

Result<uint32_t> PcapngSink::drain() {
    std::optional<Error> err;
    uint64_t before = counters_.packets.get();
    for (CaptureTap& t : taps_) {
        if (t.ring == nullptr) continue;  // open() failed part-way
        // Bounded by what was queued when we looked: a busy worker refilling
        // its ring must not keep the control thread here indefinitely.
        unsigned budget = rte_ring_count(t.ring);
        while (budget > 0) {
            rte_mbuf* pkts[kMaxBurst];
            const unsigned want = budget < kMaxBurst ? budget : kMaxBurst;
            const unsigned got =
                rte_ring_dequeue_burst(t.ring, reinterpret_cast<void**>(pkts), want, nullptr);
            if (got == 0) break;
            budget -= got;
            if (auto r = write_batch(pkts, static_cast<uint16_t>(got)); !r && !err)
                err = r.error();
        }
    }
    if (err) return std::unexpected(*err);
    return static_cast<uint32_t>(counters_.packets.get() - before);
}

Result<void> PcapngSink::close() {
    if (closed_) return {};
    auto r = drain();
    closed_ = true;
    close_file();
    if (!r) return std::unexpected(r.error());
    return {};
}

void PcapngSink::free_ring(rte_ring* ring) noexcept {
    rte_mbuf* pkts[kMaxBurst];
    unsigned got;
    while ((got = rte_ring_dequeue_burst(ring, reinterpret_cast<void**>(pkts), kMaxBurst,
                                         nullptr)) > 0) {
        counters_.lost.add(got);
        rte_pktmbuf_free_bulk(pkts, got);
    }
    rte_ring_free(ring);
}

PcapngSink::~PcapngSink() {
    (void)close();
    // Rings first: their leftover copies go back to the pools before those go.
    for (CaptureTap& t : taps_) {
        if (t.ring != nullptr) free_ring(t.ring);
        if (t.pool != nullptr) rte_mempool_free(t.pool);
        t.ring = nullptr;
        t.pool = nullptr;
    }
}

}  // namespace vtap::capture
