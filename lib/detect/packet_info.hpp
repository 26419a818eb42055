// What the caller tells the detection engine about a packet (the facts
// lib/flow and the decoder already know), and where matches go. Both are
// plain data: the scanner reads PacketInfo and appends to MatchSink, so the
// hot path never allocates, locks or logs. lib/detect depends on neither
// lib/flow nor lib/alert; the worker translates between them.
#pragma once

#include <array>
#include <cstdint>

namespace vtap::detect {

// An IPv4 or IPv6 address. IPv4 lives in the first 4 bytes (like rules::Cidr).
struct IpAddr {
    uint8_t family = 4;               // 4 or 6
    std::array<uint8_t, 16> bytes{};  // network order

    static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
        IpAddr ip;
        ip.bytes = {a, b, c, d};
        return ip;
    }
};

// IP protocol numbers the engine distinguishes.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;

struct FlowBits;  // detect/flowbits.hpp

struct PacketInfo {
    IpAddr src, dst;
    uint16_t src_port = 0, dst_port = 0;  // host order; 0 when the protocol has none
    uint8_t proto = kProtoTcp;            // IP protocol number (inner)
    uint8_t ttl = 64;                     // IPv4 TTL or IPv6 hop limit
    uint8_t tcp_flags = 0;                // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80
    uint8_t icmp_type = 0, icmp_code = 0;
    bool has_flow = false;                // a flow entry exists; `flow:` options never match without one
    bool to_server = false;               // direction as the flow tracker decided it
    bool to_client = false;
    bool established = false;             // TCP: 3WHS seen or picked up mid-stream; UDP: both directions seen
    // TCP only: this packet's payload was (or will be) handed to scan_stream.
    // Stream rules then skip the packet copy, as Suricata does for a segment
    // added to reassembly (PKT_STREAM_ADD); packet-level rules still see it.
    bool stream_added = false;
    uint16_t dsize = 0;                   // this packet's payload length (dsize is packet-level)
    // TCP with a tracked session: each direction's size as Suricata's
    // stream_size reads it once this packet is processed (next_seq - isn),
    // [0] the client's, [1] the server's. stream_size never matches without.
    bool tcp_session = false;
    uint32_t stream_size[2] = {0, 0};
    uint64_t ts_ns = 0;                   // packet timestamp, passed through to matches
    // The flow's flowbits (null without a flow): isset/isnotset read them,
    // a matching rule's set/unset/toggle write them at once, so a rule later
    // in the same packet sees the change (Suricata orders setters first).
    FlowBits* flowbits = nullptr;
};

// One confirmed rule match. rule indexes Database::rules().
struct Match {
    uint32_t rule = 0;
    uint32_t sid = 0, gid = 0, rev = 0;
    bool from_stream = false;  // matched on reassembled stream data (Suricata's STREAM_MATCH flag)
};

// A fixed-capacity batch the scanner appends confirmed matches to. When it is
// full further matches are counted in `dropped`, never stored: the caller
// drains it between packets (or bursts) and clears it.
class MatchSink {
public:
    static constexpr uint32_t kCapacity = 64;

    bool push(const Match& m) noexcept {
        if (count_ == kCapacity) {
            ++dropped_;
            return false;
        }
        items_[count_++] = m;
        return true;
    }
    void clear() noexcept { count_ = 0; }
    // For the alert filter, which reorders and drops matches in place.
    Match* data() noexcept { return items_.data(); }
    void truncate(uint32_t n) noexcept { count_ = n < count_ ? n : count_; }

    uint32_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    const Match& operator[](uint32_t i) const noexcept { return items_[i]; }
    const Match* begin() const noexcept { return items_.data(); }
    const Match* end() const noexcept { return items_.data() + count_; }
    uint64_t dropped() const noexcept { return dropped_; }  // detect.sink_full, cumulative

private:
    std::array<Match, kCapacity> items_{};
    uint32_t count_ = 0;
    uint64_t dropped_ = 0;
};

}  // namespace vtap::detect
