// FlowTable lifecycle: create (all allocation), lookup_or_create, the
// open-addressing index, the per-class LRU lists, eviction and expiry.
// TCP reassembly lives in tcp_stream.cpp.
#include "flow/flow_table.hpp"


#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <netinet/in.h>

#include "core/prefaulted.hpp"
#include "flow/table_detail.hpp"
#include "wire/vxlan.hpp"

namespace vtap::flow {

namespace {

constexpr uint32_t kMaxCapacity = uint32_t{1} << 26;  // index of 2^27 slots still fits uint32 masks
constexpr unsigned kFlowIdBits = 46;                  // + 7 worker bits: ids stay below 2^53 (JSON-safe)

using wire::load_be16;

// Whether the packet's source is the key's lo endpoint.
bool src_is_lo(const uint8_t* frame, const PktMeta& m, const shard::FlowKey& k) noexcept {
    const uint8_t* ip = frame + m.l3_off;
    const uint8_t* src;
    size_t len;
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv4)) { src = ip + 12; len = 4; }       // RFC 791 s3.1
    else if (m.l3 == static_cast<uint8_t>(L3Type::kIpv6)) { src = ip + 8; len = 16; }  // RFC 8200 s3
    else return true;
    if (std::memcmp(src, k.lo_addr, len) != 0) return false;
    if (std::memcmp(k.lo_addr, k.hi_addr, len) != 0 || k.lo_port == k.hi_port) return true;
    uint16_t sport;  // same address at both ends: the port decides
    std::memcpy(&sport, frame + m.l4_off, 2);
    return sport == k.lo_port;
}

// Inner IP datagram length as its header states it.
uint32_t ip_bytes(const uint8_t* frame, const PktMeta& m) noexcept {
    const uint8_t* ip = frame + m.l3_off;
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv4)) return load_be16(ip + 2);
    if (m.l3 == static_cast<uint8_t>(L3Type::kIpv6)) return 40u + load_be16(ip + 4);
    return 0;
}

bool has_l4(const PktMeta& m) noexcept {
    return (m.flags & (kFlagL4Header | kFlagFragment)) == kFlagL4Header;
}

}  // namespace

struct FlowTable::Mem {
    void* flows = nullptr;
    void* slots = nullptr;
    void* pieces = nullptr;
    ~Mem() {
        std::free(flows);
        std::free(slots);
        std::free(pieces);
    }
};

FlowTable::FlowTable(const FlowConfig& cfg) : cfg_(cfg) {}

Result<std::unique_ptr<FlowTable>> FlowTable::create(const FlowConfig& cfg) {
    const std::string where = "flow table (worker " + std::to_string(cfg.worker) + ")";
    if (cfg.capacity == 0 || cfg.capacity > kMaxCapacity)
        return fail(where, "capacity " + std::to_string(cfg.capacity) + " is outside 1.." +
                               std::to_string(kMaxCapacity));
    if (cfg.worker >= 128) return fail(where, "worker id must be below 128 (it is folded into flow_id)");
    if (cfg.max_seq_ahead == 0 || cfg.max_seq_ahead >= (uint32_t{1} << 31))
        return fail(where, "max_seq_ahead must be in 1..2^31-1 (sequence numbers are compared mod 2^32)");
    const uint64_t n_pieces = cfg.segment_pool_bytes / kPieceBytes;
    if (n_pieces >= kNoIndex) return fail(where, "segment pool larger than 2^32 pieces");

    std::unique_ptr<FlowTable> t(new (std::nothrow) FlowTable(cfg));
    if (!t) return fail(where, "out of memory");
    // At most half the slots used: linear probing then averages ~1.5 probes
    // for a hit and ~2.5 for a miss.
    const uint32_t n_slots = std::max<uint32_t>(16, std::bit_ceil(cfg.capacity * 2u));
    t->mem_ = std::make_unique<Mem>();
    t->mem_->flows = alloc_prefaulted(size_t{cfg.capacity} * sizeof(Flow));
    t->mem_->slots = alloc_prefaulted(size_t{n_slots} * sizeof(Slot));
    t->mem_->pieces = n_pieces ? alloc_prefaulted(n_pieces * sizeof(Piece)) : nullptr;
    if (!t->mem_->flows || !t->mem_->slots || (n_pieces && !t->mem_->pieces))
        return fail(where, "cannot allocate " + std::to_string(cfg.capacity) + " flows and a " +
                               std::to_string(cfg.segment_pool_bytes) + "-byte segment pool");
    t->flows_ = static_cast<Flow*>(t->mem_->flows);
    t->slots_ = static_cast<Slot*>(t->mem_->slots);
    t->pieces_ = static_cast<Piece*>(t->mem_->pieces);
    t->slot_mask_ = n_slots - 1;
    t->n_pieces_ = static_cast<uint32_t>(n_pieces);
    // Free lists in index order, so a fresh table fills its arrays front to back.
    for (uint32_t i = 0; i < cfg.capacity; i++) {
        new (&t->flows_[i]) Flow{};
        t->flows_[i].lru_next = i + 1 < cfg.capacity ? i + 1 : kNoIndex;
    }
    t->free_flow_ = 0;
    for (uint32_t i = 0; i < t->n_pieces_; i++) t->pieces_[i].next = i + 1 < t->n_pieces_ ? i + 1 : kNoIndex;
    t->free_piece_ = t->n_pieces_ ? 0 : kNoIndex;
    t->pieces_free_ = t->n_pieces_;
    return t;
}

