// Address and port specs as exact sets. A list means "(union of its plain
// items, or everything when it has none) minus (union of its negated items)",
// applied recursively; that is how Suricata reads "[10.0.0.0/8,![10.1.0.0/16,
// !10.1.2.0/24]]" and why a flat include/exclude split is not enough while
// parsing. Sets are closed intervals per family.
#include "rules/net_spec.hpp"
#include "rules/text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <vector>

namespace vtap::rules {

const Vars& default_vars() {
    // suricata.yaml's address-groups / port-groups; SIP_* from snort_defaults.lua.
    static const Vars kDefaults{
        .addr = {{"HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"},
                 {"EXTERNAL_NET", "!$HOME_NET"},
                 {"HTTP_SERVERS", "$HOME_NET"},
                 {"SMTP_SERVERS", "$HOME_NET"},
                 {"SQL_SERVERS", "$HOME_NET"},
                 {"DNS_SERVERS", "$HOME_NET"},
                 {"TELNET_SERVERS", "$HOME_NET"},
                 {"AIM_SERVERS", "$EXTERNAL_NET"},
                 {"DC_SERVERS", "$HOME_NET"},
                 {"DNP3_SERVER", "$HOME_NET"},
                 {"DNP3_CLIENT", "$HOME_NET"},
                 {"MODBUS_CLIENT", "$HOME_NET"},
                 {"MODBUS_SERVER", "$HOME_NET"},
                 {"ENIP_CLIENT", "$HOME_NET"},
                 {"ENIP_SERVER", "$HOME_NET"},
                 {"SIP_SERVERS", "$HOME_NET"}},
        .port = {{"HTTP_PORTS", "80"},
                 {"SHELLCODE_PORTS", "!80"},
                 {"ORACLE_PORTS", "1521"},
                 {"SSH_PORTS", "22"},
                 {"DNP3_PORTS", "20000"},
                 {"MODBUS_PORTS", "502"},
                 {"FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
                 {"FTP_PORTS", "21"},
                 {"GENEVE_PORTS", "6081"},
                 {"VXLAN_PORTS", "4789"},
                 {"TEREDO_PORTS", "3544"},
                 {"SIP_PORTS", "[5060,5061,5600]"}},
    };
    return kDefaults;
}

namespace detail {
namespace {

__extension__ typedef unsigned __int128 u128;

constexpr int kMaxVarDepth = 16;  // deeper nesting is a cycle in practice

template <class U>
struct Iv {
    U lo, hi;  // closed
};
template <class U>
using Ivs = std::vector<Iv<U>>;
template <class U>
constexpr U kMax = static_cast<U>(~U(0));
template <class U>
constexpr int kBits = static_cast<int>(sizeof(U) * 8);

template <class U>
void normalize(Ivs<U>& v) {
    if (v.size() < 2) return;
    std::sort(v.begin(), v.end(), [](const Iv<U>& a, const Iv<U>& b) { return a.lo < b.lo; });
    size_t out = 0;
    for (size_t i = 1; i < v.size(); ++i) {
        Iv<U>& cur = v[out];
        if (cur.hi == kMax<U> || v[i].lo <= static_cast<U>(cur.hi + 1)) {
            cur.hi = std::max(cur.hi, v[i].hi);
        } else {
            v[++out] = v[i];
        }
    }
    v.resize(out + 1);
}

template <class U>
Ivs<U> complement(const Ivs<U>& v) {  // v normalized
    Ivs<U> out;
    U cur = 0;
    for (const auto& iv : v) {
        if (iv.lo > cur) out.push_back({cur, static_cast<U>(iv.lo - 1)});
        if (iv.hi == kMax<U>) return out;
        cur = static_cast<U>(iv.hi + 1);
    }
    out.push_back({cur, kMax<U>});
    return out;
}

template <class U>
Ivs<U> intersect(const Ivs<U>& a, const Ivs<U>& b) {  // both normalized
    Ivs<U> out;
    size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        U lo = std::max(a[i].lo, b[j].lo), hi = std::min(a[i].hi, b[j].hi);
        if (lo <= hi) out.push_back({lo, hi});
        if (a[i].hi < b[j].hi) ++i; else ++j;
    }
    return out;
}

template <class U>
void unite(Ivs<U>& a, const Ivs<U>& b) {
    a.insert(a.end(), b.begin(), b.end());
    normalize(a);
}

template <class U>
bool is_all(const Ivs<U>& v) {
    return v.size() == 1 && v[0].lo == 0 && v[0].hi == kMax<U>;
}

int ctz(uint32_t x) { return x ? std::countr_zero(x) : 32; }
int ctz(u128 x) {
    auto lo = static_cast<uint64_t>(x), hi = static_cast<uint64_t>(x >> 64);
    if (lo) return std::countr_zero(lo);
    return hi ? 64 + std::countr_zero(hi) : 128;
}
int floor_log2(uint32_t x) { return std::bit_width(x) - 1; }
int floor_log2(u128 x) {
    auto hi = static_cast<uint64_t>(x >> 64);
    return hi ? 63 + std::bit_width(hi) : std::bit_width(static_cast<uint64_t>(x)) - 1;
}

// Splits each interval into the fewest aligned prefixes covering it.
template <class U, class F>
void for_each_prefix(const Ivs<U>& v, F&& emit) {
    constexpr int W = kBits<U>;
    for (const auto& iv : v) {
        U lo = iv.lo;
        for (;;) {
            U span = static_cast<U>(iv.hi - lo);  // size - 1
            int k = std::min(ctz(lo), span == kMax<U> ? W : floor_log2(static_cast<U>(span + 1)));
            emit(lo, W - k);
            if (k == W) break;
            U last = static_cast<U>(lo + ((U(1) << k) - 1));
            if (last == iv.hi) break;
            lo = static_cast<U>(last + 1);
        }
    }
}

struct AddrSet {
    Ivs<uint32_t> v4;
    Ivs<u128> v6;

    static AddrSet all() { return {{{0, kMax<uint32_t>}}, {{0, kMax<u128>}}}; }
    bool empty() const { return v4.empty() && v6.empty(); }
    bool full() const { return is_all(v4) && is_all(v6); }
    AddrSet inverse() const { return {complement(v4), complement(v6)}; }
    void add(const AddrSet& o) { unite(v4, o.v4); unite(v6, o.v6); }
    AddrSet minus(const AddrSet& o) const {
        return {intersect(v4, complement(o.v4)), intersect(v6, complement(o.v6))};
    }
};

struct PortSet {
    Ivs<uint16_t> r;

    static PortSet all() { return {{{0, 65535}}}; }
    bool empty() const { return r.empty(); }
    bool full() const { return is_all(r); }
    PortSet inverse() const { return {complement(r)}; }
    void add(const PortSet& o) { unite(r, o.r); }
    PortSet minus(const PortSet& o) const { return {intersect(r, complement(o.r))}; }
};

std::vector<Cidr> to_cidrs(const AddrSet& s) {
    std::vector<Cidr> out;
    for_each_prefix(s.v4, [&](uint32_t base, int len) {
        Cidr c{.family = 4, .len = static_cast<uint8_t>(len)};
        for (int b = 0; b < 4; ++b) c.addr[b] = static_cast<uint8_t>(base >> (24 - 8 * b));
        out.push_back(c);
    });
    for_each_prefix(s.v6, [&](u128 base, int len) {
        Cidr c{.family = 6, .len = static_cast<uint8_t>(len)};
        for (int b = 0; b < 16; ++b) c.addr[b] = static_cast<uint8_t>(base >> (120 - 8 * b));
        out.push_back(c);
    });
    return out;
}

std::vector<PortRange> to_ranges(const PortSet& s) {
    std::vector<PortRange> out;
    for (const auto& iv : s.r) out.push_back({iv.lo, iv.hi});
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

std::expected<AddrSet, std::string> parse_ip(std::string_view tok) {
    auto bad = [&] { return std::unexpected("bad address " + quote(tok)); };
    auto one = [](std::string_view ip, int& family, uint32_t& v4, u128& v6) {
        char buf[INET6_ADDRSTRLEN + 1];
        if (ip.empty() || ip.size() >= sizeof buf) return false;
        std::memcpy(buf, ip.data(), ip.size());
        buf[ip.size()] = 0;
        uint8_t raw[16];
        family = ip.find(':') != std::string_view::npos ? 6 : 4;
        if (inet_pton(family == 6 ? AF_INET6 : AF_INET, buf, raw) != 1) return false;
        v4 = 0;
        v6 = 0;
        for (int b = 0; b < (family == 6 ? 16 : 4); ++b) {
            v4 = (v4 << 8) | raw[b];
            v6 = (v6 << 8) | raw[b];
        }
        return true;
    };
    int fam = 0;
    uint32_t a4 = 0;
    u128 a6 = 0;
    if (auto dash = tok.find('-'); dash != std::string_view::npos) {  // "a-b" range
        int fam2 = 0;
        uint32_t b4 = 0;
        u128 b6 = 0;
        if (!one(tok.substr(0, dash), fam, a4, a6) || !one(tok.substr(dash + 1), fam2, b4, b6) ||
            fam != fam2 || (fam == 4 ? a4 > b4 : a6 > b6))
            return bad();
        return fam == 4 ? AddrSet{{{a4, b4}}, {}} : AddrSet{{}, {{a6, b6}}};
    }
    auto slash = tok.find('/');
    if (!one(tok.substr(0, slash), fam, a4, a6)) return bad();
    int len = fam == 4 ? 32 : 128;
    if (slash != std::string_view::npos) {
        std::string_view p = tok.substr(slash + 1);
        int fm = 0;
        uint32_t m4 = 0;
        u128 m6 = 0;
        if (fam == 4 && p.find('.') != std::string_view::npos) {  // dotted netmask
            if (!one(p, fm, m4, m6) || fm != 4 || (~m4 & (~m4 + 1)) != 0) return bad();
            len = std::popcount(m4);
        } else {
            auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), len);
            if (ec != std::errc{} || end != p.data() + p.size() || len < 0 || len > (fam == 4 ? 32 : 128))
                return bad();
        }
    }
    if (fam == 4) {
        uint32_t host = len == 0 ? kMax<uint32_t> : (len == 32 ? 0 : kMax<uint32_t> >> len);
        return AddrSet{{{a4 & ~host, (a4 & ~host) | host}}, {}};
    }
    u128 host = len == 0 ? kMax<u128> : (len == 128 ? 0 : kMax<u128> >> len);
    return AddrSet{{}, {{a6 & ~host, (a6 & ~host) | host}}};
}

std::expected<PortSet, std::string> parse_port_atom(std::string_view tok) {
    auto num = [](std::string_view s, uint16_t& out) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v > 65535) return false;
        out = static_cast<uint16_t>(v);
        return true;
    };
    uint16_t lo = 0, hi = 65535;
    auto colon = tok.find(':');
    bool ok = colon == std::string_view::npos
                  ? num(tok, lo) && (hi = lo, true)
                  : (colon == 0 || num(tok.substr(0, colon), lo)) &&
                        (colon + 1 == tok.size() || num(tok.substr(colon + 1), hi)) && tok != ":";
    if (!ok) return std::unexpected("bad port " + quote(tok));
    if (lo > hi) return std::unexpected("port range " + quote(tok) + " is empty");
    return PortSet{{{lo, hi}}};
}

}  // namespace

