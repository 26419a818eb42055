// Rule-set hashing and the on-disk database cache (cold path).
#include "detect/cache.hpp"

#include "core/file_text.hpp"

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <variant>

namespace vtap::detect {

namespace {

constexpr char kMagic[8] = {'V', 'T', 'A', 'P', 'H', 'S', 'D', 'B'};
constexpr uint32_t kFormat = 2;  // 2: content chains compiled whole (chain.hpp)

// Length-prefixed canonical encoding: two rule sets encode equal iff every
// field the engine reads is equal.
class Enc {
public:
    void u(uint64_t v) { s_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
    void i(int64_t v) { u(static_cast<uint64_t>(v)); }
    void b(bool v) { s_.push_back(v ? '1' : '0'); }
    void str(const std::string& v) {
        u(v.size());
        s_ += v;
    }
    void iv(const rules::IntOrVar& v) {
        i(v.value);
        str(v.var);
    }
    void oiv(const std::optional<rules::IntOrVar>& v) {
        b(v.has_value());
        if (v) iv(*v);
    }
    void num(const std::optional<rules::NumCheck>& v) {
        b(v.has_value());
        if (v) {
            u(static_cast<uint8_t>(v->op));
            u(v->a);
            u(v->b);
        }
    }
    void addr(const rules::AddrSpec& a) {
        b(a.any);
        for (const auto* list : {&a.include, &a.exclude}) {
            u(list->size());
            for (const auto& c : *list) {
                u(c.family);
                s_.append(reinterpret_cast<const char*>(c.addr.data()), c.addr.size());
                u(c.len);
            }
        }
    }
    void ports(const rules::PortSpec& p) {
        b(p.any);
        for (const auto* list : {&p.include, &p.exclude}) {
            u(list->size());
            for (const auto& r : *list) {
                u(r.lo);
                u(r.hi);
            }
        }
    }
    void spec(const rules::ByteSpec& s) {
        u(s.nbytes);
        iv(s.offset);
        b(s.relative);
        b(s.little_endian);
        b(s.string);
        u(s.base);
        u(s.bitmask);
    }
    void payload(const rules::PayloadMatch& pm) {
        u(pm.index());
        if (const auto* c = std::get_if<rules::Content>(&pm)) {
            str(c->bytes);
            for (bool f : {c->negated, c->nocase, c->rawbytes, c->fast_pattern, c->startswith, c->endswith}) b(f);
            oiv(c->offset);
            oiv(c->depth);
            oiv(c->distance);
            oiv(c->within);
        } else if (const auto* p = std::get_if<rules::Pcre>(&pm)) {
            str(p->pattern);
            str(p->flags);
            b(p->negated);
            b(p->relative);
        } else if (const auto* t = std::get_if<rules::ByteTest>(&pm)) {
            spec(t->spec);
            u(static_cast<uint8_t>(t->op));
            b(t->negated);
            iv(t->value);
        } else if (const auto* j = std::get_if<rules::ByteJump>(&pm)) {
            spec(j->spec);
            i(j->multiplier);
            i(j->post_offset);
            for (bool f : {j->align, j->from_beginning, j->from_end}) b(f);
        } else if (const auto* e = std::get_if<rules::ByteExtract>(&pm)) {
            spec(e->spec);
            str(e->name);
            i(e->multiplier);
            b(e->align);
        } else if (const auto* d = std::get_if<rules::IsDataAt>(&pm)) {
            iv(d->offset);
            b(d->relative);
            b(d->negated);
        }
    }
    void rule(const rules::Rule& r) {
        u(static_cast<uint8_t>(r.action));
        u(static_cast<uint8_t>(r.proto));
        str(r.app_proto);
        addr(r.src);
        addr(r.dst);
        ports(r.src_ports);
        ports(r.dst_ports);
        b(r.bidirectional);
        u(r.gid);
        u(r.sid);
        u(r.rev);
        str(r.msg);
        str(r.classtype);
        u(r.priority);
        u(r.payload.size());
        for (const auto& pm : r.payload) payload(pm);
        const auto& f = r.flow;
        for (bool x : {f.to_server, f.to_client, f.established, f.not_established, f.stateless, f.only_stream, f.no_stream}) b(x);
        num(r.dsize);
        num(r.ttl);
        num(r.itype);
        num(r.icode);
        b(r.flags.has_value());
        if (r.flags) {
            u(r.flags->bits);
            u(r.flags->ignore);
            u(static_cast<uint8_t>(r.flags->modifier));
        }
        u(r.stream_size.size());
        for (const auto& ss : r.stream_size) {
            u(static_cast<uint8_t>(ss.side));
            num(ss.check);
        }
        b(r.noalert);
        u(r.flowbits.size());
        for (const auto& fb : r.flowbits) {
            u(static_cast<uint8_t>(fb.cmd));
            b(fb.any);
            u(fb.names.size());
            for (const auto& n : fb.names) str(n);
        }
        str(r.loc.file);  // errors name the file and line, so they are part of what we cache
        u(r.loc.line);
    }
    const std::string& bytes() const { return s_; }

private:
    std::string s_;
};

void put_u32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void put_u64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }

class Reader {
public:
    explicit Reader(std::string_view s) : s_(s) {}
    bool u32(uint32_t& v) { return take(&v, 4); }
    bool u64(uint64_t& v) { return take(&v, 8); }
    bool bytes(std::string& out, uint64_t n) {
        if (n > s_.size() - pos_) return false;
        out.assign(s_, pos_, n);
        pos_ += n;
        return true;
    }
    bool done() const { return pos_ == s_.size(); }

private:
    bool take(void* v, size_t n) {
        if (n > s_.size() - pos_) return false;
        std::memcpy(v, s_.data() + pos_, n);
        pos_ += n;
        return true;
    }
    std::string_view s_;
    size_t pos_ = 0;
};

}  // namespace

uint64_t fnv1a(const void* data, size_t len, uint64_t h) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string rule_set_key(const std::vector<rules::Rule>& rules, const CompileOptions& /*opts: no field changes the databases*/) {
    Enc e;
    e.str(hs_version());
    e.u(kFormat);
    e.u(rules.size());
    for (const auto& r : rules) e.rule(r);
    const std::string& s = e.bytes();
    // Two independent 64-bit lanes over 8-byte words (the encoding is
    // megabytes; FNV-1a a byte at a time was a tenth of a cached start).
    // Not adversarial input: the rule files are the operator's own.
    uint64_t h1 = 0xcbf29ce484222325ull ^ s.size(), h2 = 0x84222325cbf29ce4ull;
    auto mix = [&](uint64_t w) {
        h1 = std::rotl(h1 ^ w, 29) * 0x9e3779b97f4a7c15ull;
        h2 = (std::rotl(h2, 23) + w) * 0xc2b2ae3d27d4eb4full;
    };
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        mix(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    mix(tail ^ (uint64_t{s.size() - i} << 56));
    auto fin = [](uint64_t h) {  // murmur3's finalizer: every input bit reaches every output bit
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        return h ^ (h >> 33);
    };
    h1 = fin(h1);
    h2 = fin(h2 ^ h1);
    char hex[33];
    std::snprintf(hex, sizeof(hex), "%016llx%016llx", static_cast<unsigned long long>(h1), static_cast<unsigned long long>(h2));
    return hex;
}

std::string cache_path(const std::string& dir, const std::string& key) { return dir + "/detect-" + key + ".hsdb"; }

Result<std::vector<CachedGroup>> read_cache(const std::string& path, const std::string& key) {
    auto file = MappedFile::open(path);
    if (!file) return fail(path, "no cache file");
    Reader r(file->text());
    std::string magic, k;
    uint32_t format = 0, n = 0;
    if (!r.bytes(magic, sizeof(kMagic)) || std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0)
        return fail(path, "not a vtapd database cache");
    if (!r.u32(format) || format != kFormat) return fail(path, "cache format " + std::to_string(format) + " is not " + std::to_string(kFormat));
    if (!r.bytes(k, 32) || k != key) return fail(path, "cache key differs from the rule set's");
    if (!r.u32(n) || n > kGroupCount) return fail(path, "corrupt group count");
    std::vector<CachedGroup> groups(n);
    for (auto& g : groups) {
        uint32_t id = 0, nd = 0;
        uint64_t blob = 0;
        if (!r.u32(id) || id >= kGroupCount || !r.u32(g.patterns) || !r.u64(g.pattern_hash) || !r.u32(nd) || nd > (1u << 26))
            return fail(path, "corrupt group header");
        g.id = static_cast<uint8_t>(id);
        g.demoted.resize(nd);
        for (auto& d : g.demoted)
            if (!r.u32(d)) return fail(path, "truncated demoted list");
        if (!r.u64(blob) || !r.bytes(g.blob, blob)) return fail(path, "truncated database");
    }
    if (!r.done()) return fail(path, "trailing bytes");
    return groups;
}

Result<void> write_cache(const std::string& path, const std::string& key, const std::vector<CachedGroup>& groups) {
    std::string out(kMagic, sizeof(kMagic));
    put_u32(out, kFormat);
    out += key;
    put_u32(out, static_cast<uint32_t>(groups.size()));
    for (const auto& g : groups) {
        put_u32(out, g.id);
        put_u32(out, g.patterns);
        put_u64(out, g.pattern_hash);
        put_u32(out, static_cast<uint32_t>(g.demoted.size()));
        for (uint32_t d : g.demoted) put_u32(out, d);
        put_u64(out, g.blob.size());
        out += g.blob;
    }
    std::error_code ec;
    const std::filesystem::path p(path);
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) return fail(p.parent_path().string(), "cannot create cache dir: " + ec.message());
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return fail(tmp, "cannot open for writing");
        f.write(out.data(), static_cast<std::streamsize>(out.size()));
        if (!f) return fail(tmp, "write failed");
    }
    std::filesystem::rename(tmp, p, ec);
    if (ec) return fail(path, "cannot rename cache into place: " + ec.message());
    return {};
}

}  // namespace vtap::detect