FlowTable::~FlowTable() { clear(); }

size_t FlowTable::bytes_per_flow() const noexcept {
    const size_t index = (size_t{slot_mask_} + 1) * sizeof(Slot);
    return sizeof(Flow) + (index + cfg_.capacity - 1) / cfg_.capacity;
}

size_t FlowTable::segment_pool_bytes() const noexcept { return size_t{n_pieces_} * sizeof(Piece); }

size_t FlowTable::memory_bytes() const noexcept {
    return size_t{cfg_.capacity} * sizeof(Flow) + (size_t{slot_mask_} + 1) * sizeof(Slot) +
           segment_pool_bytes();
}

uint32_t FlowTable::index_of(const Flow& f) const noexcept {
    return static_cast<uint32_t>(&f - flows_);
}

// ---- index ----------------------------------------------------------------

Flow* FlowTable::find(const shard::FlowKey& key, uint32_t hash, uint32_t& slot) noexcept {
    // Low hash bits pick the slot: shard's worker_of() uses the high bits,
    // so on one worker the low bits are still uniform.
    bool found = false;
    slot = probe::find(slots_, slot_mask_, hash,
                       [&](uint32_t i) { return shard::same_key(flows_[i].key, key); }, found);
    return found ? &flows_[slots_[slot].idx1 - 1] : nullptr;
}

const Flow* FlowTable::prefetch_flow(uint32_t hash) const noexcept {
    // Half the slots at most are used, so the flow is almost always in the
    // home slot or the next; look no further than the prefetched line's.
    constexpr uint32_t kLook = 4;
    for (uint32_t s = hash & slot_mask_, n = 0; n < kLook && slots_[s].idx1 != 0; s = (s + 1) & slot_mask_, n++) {
        if (slots_[s].hash != hash) continue;
        const Flow* f = &flows_[slots_[s].idx1 - 1];
        const char* p = reinterpret_cast<const char*>(f);
        for (size_t off = 0; off < sizeof(Flow); off += kCacheLine) __builtin_prefetch(p + off);
        return f;
    }
    return nullptr;
}

void FlowTable::index_erase(uint32_t idx) noexcept { probe::erase(slots_, slot_mask_, flows_[idx].hash, idx); }

// ---- LRU lists (one per timeout class, oldest at head) ---------------------

void FlowTable::lru_unlink(uint32_t idx) noexcept {
    Flow& f = flows_[idx];
    Lru& l = lru_[static_cast<unsigned>(f.cls)];
    if (f.lru_prev != kNoIndex) flows_[f.lru_prev].lru_next = f.lru_next;
    else l.head = f.lru_next;
    if (f.lru_next != kNoIndex) flows_[f.lru_next].lru_prev = f.lru_prev;
    else l.tail = f.lru_prev;
    f.lru_prev = f.lru_next = kNoIndex;
}

