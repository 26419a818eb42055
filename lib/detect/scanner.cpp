// Scanner (hot path) and its construction (cold, in create()).
#include "detect/scanner.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "detect/header.hpp"

namespace vtap::detect {

namespace {

// Suricata's default pcre match limits (detect.pcre.match-limit / -recursion).
constexpr uint32_t kPcreMatchLimit = 3500;
constexpr uint32_t kPcreDepthLimit = 1500;

size_t stream_slot(GroupId g) { return g == GroupId::kStreamToClient ? 1 : 0; }

GroupId packet_group(const PacketInfo& info) {
    switch (info.proto) {
        case kProtoTcp: return info.stream_added ? GroupId::kTcpPacket : GroupId::kTcpNoStream;
        case kProtoUdp: return GroupId::kUdp;
        case kProtoIcmp:
        case kProtoIcmpV6: return GroupId::kIcmp;
        default: return GroupId::kOther;
    }
}

// A window is a ring of `cap` bytes holding stream byte x at x % cap.
// Copies stream bytes [from, from + n) out of it (n <= cap).
void ring_read(const uint8_t* ring, uint32_t cap, uint64_t from, uint32_t n, uint8_t* out) noexcept {
    const auto at = static_cast<uint32_t>(from % cap);
    const uint32_t head = std::min(n, cap - at);
    std::memcpy(out, ring + at, head);
    std::memcpy(out + head, ring, n - head);
}

// Writes `in` as stream bytes [from, from + in.size()): only the last `cap`
// of them stay, each at its position (no byte of the ring moves).
void ring_write(uint8_t* ring, uint32_t cap, uint64_t from, std::span<const uint8_t> in) noexcept {
    const size_t n = std::min<size_t>(in.size(), cap);
    const uint8_t* src = in.data() + in.size() - n;
    const auto at = static_cast<uint32_t>((from + in.size() - n) % cap);
    const size_t head = std::min<size_t>(n, cap - at);
    std::memcpy(ring + at, src, head);
    std::memcpy(ring, src + head, n - head);
}

}  // namespace

Result<Scanner> Scanner::create(std::shared_ptr<const Database> db, const ScannerOptions& opts) {
    if (!db) return fail("detect", "scanner needs a database");
    if (opts.window_bytes == 0) return fail("detect", "window_bytes must be > 0");
    Scanner s;
    s.db_ = std::move(db);
    s.opts_ = opts;
    for (size_t g = 0; g < kGroupCount; ++g) {
        const Group& grp = s.db_->group(static_cast<GroupId>(g));
        if (grp.db && hs_alloc_scratch(grp.db.get(), &s.scratch_) != HS_SUCCESS)
            return fail(std::string("detect group ") + group_name(grp.id), "hs_alloc_scratch failed");
    }
    s.inspect_.match_data = pcre2_match_data_create(32, nullptr);
    s.inspect_.match_context = pcre2_match_context_create(nullptr);
    if (s.inspect_.match_data == nullptr || s.inspect_.match_context == nullptr) return fail("detect", "pcre2 allocation failed");
    pcre2_set_match_limit(s.inspect_.match_context, kPcreMatchLimit);
    pcre2_set_depth_limit(s.inspect_.match_context, kPcreDepthLimit);
    const size_t n = s.db_->rules().size();
    s.seen_.assign(n, 0);
    s.slot_.assign(n, 0);
    s.cand_.assign(n, 0);
    s.cand_end_.assign(n, 0);
    s.confirm_.assign(static_cast<size_t>(opts.window_bytes) + opts.max_chunk, 0);
    // The pool's list: 8 bytes per stream, reserved (pages untouched until used).
    const uint32_t pool = opts.stream_pool ? opts.stream_pool : opts.max_streams;
    for (auto& v : s.free_streams_) v.reserve(pool);
    if (opts.stream_prealloc > pool)
        return fail("detect", "stream_prealloc (" + std::to_string(opts.stream_prealloc) + ") exceeds stream_pool (" +
                                  std::to_string(pool) + ")");
    if (opts.stream_prealloc > opts.max_streams)
        return fail("detect", "stream_prealloc (" + std::to_string(opts.stream_prealloc) + ") exceeds max_streams (" +
                                  std::to_string(opts.max_streams) + ")");
    for (GroupId id : {GroupId::kStreamToServer, GroupId::kStreamToClient}) {
        const Group& g = s.db_->group(id);
        if (!g.db) continue;
        auto& pool = s.free_streams_[stream_slot(id)];
        for (uint32_t i = 0; i < opts.stream_prealloc; ++i) {
            hs_stream_t* st = nullptr;
            if (hs_open_stream(g.db.get(), 0, &st) != HS_SUCCESS)
                return fail(std::string("detect group ") + group_name(id), "hs_open_stream failed preallocating " +
                                                                               std::to_string(opts.stream_prealloc) + " streams");
            pool.push_back(st);
        }
    }
    // Window classes: kMinWindow, doubling, then window_bytes itself.
    for (uint32_t cap = std::min(kMinWindow, opts.window_bytes);; cap = std::min(cap * 2, opts.window_bytes)) {
        if (s.nclasses_ == kMaxWindowClasses)
            return fail("detect", "window_bytes (" + std::to_string(opts.window_bytes) + ") is too large");
        s.caps_[s.nclasses_++] = cap;
        if (cap == opts.window_bytes) break;
    }
    // Every class prefaulted for stream_prealloc streams: that many can be
    // live, each in any class, without a fresh page.
    for (uint32_t k = 0; k < s.nclasses_; ++k) {
        auto pool = BlockPool::create(s.caps_[k], opts.max_streams, opts.stream_prealloc);
        if (!pool) return fail("detect stream windows of " + std::to_string(s.caps_[k]) + " bytes", pool.error().to_string());
        s.windows_[k] = std::move(*pool);
    }
    return s;
}

Scanner::Scanner(Scanner&& o) noexcept { *this = std::move(o); }

Scanner& Scanner::operator=(Scanner&& o) noexcept {
    if (this == &o) return *this;
    release();
    db_ = std::move(o.db_);
    opts_ = o.opts_;
    scratch_ = std::exchange(o.scratch_, nullptr);
    inspect_ = std::exchange(o.inspect_, InspectScratch{});
    epoch_ = o.epoch_;
    seen_ = std::move(o.seen_);
    slot_ = std::move(o.slot_);
    cand_ = std::move(o.cand_);
    cand_end_ = std::move(o.cand_end_);
    confirm_ = std::move(o.confirm_);
    for (size_t i = 0; i < 2; ++i) free_streams_[i] = std::exchange(o.free_streams_[i], {});
    for (uint32_t k = 0; k < kMaxWindowClasses; ++k) {
        windows_[k] = std::move(o.windows_[k]);
        caps_[k] = o.caps_[k];
    }
    nclasses_ = std::exchange(o.nclasses_, 0);
    counters_ = o.counters_;
    return *this;
}

Scanner::~Scanner() { release(); }

void Scanner::release() noexcept {
    for (auto& v : free_streams_) {
        for (hs_stream_t* s : v) hs_close_stream(s, nullptr, nullptr, nullptr);
        v.clear();
    }
    for (auto& w : windows_) w = {};
    if (scratch_ != nullptr) hs_free_scratch(scratch_);
    scratch_ = nullptr;
    if (inspect_.match_data != nullptr) pcre2_match_data_free(inspect_.match_data);
    if (inspect_.match_context != nullptr) pcre2_match_context_free(inspect_.match_context);
    inspect_ = {};
}

size_t Scanner::stream_state_bytes() const noexcept {
    size_t hs = 0;
    for (GroupId g : {GroupId::kStreamToServer, GroupId::kStreamToClient})
        hs = std::max(hs, db_->stats().groups[static_cast<size_t>(g)].stream_state_bytes);
    return hs;
}

size_t Scanner::stream_bytes() const noexcept { return stream_state_bytes() + opts_.window_bytes; }

uint64_t Scanner::window_bytes_in_use() const noexcept {
    // Blocks out of a pool: those ever handed out, less those given back.
    uint64_t n = 0;
    for (uint32_t k = 0; k < nclasses_; ++k)
        n += uint64_t{caps_[k]} * (windows_[k].carved() - windows_[k].free_blocks());
    return n;
}

size_t Scanner::window_mapped_bytes() const noexcept {
    size_t n = 0;
    for (uint32_t k = 0; k < nclasses_; ++k) n += windows_[k].mapped_bytes();
    return n;
}

void Scanner::begin_scan(const Group& g) noexcept {
    group_ = &g;
    ncand_ = 0;
    if (++epoch_ == 0) {  // wrapped: forget every old epoch
        std::fill(seen_.begin(), seen_.end(), 0);
        epoch_ = 1;
    }
}

void Scanner::nominate(uint32_t rule, uint64_t end) noexcept {
    if (seen_[rule] == epoch_) {
        cand_end_[slot_[rule]] = std::max(cand_end_[slot_[rule]], end);
        return;
    }
    seen_[rule] = epoch_;
    slot_[rule] = ncand_;
    cand_[ncand_] = rule;
    cand_end_[ncand_] = end;
    ++ncand_;
}

void Scanner::nominate_pattern(unsigned id, uint64_t end) noexcept {
    const Group& g = *group_;
    for (uint32_t k = g.pattern_first[id]; k < g.pattern_first[id + 1]; ++k) nominate(g.pattern_rules[k], end);
}

// Rules without an anchor: the address-keyed ones only when the packet
// carries one of their addresses, the rest always.
void Scanner::nominate_unanchored(const Group& g, const PacketInfo& info) noexcept {
    for (uint32_t r : g.always) nominate(r, 0);
    if (g.addr_index.empty() && g.always_v6.empty()) return;
    if (g.addr_index.has_ports()) {
        for (uint32_t r : g.addr_index.lookup_port(info.src_port)) nominate(r, 0);
        for (uint32_t r : g.addr_index.lookup_port(info.dst_port)) nominate(r, 0);
    }
    if (info.src.family == 4) {
        for (uint32_t r : g.addr_index.lookup(AddrIndex::v4_key(info.src.bytes.data()))) nominate(r, 0);
        for (uint32_t r : g.addr_index.lookup(AddrIndex::v4_key(info.dst.bytes.data()))) nominate(r, 0);
    } else {
        for (uint32_t r : g.addr_index.lookup_v6(AddrIndex::v6_key(info.src.bytes.data()))) nominate(r, 0);
        for (uint32_t r : g.addr_index.lookup_v6(AddrIndex::v6_key(info.dst.bytes.data()))) nominate(r, 0);
        for (uint32_t r : g.always_v6) nominate(r, 0);
    }
}

// Readers keyed by a flowbit, once the scan's setters have run (pass 1).
void Scanner::nominate_by_flowbits(const Group& g, const PacketInfo& info) noexcept {
    if (g.flowbit_rules.empty() || info.flowbits == nullptr) return;
    const uint32_t before = ncand_;
    const FlowBits& bits = *info.flowbits;
    for (uint32_t i = 0; i < bits.n; ++i) {
        const uint32_t id = bits.ids[i];
        if (id + 1 >= g.flowbit_first.size()) continue;
        for (uint32_t k = g.flowbit_first[id]; k < g.flowbit_first[id + 1]; ++k) nominate(g.flowbit_rules[k], 0);
    }
    counters_.candidates += ncand_ - before;
}

int Scanner::on_match(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    static_cast<Scanner*>(ctx)->nominate_pattern(id, to);
    return 0;  // keep scanning
}

void Scanner::push(uint32_t rule, bool from_stream, const PacketInfo& info, MatchSink& sink) noexcept {
    const CompiledRule& r = db_->rules()[rule];
    ++counters_.matches;
    // Post-match: flowbits change whether or not the rule alerts.
    if (!r.flowbit_actions.empty()) counters_.flowbits_full += apply_flowbit_actions(r.flowbit_actions, info.flowbits);
    if (r.noalert) return;  // matched, but says nothing
    if (!sink.push(Match{rule, r.sid, r.gid, r.rev, from_stream})) ++counters_.sink_full;
}

// Hyperscan + the unanchored rules of the packet's group; 0 when the group's
// port gate refuses the packet (then nothing is a candidate).
uint32_t Scanner::scan_packet_candidates(const Group& g, const PacketInfo& info, std::span<const uint8_t> payload) noexcept {
    ++counters_.packet_scans;
    if (!g.gate(info.src_port, info.dst_port)) {
        ++counters_.gated;
        return 0;
    }
    begin_scan(g);
    if (g.db && !payload.empty()) {
        counters_.bytes += payload.size();
        if (hs_scan(g.db.get(), reinterpret_cast<const char*>(payload.data()), static_cast<unsigned>(payload.size()), 0,
                    scratch_, &Scanner::on_match, this) != HS_SUCCESS)
            ++counters_.hs_errors;
    }
    nominate_unanchored(g, info);
    counters_.candidates += ncand_;
    return 1;
}

// Pass 0 confirms the candidates that test no flowbit; pass 1 the readers
// (plus those keyed by the flow's bits), so they see what pass 0 set
// (Suricata orders flowbit setters before readers).
uint32_t Scanner::confirm_packet(uint32_t pass, const Group& g, const PacketInfo& info, std::span<const uint8_t> payload,
                                 MatchSink& sink) noexcept {
    uint32_t fired = 0;
    const InspectInput in{payload, 0, 0};
    if (pass == 1) nominate_by_flowbits(g, info);
    for (uint32_t i = 0; i < ncand_; ++i) {
        const CompiledRule& rule = db_->rules()[cand_[i]];
        if (rule.flowbit_checks.empty() == (pass == 1)) continue;
        if (!header_matches(rule, info, true)) continue;
        ++counters_.header_passed;
        if (pass == 1 && !flowbit_checks_pass(rule.flowbit_checks, info.flowbits)) continue;
        const bool conclusive = rule.anchor_conclusive && cand_end_[i] != 0;
        if (!conclusive && !inspect_payload(rule, in, inspect_)) continue;
        push(cand_[i], false, info, sink);
        ++fired;
    }
    return fired;
}

uint32_t Scanner::scan_packet(const PacketInfo& info, std::span<const uint8_t> payload, MatchSink& sink) noexcept {
    const Group& g = db_->group(packet_group(info));
    if (!scan_packet_candidates(g, info, payload)) return 0;
    uint32_t fired = 0;
    for (uint32_t pass = 0; pass < confirm_passes(); ++pass) fired += confirm_packet(pass, g, info, payload, sink);
    return fired;
}

uint32_t Scanner::begin_packet(const PacketInfo& info, std::span<const uint8_t> payload, MatchSink& sink) noexcept {
    kept_group_ = nullptr;
    nkept_ = 0;
    const Group& g = db_->group(packet_group(info));
    if (!scan_packet_candidates(g, info, payload)) return 0;
    uint32_t fired = confirm_packet(0, g, info, payload, sink);
    if (confirm_passes() == 1) return fired;
    // Keep the anchored readers; nominate_by_flowbits adds the rest later.
    for (uint32_t i = 0; i < ncand_; ++i) {
        if (db_->rules()[cand_[i]].flowbit_checks.empty()) continue;
        if (nkept_ == kMaxKeptReaders) {  // too many to keep: confirm them now, as scan_packet does
            ++counters_.readers_not_kept;
            nkept_ = 0;
            return fired + confirm_packet(1, g, info, payload, sink);
        }
        kept_[nkept_++] = {cand_[i], cand_end_[i]};
    }
    kept_group_ = &g;
    return fired;
}

uint32_t Scanner::finish_packet(const PacketInfo& info, std::span<const uint8_t> payload, MatchSink& sink) noexcept {
    if (kept_group_ == nullptr) return 0;
    const Group& g = *kept_group_;
    kept_group_ = nullptr;
    begin_scan(g);  // the stream scans in between reused the candidate arrays
    for (uint32_t i = 0; i < nkept_; ++i) nominate(kept_[i].rule, kept_[i].end);
    nkept_ = 0;
    return confirm_packet(1, g, info, payload, sink);
}

bool Scanner::start_stream(StreamHandle& h, const PacketInfo& info) noexcept {
    h.group = info.to_client ? GroupId::kStreamToClient : GroupId::kStreamToServer;
    const Group& g = db_->group(h.group);
    if ((!g.db && g.always.empty()) || !g.gate(info.src_port, info.dst_port)) {
        h.state = StreamHandle::State::kIdle;
        ++counters_.gated;
        return false;
    }
    auto& pool = free_streams_[stream_slot(h.group)];
    bool allocated = false;  // beyond the preallocated streams: malloc or a new chunk on the hot path
    if (g.db) {
        if (!pool.empty()) {
            h.hs = pool.back();
            pool.pop_back();
        } else {
            allocated = true;
            if (hs_open_stream(g.db.get(), 0, &h.hs) != HS_SUCCESS) h.hs = nullptr;
        }
    }
    const BlockPool::Taken w = windows_[0].take();
    h.window = w.block;
    h.window_class = 0;
    allocated |= w.fresh;
    if (allocated) ++counters_.stream_allocs;
    if ((g.db && h.hs == nullptr) || h.window == nullptr) {
        close_stream(h);
        h.state = StreamHandle::State::kFailed;
        ++counters_.stream_open_failed;
        return false;
    }
    h.state = StreamHandle::State::kActive;
    ++counters_.streams_opened;
    counters_.streams_peak = std::max(counters_.streams_peak, counters_.streams_opened - counters_.streams_closed);
    return true;
}

void Scanner::close_stream(StreamHandle& h) noexcept {
    if (h.state == StreamHandle::State::kActive) ++counters_.streams_closed;
    if (h.hs != nullptr) {
        auto& pool = free_streams_[stream_slot(h.group)];
        if (pool.size() < pool.capacity() && hs_reset_stream(h.hs, 0, nullptr, nullptr, nullptr) == HS_SUCCESS)
            pool.push_back(h.hs);
        else
            hs_close_stream(h.hs, nullptr, nullptr, nullptr);
    }
    if (h.window != nullptr) windows_[h.window_class].give(h.window);
    h = StreamHandle{};
}

// The stream reaches `need` bytes: move its window to the smallest class
// that holds min(need, window_bytes). When none is free (max_streams out)
// the stream keeps its window, which then holds fewer bytes than
// window_bytes (counted).
void Scanner::grow_window(StreamHandle& h, uint64_t need) noexcept {
    auto k = static_cast<uint8_t>(h.window_class + 1);
    while (k + 1u < nclasses_ && caps_[k] < need) ++k;
    const BlockPool::Taken w = windows_[k].take();
    if (w.block == nullptr) {
        ++counters_.window_grow_failed;
        return;
    }
    if (w.fresh) ++counters_.stream_allocs;
    ++counters_.window_grows;
    // Through the confirmation buffer (free again by now): the old ring may
    // have wrapped, and stream byte x moves from x % old to x % new.
    const uint64_t start = h.offset - h.window_len;
    ring_read(h.window, caps_[h.window_class], start, h.window_len, confirm_.data());
    ring_write(w.block, caps_[k], start, std::span<const uint8_t>(confirm_.data(), h.window_len));
    windows_[h.window_class].give(h.window);
    h.window = w.block;
    h.window_class = k;
}

// Every pending anchor ends at or before chunk_end (the end of the chunk
// being scanned) and inside the window (scan_stream dropped the rest).
void Scanner::remember(StreamHandle& h, uint32_t rule, uint64_t anchor_end, uint64_t chunk_end) noexcept {
    const auto lo = static_cast<uint32_t>(anchor_end);
    for (uint32_t i = 0; i < h.npending; ++i) {
        if (h.pending[i].rule == rule) {
            if (anchor_end > h.pending[i].anchor_end(chunk_end)) h.pending[i].anchor_end_lo = lo;
            return;
        }
    }
    if (h.npending == StreamHandle::kMaxPending) {
        uint32_t oldest = 0;
        for (uint32_t i = 1; i < h.npending; ++i)
            if (h.pending[i].anchor_end(chunk_end) < h.pending[oldest].anchor_end(chunk_end)) oldest = i;
        ++counters_.pending_evicted;
        h.pending[oldest] = {rule, lo};
        return;
    }
    h.pending[h.npending++] = {rule, lo};
}

void Scanner::forget(StreamHandle& h, uint32_t rule) noexcept {
    for (uint32_t i = 0; i < h.npending; ++i)
        if (h.pending[i].rule == rule) {
            h.pending[i] = h.pending[--h.npending];
            return;
        }
}

uint32_t Scanner::scan_stream(StreamHandle& h, std::span<const uint8_t> data, const PacketInfo& info, MatchSink& sink) noexcept {
    if (data.empty()) return 0;
    if (h.state == StreamHandle::State::kNew) start_stream(h, info);
    if (h.state != StreamHandle::State::kActive) {
        h.offset += data.size();
        return 0;
    }
    ++counters_.stream_scans;
    counters_.bytes += data.size();
    counters_.stream_bytes += data.size();
    const Group& g = db_->group(h.group);
    begin_scan(g);
    if (h.hs != nullptr && hs_scan_stream(h.hs, reinterpret_cast<const char*>(data.data()), static_cast<unsigned>(data.size()), 0,
                                          scratch_, &Scanner::on_match, this) != HS_SUCCESS)
        ++counters_.hs_errors;
    const uint64_t window_start = h.offset - h.window_len;  // stream offset of window[0]
    // Re-try pending rules whose anchor is still in the window; forget the rest.
    uint32_t kept = 0;
    for (uint32_t i = 0; i < h.npending; ++i) {
        const uint64_t end = h.pending[i].anchor_end(h.offset);
        if (end <= window_start) continue;
        nominate(h.pending[i].rule, end);
        h.pending[kept++] = h.pending[i];
    }
    h.npending = static_cast<uint8_t>(kept);
    nominate_unanchored(g, info);
    counters_.candidates += ncand_;

    uint32_t fired = 0;
    const bool flowbit_readers = !g.flowbit_rules.empty() && info.flowbits != nullptr && info.flowbits->n != 0;
    if (ncand_ != 0 || flowbit_readers) {
        // Confirm on window + chunk when it fits, else on the chunk alone.
        InspectInput in{data, h.offset, 0};
        if (h.window_len + data.size() <= confirm_.size()) {
            ring_read(h.window, caps_[h.window_class], window_start, h.window_len, confirm_.data());
            std::memcpy(confirm_.data() + h.window_len, data.data(), data.size());
            in = InspectInput{std::span<const uint8_t>(confirm_.data(), h.window_len + data.size()), window_start, h.window_len};
        } else {
            ++counters_.chunk_too_big;
        }
        for (uint32_t pass = 0; pass < confirm_passes(); ++pass) {  // flowbit readers last, as in scan_packet
            if (pass == 1) nominate_by_flowbits(g, info);
            for (uint32_t i = 0; i < ncand_; ++i) {
                const uint32_t r = cand_[i];
                const CompiledRule& rule = db_->rules()[r];
                if (rule.flowbit_checks.empty() == (pass == 1)) continue;
                bool hit = header_matches(rule, info, false);
                bool flowbit_miss = false;
                // An anchor that ends in this chunk and is the whole rule is a fresh match.
                const bool conclusive = rule.anchor_conclusive && cand_end_[i] > h.offset;
                if (hit) {
                    ++counters_.header_passed;
                    // A rule re-tried for an anchor in an earlier chunk: skip the
                    // window-wide search when the new bytes cannot complete it.
                    const bool retried = cand_end_[i] != 0 && cand_end_[i] <= h.offset;
                    if (retried && !may_match_fresh(rule, in)) {
                        ++counters_.retries_skipped;
                        hit = false;
                    } else if (pass == 1 && !flowbit_checks_pass(rule.flowbit_checks, info.flowbits)) {
                        // Not kept pending: as in Suricata, bytes inspected while
                        // the bit was unset do not match later when it is set.
                        hit = false;
                        flowbit_miss = true;
                    } else {
                        hit = conclusive || inspect_payload(rule, in, inspect_);
                    }
                }
                if (hit || flowbit_miss) forget(h, r);
                if (hit) {
                    push(r, true, info, sink);
                    ++fired;
                } else if (cand_end_[i] != 0 && !conclusive && !flowbit_miss) {
                    remember(h, r, cand_end_[i], h.offset + data.size());
                }
            }
        }
    }

    // Keep the last window_bytes of the stream, in a window grown to hold
    // them, the chunk's tail written at its stream position.
    const uint64_t end = h.offset + data.size();
    if (h.window_class + 1u < nclasses_ && end > caps_[h.window_class]) grow_window(h, end);
    const uint32_t cap = caps_[h.window_class];
    ring_write(h.window, cap, h.offset, data);
    h.window_len = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{h.window_len} + data.size(), cap));
    h.offset += data.size();
    return fired;
}

}  // namespace vtap::detect
