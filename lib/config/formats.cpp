// Textual formats: IPv4 prefixes, MAC/PCI/VMBus addresses, port names.
#include "config/formats.hpp"

#include <charconv>
#include <string>

#include "config/config.hpp"

namespace vtap::config {

namespace {

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool all_hex(std::string_view s) {
    for (char c : s)
        if (!is_hex(c)) return false;
    return !s.empty();
}

// A decimal number with no sign and no leading zero ("0" itself is fine):
// inet_aton reads "010" as octal 8, so refusing it removes the ambiguity.
bool parse_decimal(std::string_view s, unsigned max, unsigned& out) {
    if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    std::from_chars(s.data(), s.data() + s.size(), out);
    return out <= max;
}

std::string dotted(uint32_t a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
           std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

}  // namespace

Result<decap::Ipv4Prefix> parse_prefix(const std::string& text) {
    std::string_view s = text;
    auto bad = [&](std::string why) {
        return fail("", "bad IPv4 prefix '" + text + "': " + why);
    };
    std::string_view addr_part = s, len_part;
    bool has_len = false;
    if (auto slash = s.find('/'); slash != std::string_view::npos) {
        addr_part = s.substr(0, slash);
        len_part = s.substr(slash + 1);
        has_len = true;
    }

    uint32_t addr = 0;
    std::string_view rest = addr_part;
    for (int i = 0; i < 4; i++) {
        size_t dot = rest.find('.');
        std::string_view octet = i < 3 ? rest.substr(0, dot) : rest;
        if (i < 3 && dot == std::string_view::npos)
            return bad("expected four dot-separated octets, like 198.18.0.0/15");
        unsigned v = 0;
        if (!parse_decimal(octet, 255, v))
            return bad("octet '" + std::string(octet) +
                       "' is not a decimal number 0..255 without leading zeros");
        addr = addr << 8 | v;
        if (i < 3) rest.remove_prefix(dot + 1);
    }

    unsigned len = 32;  // a bare address means that one host
    if (has_len && !parse_decimal(len_part, 32, len))
        return bad("prefix length '" + std::string(len_part) + "' is not 0..32");

    decap::Ipv4Prefix p{addr, static_cast<uint8_t>(len)};
    // Host bits set usually means a typo in the address or the length (was
    // 10.1.2.0/16 meant as /24?); guessing either way silently changes which
    // sources are analysed, so refuse and show the network address.
    if ((addr & ~p.mask()) != 0)
        return bad("host bits are set; the network is " + dotted(addr & p.mask()) + "/" +
                   std::to_string(len));
    return p;
}

namespace detail {

bool is_mac(std::string_view s) {
    if (s.size() != 17) return false;
    char sep = s[2];
    if (sep != ':' && sep != '-') return false;
    for (size_t i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != sep) return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

bool is_pci_address(std::string_view s) {
    // [domain:]bus:device.function
    size_t dot = s.rfind('.');
    if (dot == std::string_view::npos || s.size() - dot != 2 || s[dot + 1] < '0' ||
        s[dot + 1] > '7')
        return false;
    std::string_view head = s.substr(0, dot);
    size_t c2 = head.rfind(':');
    if (c2 == std::string_view::npos) return false;
    std::string_view dev = head.substr(c2 + 1);
    head = head.substr(0, c2);
    size_t c1 = head.rfind(':');
    std::string_view bus = c1 == std::string_view::npos ? head : head.substr(c1 + 1);
    if (dev.size() != 2 || !all_hex(dev) || bus.size() != 2 || !all_hex(bus)) return false;
    if (c1 == std::string_view::npos) return true;
    std::string_view dom = head.substr(0, c1);
    return dom.size() <= 8 && all_hex(dom);
}

bool is_vmbus_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

bool is_port_name(std::string_view s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

}  // namespace detail
}  // namespace vtap::config
