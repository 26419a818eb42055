// One alert as it crosses from a worker lcore to the output side: a
// fixed-size, trivially copyable value. Message, classtype and a payload
// excerpt are bounded copies, so nothing in a record points into packet
// memory (freed after the burst) or rule memory (swapped by RCU on reload).
// The worker fills it on its stack and publishes a copy (alert_queue.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "core/ids.hpp"

namespace vtap::alert {

enum class Direction : uint8_t { kUnknown, kToServer, kToClient };
enum class Action : uint8_t { kAllowed, kBlocked };  // EVE "allowed" / "blocked"; a passive tap only allows

// Length of the longest prefix of s[0..n) that does not end inside a UTF-8
// sequence that starts before n, so cutting valid text keeps it valid.
constexpr size_t utf8_cut(const char* s, size_t len, size_t n) noexcept {
    if (len <= n) return len;
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        const auto c = static_cast<uint8_t>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;             // continuation: keep looking for the lead
        const size_t need = c >= 0xF8 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > back ? n - back : n;            // lead byte whose sequence crosses n: cut before it
    }
    return n;
}

// Bounded text: up to N bytes, cut at a UTF-8 boundary; `cut` says it was.
template <size_t N>
struct BoundedText {
    static_assert(N > 0 && N <= 0xFFFF);
    static constexpr size_t kMax = N;

    uint16_t len = 0;
    bool cut = false;
    char bytes[N];

    void set(std::string_view s) noexcept {
        const size_t n = utf8_cut(s.data(), s.size(), N);
        std::memcpy(bytes, s.data(), n);
        len = static_cast<uint16_t>(n);
        cut = n < s.size();
    }
    // Clamped: a record is plain data, and its reader must not trust len.
    std::string_view view() const noexcept { return {bytes, len < N ? len : N}; }
};

// The first N bytes of the payload and the payload's whole length.
template <size_t N>
struct PayloadExcerpt {
    static constexpr size_t kMax = N;

    uint32_t total = 0;  // original payload length
    uint16_t len = 0;    // bytes kept, min(total, N)
    uint8_t bytes[N];

    void set(const uint8_t* p, size_t n) noexcept {
        const size_t k = n < N ? n : N;
        if (k) std::memcpy(bytes, p, k);
        len = static_cast<uint16_t>(k);
        total = static_cast<uint32_t>(n);
    }
    size_t kept() const noexcept { return len < N ? len : N; }  // clamped, as BoundedText::view
    bool cut() const noexcept { return len < total; }
};

struct alignas(64) AlertRecord {
    static constexpr size_t kMsgMax = 192;
    static constexpr size_t kClassNameMax = 48;
    static constexpr size_t kClassDescMax = 96;
    static constexpr size_t kPayloadMax = 256;

    uint64_t ts_ns = 0;     // packet time, ns since the Unix epoch (UTC)
    uint64_t flow_id = 0;   // the worker's flow id; EVE prints it masked to 53 bits

    // Inner packet, as seen (not flow-normalised): src is the packet's source.
    std::array<uint8_t, 16> src_addr{};  // network order; IPv4 in the first 4 bytes
    std::array<uint8_t, 16> dst_addr{};
    uint16_t src_port = 0;  // host order; ICMP/ICMPv6: the type
    uint16_t dst_port = 0;  // host order; ICMP/ICMPv6: the code
    uint8_t family = 4;     // 4 or 6
    uint8_t ip_proto = 0;   // IPPROTO_*
    Direction direction = Direction::kUnknown;
    Action action = Action::kAllowed;

    // Outer VXLAN (the tap copy's envelope), straight from PktMeta.
    bool tunneled = false;  // false: the packet was not decapsulated (plain capture)
    Vni vni{};
    uint32_t tap_src = 0;   // outer IPv4 source (the tapped VM), network order
    uint32_t tap_dst = 0;   // outer IPv4 destination (this collector), network order

    // Rule.
    uint32_t gid = 1, sid = 0, rev = 0;
    uint8_t priority = 3;   // EVE "severity"
    WorkerId worker{};
    PortId port{};          // ethdev port the tap copy arrived on

    BoundedText<kMsgMax> msg;               // rule msg
    BoundedText<kClassNameMax> class_name;  // classtype, "trojan-activity"
    BoundedText<kClassDescMax> class_desc;  // its description, EVE "category"
    PayloadExcerpt<kPayloadMax> payload;

    void set_ipv4(uint32_t src_net, uint32_t dst_net) noexcept {
        family = 4;
        src_addr = {};
        dst_addr = {};
        std::memcpy(src_addr.data(), &src_net, 4);
        std::memcpy(dst_addr.data(), &dst_net, 4);
    }
    void set_ipv6(const uint8_t* src16, const uint8_t* dst16) noexcept {
        family = 6;
        std::memcpy(src_addr.data(), src16, 16);
        std::memcpy(dst_addr.data(), dst16, 16);
    }
};

static_assert(std::is_trivially_copyable_v<AlertRecord>, "records are copied into a ring by value");
static_assert(sizeof(AlertRecord) % 64 == 0);
static_assert(sizeof(AlertRecord) <= 768, "keep one record within 12 cache lines");

}  // namespace vtap::alert
