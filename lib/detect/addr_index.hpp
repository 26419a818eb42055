// Nominates header-only rules by address instead of on every scan. Rules
// without a content anchor (ET's TOR, CINS, DROP and Threatview lists:
// `alert ip [300 addresses] any -> $HOME_NET any`) used to be header-checked
// on every packet and stream chunk, a linear walk over each rule's list:
// ~1,200 such rules made detection 100x slower than the scans themselves.
// A rule whose source or destination is a list of prefixes can only match a
// packet that carries one of those addresses (on either side, for `<>`
// rules), so an interval table over every listed prefix answers "which
// rules could match this packet" with two binary searches: IPv4 by the
// whole address, IPv6 by its first 64 bits (ET's TOR lists carry both; a
// table of IPv4 only left ~270 such rules on every IPv6 packet). It
// nominates a superset; header_matches() still decides. Built once per Group (cold),
// read-only on the hot path. The same holds for a rule's port list on TCP
// and UDP: a rule is keyed by whichever of its lists is the most selective.
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "detect/program.hpp"

namespace vtap::detect {

// Sorted elementary intervals over a key space (IPv4 addresses or ports:
// uint32_t keys; IPv6 addresses by their first 64 bits: uint64_t), each with
// the rules whose ranges cover it.
template <class Key>
class IntervalTable {
    // Range ends may be one past the largest key.
    using Wide = std::conditional_t<sizeof(Key) < 8, uint64_t, unsigned __int128>;

public:
    std::span<const uint32_t> lookup(Key key) const noexcept {
        if (starts_.empty()) return {};
        // Most packets carry no listed address (ET's lists hold a few
        // thousand hosts spread over the whole space): one bit answers them.
        const size_t o = static_cast<size_t>(key >> occupied_shift_);
        if (((occupied_[o >> 6] >> (o & 63)) & 1) == 0) return {};
        // Last interval starting at or before key. The key's bucket (its top
        // kBucketBits) bounds the search to the intervals starting inside
        // it: a few probes instead of ~12 over the whole table per lookup.
        const size_t b = static_cast<size_t>(key >> shift_);
        size_t lo = bucket_[b], hi = bucket_[b + 1];
        while (lo < hi) {
            const size_t mid = (lo + hi) / 2;
            if (starts_[mid] <= key) lo = mid + 1;
            else hi = mid;
        }
        if (lo == 0) return {};
        const size_t i = lo - 1;
        return {rules_.data() + first_[i], first_[i + 1] - first_[i]};
    }
    bool empty() const noexcept { return starts_.empty(); }
    size_t intervals() const noexcept { return starts_.size(); }

    // [lo, end) covered by `rule`; then build() once every range is in.
    void add(uint32_t rule, Wide lo, Wide end) {
        events_.push_back({lo, {rule, +1}});
        events_.push_back({end, {rule, -1}});
    }
    void build(Wide key_space);  // a power of two, at least 2^kOccupiedBits

private:
    static constexpr unsigned kBucketBits = 12;
    // One bit per 2^occupied_shift_ keys (8 KiB: /16s of IPv4, single
    // ports, /16s of IPv6): set when any interval meeting that block has rules.
    static constexpr unsigned kOccupiedBits = 16;
    std::vector<std::pair<Wide, std::pair<uint32_t, int>>> events_;  // (at, (rule, +1 | -1))
    std::vector<Key> starts_;       // interval i = [starts_[i], starts_[i+1]) (the last one ends at the key space)
    std::vector<uint32_t> first_;   // CSR: rules of interval i = rules_[first_[i] .. first_[i+1])
    std::vector<uint32_t> rules_;
    // bucket_[b]: intervals starting before b << shift_ (2^kBucketBits + 1 entries).
    std::vector<uint32_t> bucket_;
    unsigned shift_ = 0;
    std::vector<uint64_t> occupied_;
    unsigned occupied_shift_ = 0;
};

class AddrIndex {
public:
    // Splits `candidates` (rule indexes into `rules`) into those this index
    // now nominates by address or port and the rest, returned, which must
    // still be nominated on every scan (any/negated addresses and ports,
    // broad lists). v6_only receives address-keyed rules whose IPv6
    // prefixes are too broad to key (shorter than /16): they are nominated
    // on every IPv6 packet.
    // `ports`: the group's packets carry ports (TCP, UDP), so a rule may be
    // keyed by its port list when that covers less of the port space than
    // its best address list covers of the address space (ET's
    // `$EXTERNAL_NET any -> $HOME_NET 22` scan rules: port 22, not HOME_NET).
    std::vector<uint32_t> build(const std::vector<CompiledRule>& rules, const std::vector<uint32_t>& candidates,
                                std::vector<uint32_t>& v6_only, bool ports = false);

    // The keys of an address in network byte order (a Cidr's or a packet's
    // bytes): IPv4 as a host-order integer, IPv6 as its first 64 bits.
    static uint32_t v4_key(const uint8_t* a) noexcept {
        return (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3];
    }
    static uint64_t v6_key(const uint8_t* a) noexcept { return (uint64_t{v4_key(a)} << 32) | v4_key(a + 4); }

    // Rules whose listed IPv4 prefixes contain `addr` (host byte order).
    std::span<const uint32_t> lookup(uint32_t addr) const noexcept { return addrs_.lookup(addr); }
    // Rules whose listed IPv6 prefixes contain an address starting with
    // these 64 bits (a prefix longer than /64 is keyed as its /64: a
    // superset, header_matches decides).
    std::span<const uint32_t> lookup_v6(uint64_t high64) const noexcept { return addrs6_.lookup(high64); }
    // Rules whose listed ports contain `port`.
    std::span<const uint32_t> lookup_port(uint16_t port) const noexcept { return ports_.lookup(port); }

    bool empty() const noexcept { return addrs_.empty() && addrs6_.empty() && ports_.empty(); }
    bool has_ports() const noexcept { return !ports_.empty(); }
    size_t rules_indexed() const noexcept { return indexed_; }
    size_t port_keyed() const noexcept { return port_keyed_; }
    size_t intervals() const noexcept { return addrs_.intervals(); }

    // A prefix shorter than this makes a rule "always": an index entry that
    // covers a /7 would nominate it for much of the address space anyway.
    static constexpr uint8_t kMinPrefixLen = 8;
    static constexpr uint8_t kMinPrefixLen6 = 16;

private:
    IntervalTable<uint32_t> addrs_, ports_;
    IntervalTable<uint64_t> addrs6_;
    size_t indexed_ = 0;     // rules keyed by address or port
    size_t port_keyed_ = 0;  // ... of those, by port
};

}  // namespace vtap::detect