struct NetResolver::Impl {
    Vars vars;
    std::map<std::string, AddrSet, std::less<>> addr_vars;
    std::map<std::string, PortSet, std::less<>> port_vars;
    std::map<std::string, AddrSpec, std::less<>> addr_specs;  // short spec texts only
    std::map<std::string, PortSpec, std::less<>> port_specs;

    // One template for both kinds; Kind selects atoms and variables.
    template <class Set>
    std::expected<Set, std::string> evaluate(std::string_view text, int depth);
    template <class Set>
    std::expected<Set, std::string> elements(std::string_view text, size_t& i, bool bracketed, int depth);
    template <class Set>
    std::expected<Set, std::string> atom(std::string_view tok, int depth);
    template <class Set>
    std::expected<Set, std::string> variable(std::string_view name, int depth);
};

template <class Set>
std::expected<Set, std::string> NetResolver::Impl::evaluate(std::string_view text, int depth) {
    size_t i = 0;
    auto set = elements<Set>(text, i, false, depth);
    if (!set) return set;
    if (i != text.size()) return std::unexpected("unexpected " + quote(text.substr(i)) + " in " + quote(text));
    return set;
}

// Parses comma-separated items up to ']' (bracketed) or the end of text.
template <class Set>
std::expected<Set, std::string> NetResolver::Impl::elements(std::string_view text, size_t& i, bool bracketed,
                                                            int depth) {
    auto ws = [&] { while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i; };
    Set pos, neg;
    bool have_pos = false, first = true;
    for (;;) {
        ws();
        if (i == text.size() || text[i] == ']' || text[i] == ',') {
            if (first && bracketed) return std::unexpected("empty list in " + quote(text));
            return std::unexpected("missing item in " + quote(text));
        }
        first = false;
        bool negated = false;
        while (i < text.size() && text[i] == '!') {
            negated = !negated;
            ++i;
            ws();
        }
        std::expected<Set, std::string> item;
        if (i < text.size() && text[i] == '[') {
            ++i;
            item = elements<Set>(text, i, true, depth);
            if (!item) return item;
            ++i;  // the ']' elements() stopped at
        } else {
            size_t start = i;
            while (i < text.size() && text[i] != ',' && text[i] != ']' && text[i] != ' ' && text[i] != '\t') ++i;
            item = atom<Set>(text.substr(start, i - start), depth);
            if (!item) return item;
        }
        if (negated) {
            neg.add(*item);
        } else {
            pos.add(*item);
            have_pos = true;
        }
        ws();
        if (i < text.size() && text[i] == ',') {
            ++i;
            continue;
        }
        if (bracketed && i == text.size()) return std::unexpected("unbalanced '[' in " + quote(text));
        if (bracketed && text[i] != ']') return std::unexpected("expected ',' or ']' at " + quote(text.substr(i)));
        if (!bracketed && i < text.size() && text[i] == ']') return std::unexpected("unbalanced ']' in " + quote(text));
        break;
    }
    return (have_pos ? pos : Set::all()).minus(neg);
}

