#include "gen/net.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

namespace vtap::gen {

IpAddr IpAddr::v4(const Ipv4& a) {
    IpAddr r;
    r.family = 4;
    for (size_t i = 0; i < 4; ++i) r.b[i] = a[i];
    return r;
}

IpAddr IpAddr::v6(const Ipv6& a) {
    IpAddr r;
    r.family = 6;
    r.b = a;
    return r;
}

Result<Ipv4> parse_ipv4(std::string_view text) {
    Ipv4 out{};
    std::string_view rest = text;
    for (size_t i = 0; i < 4; ++i) {
        unsigned v = 256;
        auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
        size_t used = static_cast<size_t>(ptr - rest.data());
        if (ec != std::errc{} || v > 255 || used == 0 || used > 3) break;
        out[i] = static_cast<uint8_t>(v);
        rest.remove_prefix(used);
        if (i == 3) {
            if (rest.empty()) return out;
            break;
        }
        if (rest.empty() || rest.front() != '.') break;
        rest.remove_prefix(1);
    }
    return fail("", std::string("'") + std::string(text) + "' is not an IPv4 address (want A.B.C.D)");
}

Result<Ipv4Net> parse_ipv4_net(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return fail("", std::string("'") + std::string(text) + "' is not an IPv4 prefix (want A.B.C.D/len)");
    auto base = parse_ipv4(text.substr(0, slash));
    if (!base) return std::unexpected(base.error());
    auto len_text = text.substr(slash + 1);
    unsigned len = 99;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len > 32)
        return fail("", std::string("'") + std::string(text) + "': prefix length must be 0..32");
    uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    return Ipv4Net{from_u32(to_u32(*base) & mask), static_cast<uint8_t>(len)};
}

Result<Mac> parse_mac(std::string_view text) {
    Mac m{};
    if (text.size() == 17) {
        bool ok = true;
        for (size_t i = 0; i < 6 && ok; ++i) {
            auto part = text.substr(i * 3, 2);
            unsigned v = 0;
            auto [ptr, ec] = std::from_chars(part.data(), part.data() + 2, v, 16);
            ok = ec == std::errc{} && ptr == part.data() + 2 && (i == 5 || text[i * 3 + 2] == ':');
            m[i] = static_cast<uint8_t>(v);
        }
        if (ok) return m;
    }
    return fail("", std::string("'") + std::string(text) + "' is not a MAC address (want aa:bb:cc:dd:ee:ff)");
}

std::string to_string(const Ipv4& a) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, a.data(), buf, sizeof buf);
    return buf;
}

std::string to_string(const IpAddr& a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(a.is_v6() ? AF_INET6 : AF_INET, a.b.data(), buf, sizeof buf);
    return buf;
}

uint32_t to_u32(const Ipv4& a) { return get32(a.data()); }

Ipv4 from_u32(uint32_t v) {
    Ipv4 a;
    put32(a.data(), v);
    return a;
}

Ipv6 lab_ipv6(const Ipv4& a) {
    Ipv6 r{0x20, 0x01, 0x00, 0x02};
    for (size_t i = 0; i < 4; ++i) r[12 + i] = a[i];
    return r;
}

uint32_t checksum_add(uint32_t sum, std::span<const uint8_t> data) {
    size_t i = 0;
    for (; i + 1 < data.size(); i += 2) sum += get16(&data[i]);
    if (i < data.size()) sum += uint32_t{data[i]} << 8;  // RFC 1071: pad the odd byte with zero
    // Fold early so a 64 KiB span cannot overflow 32 bits.
    return (sum & 0xffff) + (sum >> 16);
}

uint16_t checksum_finish(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint32_t l4_len) {
    uint32_t sum = checksum_add(0, src.bytes());
    sum = checksum_add(sum, dst.bytes());
    sum += proto;
    sum += l4_len >> 16;
    sum += l4_len & 0xffff;
    return sum;
}

}  // namespace vtap::gen
