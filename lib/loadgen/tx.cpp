#include "loadgen/tx.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_pause.h>

namespace vtap::loadgen {
namespace {

constexpr uint16_t kMaxBurst = 64;

// Fills bursts, waits for their tick, sends them and accounts what the port took.
class Sender {
public:
    explicit Sender(const TxOptions& opt)
        : opt_(opt), burst_(std::min<uint16_t>(std::max<uint16_t>(opt.burst, 1), kMaxBurst)),
          // More than 10 ms behind: restart the schedule rather than burst at line rate.
          pacer_(rte_get_tsc_hz(), opt.rate, rte_rdtsc(), rte_get_tsc_hz() / 100) {
        st_.tsc_hz = rte_get_tsc_hz();
    }

    // count 0: no limit (stream mode sends one pass of its source).
    bool done() const { return opt_.count != 0 && st_.offered + n_ >= opt_.count; }

    void push(rte_mbuf* m, uint32_t flow, bool planted) {
        mbufs_[n_] = m;
        flow_[n_] = flow;
        planted_[n_] = planted;
        len_[n_] = m->pkt_len;
        bytes_ += m->pkt_len;
        if (++n_ == burst_ || done()) flush();  // the last frame of the count leaves at once
    }

    void flush() {
        if (n_ == 0) return;
        uint64_t now = rte_rdtsc();
        if (first_ == 0) first_ = now;
        uint64_t due = pacer_.due(n_, bytes_, now);
        while (now < due) {
            rte_pause();
            now = rte_rdtsc();
        }
        uint16_t sent = rte_eth_tx_burst(opt_.port, opt_.queue, mbufs_.data(), n_);
        while (opt_.retry && sent < n_) sent += rte_eth_tx_burst(opt_.port, opt_.queue, mbufs_.data() + sent, n_ - sent);
        for (uint16_t i = 0; i < sent; ++i) {
            st_.bytes += len_[i];  // a copying PMD has already freed the mbuf
            flows_.insert(flow_[i]);
            st_.planted += planted_[i];
        }
        if (sent < n_) rte_pktmbuf_free_bulk(mbufs_.data() + sent, n_ - sent);
        st_.offered += n_;
        st_.sent += sent;
        st_.rejected += n_ - sent;
        last_ = rte_rdtsc();
        n_ = 0;
        bytes_ = 0;
    }

    TxStats finish() {
        flush();
        st_.flows = flows_.count();
        st_.slips = pacer_.slips();
        st_.tsc_cycles = last_ - first_;
        return st_;
    }

private:
    const TxOptions& opt_;
    uint16_t burst_;
    Pacer pacer_;
    TxStats st_;
    FlowSet flows_;
    std::array<rte_mbuf*, kMaxBurst> mbufs_{};
    std::array<uint32_t, kMaxBurst> flow_{};
    std::array<bool, kMaxBurst> planted_{};
    std::array<uint32_t, kMaxBurst> len_{};
    uint16_t n_ = 0;
    uint64_t bytes_ = 0, first_ = 0, last_ = 0;
};

Result<void> fill(rte_mbuf* m, std::span<const uint8_t> bytes) {
    if (bytes.size() > rte_pktmbuf_tailroom(m))
        return fail("mempool", "a " + std::to_string(bytes.size()) + "-byte frame does not fit the mbuf data room (raise --data-room)");
    rte_memcpy(rte_pktmbuf_mtod(m, uint8_t*), bytes.data(), bytes.size());
    m->data_len = static_cast<uint16_t>(bytes.size());
    m->pkt_len = static_cast<uint32_t>(bytes.size());
    return {};
}

Result<rte_mbuf*> alloc(rte_mempool* pool) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return fail("mempool", "exhausted: more frames in flight than mbufs (raise --mbufs)");
    return m;
}

}  // namespace

Result<TxMode> parse_mode(std::string_view text) {
    if (text == "refcnt") return TxMode::kRefcnt;
    if (text == "copy") return TxMode::kCopy;
    if (text == "stream") return TxMode::kStream;
    return fail("mode", std::string("'") + std::string(text) + "': want refcnt, copy or stream");
}

std::string_view mode_name(TxMode m) {
    switch (m) {
    case TxMode::kRefcnt: return "refcnt";
    case TxMode::kCopy: return "copy";
    case TxMode::kStream: return "stream";
    }
    return "?";
}

Result<TxStats> send_store(const FrameStore& store, const TxOptions& opt) {
    if (store.size() == 0) return fail("source", "produced no frames");
    if (opt.mode == TxMode::kRefcnt) {
        // One mbuf per stored frame, built once; each send takes a reference
        // that the PMD drops when it has copied the frame out.
        std::vector<rte_mbuf*> built(store.size(), nullptr);
        auto release = [&] {
            for (rte_mbuf* m : built)
                if (m) rte_pktmbuf_free(m);
        };
        for (size_t i = 0; i < store.size(); ++i) {
            auto m = alloc(opt.pool);
            if (!m) return release(), std::unexpected(m.error());
            built[i] = *m;
            if (auto ok = fill(*m, store.bytes(i)); !ok) return release(), std::unexpected(ok.error());
        }
        Sender s(opt);  // the schedule starts once the frames are built
        for (size_t i = 0; !s.done(); i = i + 1 == store.size() ? 0 : i + 1) {
            rte_mbuf_refcnt_update(built[i], 1);
            s.push(built[i], store.rec(i).flow, store.rec(i).planted);
        }
        auto st = s.finish();
        release();
        return st;
    }
    Sender s(opt);
    for (size_t i = 0; !s.done(); i = i + 1 == store.size() ? 0 : i + 1) {
        auto m = alloc(opt.pool);
        if (!m) return std::unexpected(m.error());
        if (auto ok = fill(*m, store.bytes(i)); !ok) return rte_pktmbuf_free(*m), std::unexpected(ok.error());
        s.push(*m, store.rec(i).flow, store.rec(i).planted);
    }
    return s.finish();
}

Result<TxStats> send_stream(const SourceConfig& src, const TxOptions& opt) {
    Sender s(opt);
    uint64_t produced = 0;
    for (;;) {
        auto n = produce(src, opt.count ? opt.count - produced : 0, [&](const GenFrame& f) -> Result<void> {
            auto m = alloc(opt.pool);
            if (!m) return std::unexpected(m.error());
            if (auto ok = fill(*m, f.outer); !ok) return rte_pktmbuf_free(*m), ok;
            s.push(*m, f.flow, f.planted);
            return {};
        });
        if (!n) return std::unexpected(n.error());
        if (*n == 0) return fail("source", "produced no frames");
        produced += *n;
        if (opt.count == 0 || produced >= opt.count) break;
    }
    return s.finish();
}

}  // namespace vtap::loadgen