template <class Set>
std::expected<Set, std::string> NetResolver::Impl::atom(std::string_view tok, int depth) {
    if (tok.empty()) return std::unexpected(std::string("empty item"));
    if (iequals(tok, "any")) return Set::all();
    if (tok[0] == '$') return variable<Set>(tok.substr(1), depth + 1);
    if constexpr (std::is_same_v<Set, AddrSet>) {
        return parse_ip(tok);
    } else {
        return parse_port_atom(tok);
    }
}

template <class Set>
std::expected<Set, std::string> NetResolver::Impl::variable(std::string_view name, int depth) {
    constexpr bool kAddr = std::is_same_v<Set, AddrSet>;
    auto& cache = [this]() -> auto& {
        if constexpr (kAddr) return addr_vars; else return port_vars;
    }();
    if (auto it = cache.find(name); it != cache.end()) return it->second;
    if (depth > kMaxVarDepth) return std::unexpected("variable $" + std::string(name) + " nests too deep (a cycle?)");
    const auto& given = kAddr ? vars.addr : vars.port;
    const auto& fallback = kAddr ? default_vars().addr : default_vars().port;
    const auto& other = kAddr ? vars.port : vars.addr;
    const auto& other_default = kAddr ? default_vars().port : default_vars().addr;
    std::string key(name);
    const std::string* value = nullptr;
    if (auto it = given.find(key); it != given.end()) value = &it->second;
    else if (auto d = fallback.find(key); d != fallback.end()) value = &d->second;
    if (!value) {
        if (other.contains(key) || other_default.contains(key))
            return std::unexpected("$" + key + " is a " + (kAddr ? "port" : "address") + " variable, used as " +
                                   (kAddr ? "an address" : "a port"));
        return std::unexpected("undefined variable $" + key);
    }
    auto set = evaluate<Set>(*value, depth);
    if (!set) {
        if (set.error().starts_with("variable $")) return set;
        return std::unexpected("variable $" + key + ": " + set.error());
    }
    cache.emplace(key, *set);
    return set;
}