// Every append stamps lru_queued_ns with the flow's last_seen_ns, so each
// list is ordered by lru_queued_ns and last_seen_ns - lru_queued_ns <
// lru_resolution_ns: a flow behind the head was seen at most one resolution
// interval before the head, which bounds how late expire() finds it.
void FlowTable::lru_append(uint32_t idx) noexcept {
    Flow& f = flows_[idx];
    f.lru_queued_ns = f.last_seen_ns;
    Lru& l = lru_[static_cast<unsigned>(f.cls)];
    f.lru_prev = l.tail;
    f.lru_next = kNoIndex;
    if (l.tail != kNoIndex) flows_[l.tail].lru_next = idx;
    else l.head = idx;
    l.tail = idx;
}

void FlowTable::set_class(Flow& f, TimeoutClass c) noexcept {
    if (f.cls == c) return;
    const uint32_t idx = index_of(f);
    lru_unlink(idx);
    f.cls = c;
    lru_append(idx);
}

// ---- lifecycle ---------------------------------------------------------------

uint32_t FlowTable::take_entry(uint64_t now_ns) noexcept {
    if (free_flow_ == kNoIndex) {
        // Full: reclaim the least recently seen flow of any class (exact to
        // within lru_resolution_ns).
        uint32_t oldest = kNoIndex;
        for (const Lru& l : lru_)
            if (l.head != kNoIndex && (oldest == kNoIndex || flows_[l.head].last_seen_ns < flows_[oldest].last_seen_ns))
                oldest = l.head;
        if (oldest == kNoIndex) return kNoIndex;
        const uint64_t seen = flows_[oldest].last_seen_ns;
        if (now_ns - seen < cfg_.evict_min_idle_ns) return kNoIndex;
        close(oldest, CloseReason::kEvicted);
        ctr_.evicted.add();
    }
    const uint32_t idx = free_flow_;
    free_flow_ = flows_[idx].lru_next;
    return idx;
}

void FlowTable::close(uint32_t idx, CloseReason why) noexcept {
    Flow& f = flows_[idx];
    if (close_fn_) close_fn_(close_ctx_, f, why);
    release_pieces(f.stream[0]);
    release_pieces(f.stream[1]);
    index_erase(idx);
    lru_unlink(idx);
    f.user[0] = f.user[1] = f.user_flow = nullptr;
    f.lru_next = free_flow_;
    free_flow_ = idx;
    active_--;
    ctr_.active.add(~uint64_t{0});  // -1: Counter is modular, the gauge goes down
}

// Client and server. TCP: the SYN's sender is the client, a SYN/ACK's the
// server. ICMP: the echo/timestamp/information/address-mask request's
// sender is the client, a reply's the server. Otherwise (mid-stream TCP,
// UDP, SCTP) the endpoint with the lower port is the server: well-known
// ports (< 1024) sort below registered ones, which sort below ephemeral ones
// (>= 32768), so "lower port" is the well-known/ephemeral rule. Equal ports,
// or no ports: the first packet's sender is the client.
void FlowTable::init_flow(Flow& f, const uint8_t* frame, const PktMeta& m, const shard::FlowKey& key,
                          uint64_t now_ns) noexcept {
    f = Flow{};
    f.key = key;
    f.hash = m.flow_hash;
    f.flow_id = uint64_t{cfg_.worker} << kFlowIdBits | (next_id_++ & ((uint64_t{1} << kFlowIdBits) - 1));
    f.first_seen_ns = now_ns;
    f.last_seen_ns = now_ns;
    f.proto = key.proto;
    const bool lo = src_is_lo(frame, m, key);
    bool sender_is_client = true;
    const uint8_t* l4 = frame + m.l4_off;
    switch (key.proto) {
        case IPPROTO_TCP:
            f.cls = TimeoutClass::kTcpNew;
            if (!has_l4(m)) break;  // a fragment: keyed without ports, nothing to track
            if (l4[13] & kTcpSyn) {
                sender_is_client = !(l4[13] & kTcpAck);
            } else {
                if (key.lo_port != key.hi_port) sender_is_client = load_be16(l4 + 2) < load_be16(l4);
                if (cfg_.midstream) {
                    f.flags |= kFlowMidstream;
                    ctr_.midstream_pickups.add();
                } else {
                    f.flags |= kFlowUntracked;
                }
            }
            break;
        case IPPROTO_UDP:
        case IPPROTO_SCTP:
            f.cls = key.proto == IPPROTO_UDP ? TimeoutClass::kUdp : TimeoutClass::kOther;
            if (has_l4(m) && key.lo_port != key.hi_port) sender_is_client = load_be16(l4 + 2) < load_be16(l4);
            break;
        case IPPROTO_ICMP:
        case IPPROTO_ICMPV6: {
            f.cls = TimeoutClass::kIcmp;
            if (!has_l4(m)) break;
            const uint8_t type = l4[0];
            // Replies: echo 0/129, timestamp 14, information 16, address mask 18.
            if (key.proto == IPPROTO_ICMP) sender_is_client = !(type == 0 || type == 14 || type == 16 || type == 18);
            else sender_is_client = type != 129;
            break;
        }
        default:
            f.cls = TimeoutClass::kOther;
            break;
    }
    if (lo == sender_is_client) f.flags |= kFlowClientIsLo;
}

