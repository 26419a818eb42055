#include "alert/community_id.hpp"

#include <cstring>
#include <utility>

#include "alert/sha1.hpp"

namespace vtap::alert {

namespace {

constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmp6 = 58, kSctp = 132;

// Zeek's ICMP4_counterpart / ICMP6_counterpart: the type of the reply that
// pairs with this one, or -1 when the message has no counterpart (one-way).
int icmp4_counterpart(uint8_t type) {
    switch (type) {
        case 8: return 0;    // echo -> echo reply
        case 0: return 8;
        case 13: return 14;  // timestamp
        case 14: return 13;
        case 15: return 16;  // information
        case 16: return 15;
        case 10: return 9;   // router solicitation -> advertisement
        case 9: return 10;
        case 17: return 18;  // address mask
        case 18: return 17;
        default: return -1;
    }
}

int icmp6_counterpart(uint8_t type) {
    switch (type) {
        case 128: return 129;  // echo request -> reply
        case 129: return 128;
        case 130: return 131;  // MLD query -> report
        case 131: return 130;
        case 133: return 134;  // router solicitation -> advertisement
        case 134: return 133;
        case 135: return 136;  // neighbor solicitation -> advertisement
        case 136: return 135;
        case 139: return 140;  // who-are-you request -> reply
        case 140: return 139;
        case 144: return 145;  // home agent address discovery
        case 145: return 144;
        default: return -1;
    }
}

}  // namespace

void community_id_v1(const FlowTuple& t, uint16_t seed, char* out) noexcept {
    const size_t alen = t.family == 6 ? 16 : 4;
    uint16_t sp = t.src_port, dp = t.dst_port;
    bool has_ports = t.proto == kTcp || t.proto == kUdp || t.proto == kSctp;
    bool one_way = false;
    if (t.proto == kIcmp || t.proto == kIcmp6) {
        has_ports = true;
        const auto type = static_cast<uint8_t>(t.src_port);
        const int peer = t.proto == kIcmp ? icmp4_counterpart(type) : icmp6_counterpart(type);
        sp = type;
        if (peer < 0) {
            one_way = true;
            dp = t.dst_port;  // the code
        } else {
            dp = static_cast<uint16_t>(peer);
        }
    }

    // Order endpoints so the smaller (address, port) comes first; a one-way
    // ICMP message keeps its orientation.
    const int c = std::memcmp(t.src, t.dst, alen);
    const bool keep = one_way || c < 0 || (c == 0 && (!has_ports || sp <= dp));
    const uint8_t* a = keep ? t.src : t.dst;
    const uint8_t* b = keep ? t.dst : t.src;
    if (!keep) std::swap(sp, dp);

    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = static_cast<uint8_t>(seed >> 8);
    buf[n++] = static_cast<uint8_t>(seed);
    std::memcpy(buf + n, a, alen);
    n += alen;
    std::memcpy(buf + n, b, alen);
    n += alen;
    buf[n++] = t.proto;
    buf[n++] = 0;
    if (has_ports) {
        buf[n++] = static_cast<uint8_t>(sp >> 8);
        buf[n++] = static_cast<uint8_t>(sp);
        buf[n++] = static_cast<uint8_t>(dp >> 8);
        buf[n++] = static_cast<uint8_t>(dp);
    }
    Sha1 h;
    h.update(buf, n);
    const Sha1::Digest d = h.finish();
    out[0] = '1';
    out[1] = ':';
    base64_encode(d.data(), d.size(), out + 2);
}

std::string community_id_v1(const FlowTuple& t, uint16_t seed) {
    std::string s(kCommunityIdLen, '\0');
    community_id_v1(t, seed, s.data());
    return s;
}

}  // namespace vtap::alert