NetResolver::NetResolver(const Vars& vars) : impl_(std::make_unique<Impl>(Impl{vars, {}, {}, {}, {}})) {}
NetResolver::~NetResolver() = default;

namespace {
constexpr size_t kCachedSpecLen = 64;  // long literal lists (reputation rules) are unique anyway
}

std::expected<AddrSpec, std::string> NetResolver::address(std::string_view text) {
    if (auto it = impl_->addr_specs.find(text); it != impl_->addr_specs.end()) return it->second;
    auto set = impl_->evaluate<AddrSet>(text, 0);
    if (!set) return std::unexpected(set.error());
    if (set->empty()) return std::unexpected("address " + quote(text) + " matches nothing");
    AddrSpec spec;
    if (!set->full()) {
        spec.any = false;
        auto in = to_cidrs(*set), out = to_cidrs(set->inverse());
        if (in.size() <= out.size()) spec.include = std::move(in); else spec.exclude = std::move(out);
    }
    if (text.size() <= kCachedSpecLen) impl_->addr_specs.emplace(std::string(text), spec);
    return spec;
}

std::expected<PortSpec, std::string> NetResolver::ports(std::string_view text) {
    if (auto it = impl_->port_specs.find(text); it != impl_->port_specs.end()) return it->second;
    auto set = impl_->evaluate<PortSet>(text, 0);
    if (!set) return std::unexpected(set.error());
    if (set->empty()) return std::unexpected("port " + quote(text) + " matches nothing");
    PortSpec spec;
    if (!set->full()) {
        spec.any = false;
        auto in = to_ranges(*set), out = to_ranges(set->inverse());
        if (in.size() <= out.size()) spec.include = std::move(in); else spec.exclude = std::move(out);
    }
    if (text.size() <= kCachedSpecLen) impl_->port_specs.emplace(std::string(text), spec);
    return spec;
}

}  // namespace detail
}  // namespace vtap::rules