Lookup FlowTable::lookup_or_create(const uint8_t* frame, const PktMeta& m, uint64_t input_ns) noexcept {
    const uint64_t now_ns = tick(input_ns);
    shard::FlowKey key;
    shard::flow_key(frame, m, key);
    uint32_t slot;
    Flow* f = find(key, m.flow_hash, slot);
    bool created = false;
    // A closed TCP flow whose 5-tuple sends a fresh SYN is a new connection.
    if (f && f->state == FlowState::kClosed && has_l4(m) && m.l4_proto == IPPROTO_TCP &&
        (frame[m.l4_off + 13] & (kTcpSyn | kTcpAck)) == kTcpSyn) {
        close(index_of(*f), CloseReason::kReused);
        f = nullptr;
    }
    if (!f) {
        const uint32_t idx = take_entry(now_ns);
        if (idx == kNoIndex) {
            ctr_.table_full.add();
            return {};
        }
        // take_entry may have evicted, which shifts index entries: probe again.
        (void)find(key, m.flow_hash, slot);
        f = &flows_[idx];
        init_flow(*f, frame, m, key, now_ns);
        slots_[slot] = Slot{m.flow_hash, idx + 1};
        lru_append(idx);
        active_++;
        ctr_.active.add();
        ctr_.created.add();
        created = true;
    } else {
        f->last_seen_ns = now_ns;
        if (now_ns - f->lru_queued_ns >= cfg_.lru_resolution_ns) {
            const uint32_t idx = index_of(*f);
            lru_unlink(idx);
            lru_append(idx);
        }
    }
    const bool lo = src_is_lo(frame, m, key);
    const Direction dir = lo == f->client_is_lo() ? Direction::kToServer : Direction::kToClient;
    DirCounters& dc = f->dir[index(dir)];
    dc.packets++;
    dc.bytes += ip_bytes(frame, m);
    return {f, dir, created};
}

uint32_t FlowTable::expire(uint64_t input_ns, uint32_t budget) noexcept {
    const uint64_t now_ns = tick(input_ns);
    uint32_t closed = 0;
    for (unsigned c = 0; c < kTimeoutClassCount && closed < budget; c++) {
        const uint64_t timeout = cfg_.timeouts.of(static_cast<TimeoutClass>(c));
        while (closed < budget && lru_[c].head != kNoIndex) {
            const uint32_t idx = lru_[c].head;
            const uint64_t seen = flows_[idx].last_seen_ns;
            // The rest of the list was seen at most lru_resolution_ns earlier
            // (the clock never runs backwards: nothing was seen after now_ns).
            if (now_ns - seen < timeout) break;
            close(idx, CloseReason::kTimeout);
            ctr_.timed_out.add();
            closed++;
        }
    }
    return closed;
}

void FlowTable::clear() noexcept {
    for (Lru& l : lru_)
        while (l.head != kNoIndex) close(l.head, CloseReason::kTeardown);
}

}  // namespace vtap::flow
