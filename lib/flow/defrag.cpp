// IPv4 and IPv6 reassembly: read the fragment's key and place (the IPv6
// fragment header sits behind any unfragmentable extension headers), find
// or claim the datagram's slot, copy the fragment's
// bytes that have not arrived yet (first wins), and when the total is known
// and every byte up to it arrived, write the first fragment's headers just
// before the payload in the slot's buffer so the datagram is one frame
// without a second copy.
#include "flow/defrag.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "wire/parse.hpp"

namespace vtap::flow {

namespace {

using wire::load_be16;
using wire::load_be32;

void put_be16(uint8_t* p, uint16_t v) noexcept {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

uint16_t ipv4_checksum(const uint8_t* ip, uint32_t ihl) noexcept {
    uint32_t sum = 0;
    for (uint32_t i = 0; i < ihl; i += 2) sum += load_be16(ip + i);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(~sum);
}

}  // namespace

Result<std::unique_ptr<Defrag>> Defrag::create(const DefragConfig& cfg) {
    const std::string where = "defrag";
    if (cfg.max_datagrams < 1 || cfg.max_datagrams > DefragConfig::kMaxDatagramsLimit)
        return fail(where, "max_datagrams " + std::to_string(cfg.max_datagrams) + " is outside 1.." +
                               std::to_string(DefragConfig::kMaxDatagramsLimit));
    if (cfg.timeout_ns < 1'000'000'000ull || cfg.timeout_ns > 3600'000'000'000ull)
        return fail(where, "timeout must be 1..3600 seconds");
    auto d = std::unique_ptr<Defrag>(new Defrag());
    d->cfg_ = cfg;
    d->slots_.resize(cfg.max_datagrams);
    d->data_.resize(size_t{cfg.max_datagrams} * (kHeadRoom + kMaxIp));
    d->bits_.resize(size_t{cfg.max_datagrams} * (kMaxIp / 8 + 1));
    uint32_t n = 1;
    while (n < 2 * cfg.max_datagrams) n <<= 1;
    d->index_.assign(n, probe::Entry{0, 0});
    d->index_mask_ = n - 1;
    d->free_.reserve(cfg.max_datagrams);
    for (uint32_t i = cfg.max_datagrams; i-- > 0;) d->free_.push_back(i);
    return d;
}

uint32_t Defrag::hash(const Key& k) noexcept {
    // Field by field (the struct has padding); FNV-1a, then a final mix so
    // the low bits used as the index depend on every byte.
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&](const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    };
    const size_t addr = k.version == 4 ? 4 : 16;
    mix(k.src, addr);
    mix(k.dst, addr);
    const uint32_t words[3] = {k.tap_src, k.vni, k.id};
    mix(reinterpret_cast<const uint8_t*>(words), sizeof words);
    const uint8_t tail[2] = {k.proto, k.version};
    mix(tail, 2);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return static_cast<uint32_t>(h ^ (h >> 33));
}

void Defrag::release(uint32_t i) noexcept {
    Slot& s = slots_[i];
    std::memset(bits(i), 0, (std::min(s.max_end, kMaxIp) + 7) / 8);
    probe::erase(index_.data(), index_mask_, s.hash, i);
    (s.older == kNoSlot ? oldest_ : slots_[s.older].newer) = s.newer;
    (s.newer == kNoSlot ? newest_ : slots_[s.newer].older) = s.older;
    s.older = s.newer = kNoSlot;
    s.used = false;
    s.total = s.received = s.max_end = 0;
    s.head_len = 0;
    free_.push_back(i);
    used_--;
}

// A used slot older than the timeout is released and counted.
bool Defrag::reclaim_if_expired(uint32_t i, uint64_t now_ns) noexcept {
    if (!slots_[i].used || now_ns - slots_[i].first_ns <= cfg_.timeout_ns) return false;
    ctr_.timeouts++;
    release(i);
    return true;
}

// The age list is in claim order, and so in clock order: the timed-out
// datagrams are at its old end.
void Defrag::expire(uint64_t input_ns) noexcept {
    clock_.advance(input_ns);
    expire_at(clock_.now());
}

void Defrag::expire_at(uint64_t now_ns) noexcept {
    while (oldest_ != kNoSlot && reclaim_if_expired(oldest_, now_ns)) {
    }
}

// The key's slot through the index; a new datagram takes a free slot, or
// the oldest one's (counted as evicted) when every slot is in use.
uint32_t Defrag::find_or_claim(const Key& k, uint64_t now_ns) noexcept {
    expire_at(now_ns);  // timed out datagrams first: a late fragment starts afresh
    const uint32_t h = hash(k);
    auto same = [&](uint32_t i) { return slots_[i].key == k; };
    bool found = false;
    uint32_t at = probe::find(index_.data(), index_mask_, h, same, found);
    if (found) return index_[at].idx1 - 1;
    if (free_.empty()) {
        ctr_.evicted++;
        release(oldest_);
        // The release shifted index entries: probe again for the empty one.
        at = probe::find(index_.data(), index_mask_, h, same, found);
    }
    const uint32_t i = free_.back();
    free_.pop_back();
    Slot& s = slots_[i];
    s.key = k;
    s.first_ns = now_ns;
    s.used = true;
    s.older = newest_;
    s.newer = kNoSlot;
    (newest_ == kNoSlot ? oldest_ : slots_[newest_].newer) = i;
    newest_ = i;
    s.hash = h;
    index_[at] = probe::Entry{h, i + 1};
    used_++;
    return i;
}

bool Defrag::parse_ipv4(const uint8_t* frame, uint32_t len, const PktMeta& m, Piece& p) const noexcept {
    const uint32_t l3 = m.l3_off;
    if ((m.flags & kFlagPayloadCut) || l3 + 20 > len || l3 > kHeadRoom - 60) return false;
    const uint8_t* ip = frame + l3;
    const uint32_t ihl = (ip[0] & 0x0F) * 4u;
    const uint32_t ip_len = load_be16(ip + 2);
    const uint16_t frag = load_be16(ip + 6);
    p.more = frag & 0x2000;
    p.off = uint32_t(frag & 0x1FFF) * 8;
    if (ip_len < ihl || l3 + ip_len > len) return false;  // headers checked by decap; the copy must hold the bytes
    const uint32_t n = ip_len - ihl;
    p.end = p.off + n;
    // The datagram must fit an IPv4 total length, and its frame PktMeta's
    // 16-bit offsets.
    if (n == 0 || ihl + p.end > kMaxIp || l3 + ihl + p.end > kMaxIp) return false;
    std::memcpy(p.key.src, ip + 12, 4);
    std::memcpy(p.key.dst, ip + 16, 4);
    p.key.id = load_be16(ip + 4);
    p.key.proto = ip[9];
    p.key.version = 4;
    p.data = ip + ihl;
    p.head_len = l3 + ihl;
    return true;
}

// RFC 8200 s4.5: the unfragmentable part (IPv6 header and the extension
// headers before the fragment header) comes from the first fragment; the
// fragmentable part (everything after the fragment header, including any
// later extension headers) is what the offsets count.
bool Defrag::parse_ipv6(const uint8_t* frame, uint32_t len, const PktMeta& m, Piece& p) const noexcept {
    const uint32_t l3 = m.l3_off;
    if ((m.flags & kFlagPayloadCut) || l3 + 40 > len) return false;
    const uint8_t* ip = frame + l3;
    const uint32_t ip_end = l3 + 40 + load_be16(ip + 4);
    if (ip_end > len) return false;  // the copy must hold the bytes
    uint32_t nh_off = l3 + 6, h = l3 + 40;
    uint8_t proto = ip[6];
    // The same headers and bound as the inner parse's walk.
    for (int i = 0; i < 8 && proto != 44; i++) {
        if (!wire::ipv6_skippable_ext(proto)) return false;
        if (h + 2 > ip_end) return false;
        const uint32_t hlen = wire::ipv6_ext_len(proto, frame + h);
        nh_off = h;
        proto = frame[h];
        h += hlen;
    }
    if (proto != 44 || h + 8 > ip_end || h > kHeadRoom) return false;
    const uint8_t* fh = frame + h;
    const uint16_t frag = load_be16(fh + 2);
    p.more = frag & 1;
    p.off = frag & 0xFFF8;  // 13-bit offset in 8-byte units, already shifted by 3
    const uint32_t n = ip_end - (h + 8);
    p.end = p.off + n;
    // Non-last fragments are multiples of 8 bytes (RFC 8200 s4.5); the
    // fragmentable part fits a payload length, the frame PktMeta's offsets.
    if (n == 0 || (p.more && n % 8) || p.end > kMaxIp || h + p.end > kMaxIp) return false;
    std::memcpy(p.key.src, ip + 8, 16);
    std::memcpy(p.key.dst, ip + 24, 16);
    p.key.id = load_be32(fh + 4);
    p.key.version = 6;
    p.data = fh + 8;
    p.head_len = h;
    p.nh_off = static_cast<uint16_t>(nh_off);
    p.next = fh[0];
    return true;
}

const Reassembled* Defrag::add(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t input_ns) noexcept {
    ctr_.fragments++;
    clock_.advance(input_ns);  // steps back are counted where the same time feeds the flow table
    const uint64_t now_ns = clock_.now();
    Piece p;
    const bool ok = m.l3 == static_cast<uint8_t>(L3Type::kIpv4)   ? parse_ipv4(frame, len, m, p)
                    : m.l3 == static_cast<uint8_t>(L3Type::kIpv6) ? parse_ipv6(frame, len, m, p)
                                                                  : false;
    if (!ok) {
        ctr_.invalid++;
        return nullptr;
    }
    p.key.tap_src = m.tap_src;
    p.key.vni = m.vni;
    const uint32_t off = p.off, end = p.end;
    const uint32_t i = find_or_claim(p.key, now_ns);
    Slot& s = slots_[i];
    if ((s.total && end > s.total) || (!p.more && s.total && end != s.total) || (!p.more && end < s.max_end)) {
        ctr_.invalid++;  // past the known end, or a second last fragment with another total
        return nullptr;
    }
    if (!p.more) s.total = end;
    if (end > s.max_end) s.max_end = end;
    if (off == 0 && !s.head_len) {
        s.head_len = static_cast<uint16_t>(p.head_len);
        std::memcpy(s.head, frame, s.head_len);
        s.meta = m;
        s.nh_off = p.nh_off;
        s.next = p.next;
    }
    // First wins: copy only the bytes whose bit is still clear. Offsets are
    // multiples of 8 (both parsers scale the 8-byte unit field), so a
    // fragment starts on a bitmap byte: eight clear bits copy as one word,
    // eight set bits are skipped, and only a group that is partial (the
    // datagram's tail) or partly held by an overlapping copy goes bit by bit.
    uint8_t* b = bits(i);
    uint8_t* dst = data(i) + kHeadRoom;
    const uint8_t* src = p.data;
    for (uint32_t q = off; q < end; q += 8) {
        uint8_t& group = b[q >> 3];
        const uint32_t n = std::min<uint32_t>(8, end - q);
        if (group == 0 && n == 8) {
            std::memcpy(dst + q, src + (q - off), 8);
            group = 0xff;
            s.received += 8;
            continue;
        }
        for (uint32_t j = 0; j < n; j++) {
            const auto bit = static_cast<uint8_t>(1u << j);
            if (group & bit) continue;
            group |= bit;
            dst[q + j] = src[q + j - off];
            s.received++;
        }
    }
    if (!s.total || s.received != s.total || !s.head_len) return nullptr;

    // Complete: headers in front of the payload, then fix the IP header.
    if (s.head_len + s.total > kMaxIp) {  // the first fragment's headers made it too long
        ctr_.invalid++;
        release(i);
        return nullptr;
    }
    uint8_t* f = dst - s.head_len;
    std::memcpy(f, s.head, s.head_len);
    uint8_t* h = f + s.meta.l3_off;
    if (s.key.version == 4) {
        const uint32_t first_ihl = s.head_len - s.meta.l3_off;
        put_be16(h + 2, static_cast<uint16_t>(first_ihl + s.total));
        put_be16(h + 6, load_be16(h + 6) & 0xC000);  // keep RF/DF, clear MF and the offset
        put_be16(h + 10, 0);
        put_be16(h + 10, ipv4_checksum(h, first_ihl));
    } else {
        put_be16(h + 4, static_cast<uint16_t>(s.head_len - s.meta.l3_off - 40 + s.total));
        f[s.nh_off] = s.next;  // the fragment header is gone from the chain
    }
    out_.frame = f;
    out_.len = s.head_len + s.total;
    out_.meta = s.meta;
    ctr_.reassembled++;
    release(i);  // the buffer's bytes stay until the slot is claimed again
    return &out_;
}

}  // namespace vtap::flow
