// IPv4 reassembly: find or claim the datagram's slot, copy the fragment's
// bytes that have not arrived yet (first wins), and when the total is known
// and every byte up to it arrived, write the first fragment's headers just
// before the payload in the slot's buffer so the datagram is one frame
// without a second copy.
#include "flow/defrag.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace vtap::flow {

namespace {

uint16_t be16(const uint8_t* p) noexcept { return uint16_t(p[0] << 8 | p[1]); }
void put_be16(uint8_t* p, uint16_t v) noexcept {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}

uint16_t ipv4_checksum(const uint8_t* ip, uint32_t ihl) noexcept {
    uint32_t sum = 0;
    for (uint32_t i = 0; i < ihl; i += 2) sum += be16(ip + i);
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
    return d;
}

void Defrag::release(uint32_t i) noexcept {
    Slot& s = slots_[i];
    std::memset(bits(i), 0, (std::min(s.max_end, kMaxIp) + 7) / 8);
    s.used = false;
    s.total = s.received = s.max_end = 0;
    s.head_len = 0;
    used_--;
}

void Defrag::expire(uint64_t now_ns) noexcept {
    if (!used_) return;
    for (uint32_t i = 0; i < slots_.size(); i++) {
        if (slots_[i].used && now_ns - slots_[i].first_ns > cfg_.timeout_ns) {
            ctr_.timeouts++;
            release(i);
        }
    }
}

// A linear scan: fragments are rare and the table small (default 256);
// the keys of a slot share its cache lines with nothing hot.
uint32_t Defrag::find_or_claim(const Key& k, uint64_t now_ns) noexcept {
    uint32_t free_slot = kNoSlot, oldest = kNoSlot;
    for (uint32_t i = 0; i < slots_.size(); i++) {
        Slot& s = slots_[i];
        if (!s.used) {
            if (free_slot == kNoSlot) free_slot = i;
            continue;
        }
        if (now_ns - s.first_ns > cfg_.timeout_ns) {  // timed out: reclaim before anything else
            ctr_.timeouts++;
            release(i);
            if (free_slot == kNoSlot) free_slot = i;
            continue;
        }
        if (s.key == k) return i;
        if (oldest == kNoSlot || s.first_ns < slots_[oldest].first_ns) oldest = i;
    }
    if (free_slot == kNoSlot) {
        ctr_.evicted++;
        release(oldest);
        free_slot = oldest;
    }
    Slot& s = slots_[free_slot];
    s.key = k;
    s.first_ns = now_ns;
    s.used = true;
    used_++;
    return free_slot;
}

const Reassembled* Defrag::add(const uint8_t* frame, uint32_t len, const PktMeta& m, uint64_t now_ns) noexcept {
    ctr_.fragments++;
    const uint32_t l3 = m.l3_off;
    if (m.l3 != static_cast<uint8_t>(L3Type::kIpv4) || (m.flags & kFlagPayloadCut) || l3 + 20 > len ||
        l3 > kHeadRoom - 60) {
        ctr_.invalid++;
        return nullptr;
    }
    const uint8_t* ip = frame + l3;
    const uint32_t ihl = (ip[0] & 0x0F) * 4u;
    const uint32_t ip_len = be16(ip + 2);
    const uint16_t frag = be16(ip + 6);
    const bool more = frag & 0x2000;
    const uint32_t off = uint32_t(frag & 0x1FFF) * 8;
    if (ip_len < ihl || l3 + ip_len > len) {  // headers checked by decap; the copy must hold the bytes
        ctr_.invalid++;
        return nullptr;
    }
    const uint32_t n = ip_len - ihl;
    const uint32_t end = off + n;
    // The datagram must fit an IPv4 total length, and its frame PktMeta's
    // 16-bit offsets.
    if (n == 0 || ihl + end > kMaxIp || l3 + ihl + end > kMaxIp) {
        ctr_.invalid++;
        return nullptr;
    }
    Key k;
    std::memcpy(&k.src, ip + 12, 4);
    std::memcpy(&k.dst, ip + 16, 4);
    k.tap_src = m.tap_src;
    k.vni = m.vni;
    k.id = be16(ip + 4);
    k.proto = ip[9];
    const uint32_t i = find_or_claim(k, now_ns);
    Slot& s = slots_[i];
    if ((s.total && end > s.total) || (!more && s.total && end != s.total) || (!more && end < s.max_end)) {
        ctr_.invalid++;  // past the known end, or a second last fragment with another total
        return nullptr;
    }
    if (!more) s.total = end;
    if (end > s.max_end) s.max_end = end;
    if (off == 0 && !s.head_len) {
        s.head_len = static_cast<uint16_t>(l3 + ihl);
        std::memcpy(s.head, frame, s.head_len);
        s.meta = m;
    }
    // First wins: copy only the bytes whose bit is still clear.
    uint8_t* b = bits(i);
    uint8_t* dst = data(i) + kHeadRoom;
    const uint8_t* src = ip + ihl;
    for (uint32_t p = off; p < end; p++) {
        const uint8_t bit = uint8_t(1u << (p & 7));
        if (b[p >> 3] & bit) continue;
        b[p >> 3] |= bit;
        dst[p] = src[p - off];
        s.received++;
    }
    if (!s.total || s.received != s.total || !s.head_len) return nullptr;

    // Complete: headers in front of the payload, then fix the IP header.
    const uint32_t first_ihl = s.head_len - s.meta.l3_off;
    if (s.head_len + s.total > kMaxIp) {  // the first fragment's options made it too long
        ctr_.invalid++;
        release(i);
        return nullptr;
    }
    uint8_t* f = dst - s.head_len;
    std::memcpy(f, s.head, s.head_len);
    uint8_t* h = f + s.meta.l3_off;
    put_be16(h + 2, static_cast<uint16_t>(first_ihl + s.total));
    put_be16(h + 6, be16(h + 6) & 0xC000);  // keep RF/DF, clear MF and the offset
    put_be16(h + 10, 0);
    put_be16(h + 10, ipv4_checksum(h, first_ihl));
    out_.frame = f;
    out_.len = s.head_len + s.total;
    out_.meta = s.meta;
    ctr_.reassembled++;
    release(i);  // the buffer's bytes stay until the slot is claimed again
    return &out_;
}

}  // namespace vtap::flow
