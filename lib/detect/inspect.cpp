// Payload inspection with Suricata's semantics. The structure mirrors
// DetectEngineContentInspectionInternal: each keyword either fails, or
// matches and hands the rest of the list the new position; content and pcre
// loop over later occurrences when a later keyword depends on their position.
// Result kAbort is Suricata's "-1, discontinue": no occurrence can help.
#include "detect/inspect.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vtap::detect {

void PcreDeleter::operator()(pcre2_real_code_8* code) const noexcept { pcre2_code_free(code); }

namespace {

// kStale: only stream mode — the keywords matched, but on bytes an earlier
// chunk already covered. Loops treat it as "try a later occurrence".
enum class R : uint8_t { kNoMatch, kMatch, kAbort, kStale };

constexpr std::array<uint8_t, 256> make_lower() {
    std::array<uint8_t, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = static_cast<uint8_t>(i >= 'A' && i <= 'Z' ? i + 32 : i);
    return t;
}
constexpr std::array<uint8_t, 256> kLower = make_lower();

bool equal_nocase(const uint8_t* a, const uint8_t* lowered, int64_t n) noexcept {
    for (int64_t k = 0; k < n; ++k)
        if (kLower[a[k]] != lowered[k]) return false;
    return true;
}

// First occurrence of op.bytes in hay. memchr for the needle's rarest byte
// (vectorised in libc) and a compare around each hit beats a general
// substring search on the short needles rules use. A nocase needle is
// stored lower-cased (lower.cpp).
const uint8_t* find(const uint8_t* hay, int64_t hlen, const Op& op) noexcept {
    const std::string& needle = op.bytes;
    const bool nocase = op.nocase;
    const auto n = static_cast<int64_t>(needle.size());
    if (n == 0 || n > hlen) return nullptr;
    const auto* nd = reinterpret_cast<const uint8_t*>(needle.data());
    if (op.rare_ok) {
        const int64_t r = op.rare;
        const uint8_t* p = hay + r;
        const uint8_t* last = hay + (hlen - n) + r;  // last position the rare byte may sit at
        while (p <= last) {
            p = static_cast<const uint8_t*>(std::memchr(p, nd[r], static_cast<size_t>(last - p + 1)));
            if (p == nullptr) return nullptr;
            const uint8_t* at = p - r;
            if (nocase ? equal_nocase(at, nd, n) : std::memcmp(at, nd, static_cast<size_t>(n)) == 0) return at;
            ++p;
        }
        return nullptr;
    }
    if (!nocase) return static_cast<const uint8_t*>(memmem(hay, static_cast<size_t>(hlen), nd, static_cast<size_t>(n)));
    const uint8_t first = nd[0];
    for (int64_t i = 0; i + n <= hlen; ++i) {
        if (kLower[hay[i]] != first) continue;
        int64_t k = 1;
        while (k < n && kLower[hay[i + k]] == nd[k]) ++k;
        if (k == n) return hay + i;
    }
    return nullptr;
}

class Inspector {
public:
    Inspector(const CompiledRule& rule, const InspectInput& in, InspectScratch& scratch) noexcept
        : rule_(rule), buf_(in.buf.data()), len_(static_cast<int64_t>(in.buf.size())), base_(static_cast<int64_t>(in.base)),
          fresh_from_(in.fresh_from), scratch_(scratch) {}

    bool run() noexcept { return next(0, 0, 0) == R::kMatch; }

private:
    int64_t val(const Val& v) const noexcept { return v.var >= 0 ? static_cast<int64_t>(vars_[v.var]) : v.value; }

    R next(size_t i, int64_t pos, int64_t max_end) noexcept {
        if (++calls_ >= kRecursionLimit) return R::kAbort;
        if (i == rule_.ops.size()) {
            // Stream mode: something we matched must end in the new chunk.
            if (fresh_from_ == 0 || !rule_.positional || max_end > fresh_from_) return R::kMatch;
            return R::kStale;
        }
        const Op& op = rule_.ops[i];
        switch (op.kind) {
            case OpKind::kContent: return content(i, op, pos, max_end);
            case OpKind::kPcre: return pcre(i, op, pos, max_end);
            case OpKind::kByteTest: return byte_test(i, op, pos, max_end);
            case OpKind::kByteJump: return byte_jump(i, op, pos, max_end);
            case OpKind::kByteExtract: return byte_extract(i, op, pos, max_end);
            case OpKind::kIsDataAt: return isdataat(i, op, pos, max_end);
        }
        return R::kNoMatch;
    }

    R content(size_t i, const Op& op, int64_t prev, int64_t max_end) noexcept {
        const auto n = static_cast<int64_t>(op.bytes.size());
        int64_t retry_from = 0;  // Suricata's prev_offset: start of the last hit + 1
        bool stale = false;
        for (;;) {
            int64_t start = 0, end = len_;
            if (op.relative) {
                start = prev;
                int64_t dist = 0;
                if (op.has_distance) {
                    dist = val(op.distance);
                    start = (dist < 0 && -dist > start) ? 0 : start + dist;
                }
                if (op.has_within) end = std::min(end, prev + val(op.within) + dist);
                if (op.has_depth) end = std::min(end, prev + (op.has_offset ? val(op.offset) : 0) + val(op.depth));
                if (op.has_offset) start = std::max(start, val(op.offset) - base_);
            } else {
                // offset/depth are absolute positions in the stream (base_ 0 for packets).
                const int64_t off = op.has_offset ? val(op.offset) : 0;
                start = std::max<int64_t>(0, off - base_);
                if (op.has_depth) end = off + val(op.depth) - base_;
            }
            if (retry_from != 0) start = retry_from;
            end = std::min(end, len_);

            const uint8_t* found = nullptr;
            bool region = true;
            if (start > end || end <= 0) {
                region = false;
            } else if (!(op.endswith && end < len_)) {
                found = find(buf_ + start, end - start, op);
            }

            if (found == nullptr) {
                if (op.negated) return next(i + 1, prev, max_end);
                if (stale) return R::kStale;
                // An independent content that is absent cannot appear by retrying earlier keywords.
                return (!op.relative && region) ? R::kAbort : R::kNoMatch;
            }
            const int64_t match_end = (found - buf_) + n;
            if (op.negated) {
                if (op.endswith && (end - start) != match_end) return next(i + 1, prev, max_end);
                return op.single ? R::kAbort : R::kNoMatch;
            }
            if (!op.endswith || match_end == len_) {
                const R r = next(i + 1, match_end, std::max(max_end, match_end));
                if (r == R::kMatch || r == R::kAbort) return r;
                if (r == R::kStale) {
                    stale = true;
                } else if (!op.retry_next) {
                    return stale ? R::kStale : R::kAbort;  // nothing after us depends on where we matched
                }
            }
            retry_from = match_end - (n - 1);
        }
    }

    R pcre(size_t i, const Op& op, int64_t prev, int64_t max_end) noexcept {
        int64_t retry_from = 0;
        bool stale = false;
        pcre2_match_data* md = scratch_.match_data;
        for (;;) {
            const int64_t subject = op.relative ? prev : 0;
            if (subject > len_ || retry_from > len_) return stale ? R::kStale : R::kNoMatch;
            const auto start_off = static_cast<PCRE2_SIZE>(retry_from != 0 ? retry_from - subject : 0);
            const int rc = pcre2_match(op.re.get(), buf_ + subject, static_cast<PCRE2_SIZE>(len_ - subject), start_off, 0,
                                       md, scratch_.match_context);
            if (op.negated) {
                // A matching error (limits) is "no match" even when negated, as in Suricata.
                if (rc == PCRE2_ERROR_NOMATCH) return next(i + 1, prev, max_end);
                return R::kNoMatch;
            }
            if (rc < 0) return stale ? R::kStale : R::kNoMatch;
            const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
            const int64_t mstart = subject + static_cast<int64_t>(ov[0]);
            const int64_t mend = subject + static_cast<int64_t>(ov[1]);
            retry_from = mstart + 1;
            const R r = next(i + 1, mend, std::max(max_end, mend));
            if (r == R::kMatch || r == R::kAbort) return r;
            if (r == R::kStale) {
                stale = true;
            } else if (!op.retry_next) {
                return stale ? R::kStale : R::kNoMatch;
            }
        }
    }

    // Where a byte_* keyword reads: nullopt-like -1 when out of bounds.
    int64_t byte_pos(const Op& op, int64_t pos) const noexcept {
        if (len_ == 0) return -1;
        const int64_t off = val(op.boffset);
        int64_t p = off;
        if (op.relative) {
            p = pos + off;
            if (len_ - p <= 0) return -1;  // no relative base left
        }
        if (p < 0 || op.nbytes > len_ - p) return -1;
        return p;
    }

    // Reads the number at p; returns bytes consumed, 0 on failure.
    int64_t read_number(const Op& op, int64_t p, uint64_t& out) const noexcept {
        const uint8_t* ptr = buf_ + p;
        if (!op.string) {
            uint64_t v = 0;
            for (uint8_t k = 0; k < op.nbytes; ++k) {
                const uint8_t b = op.little_endian ? ptr[op.nbytes - 1 - k] : ptr[k];
                v = (v << 8) | b;
            }
            out = v;
            return op.nbytes;
        }
        // Suricata's ByteExtractString: strtoull over at most nbytes characters.
        char tmp[24];
        const size_t n = std::min<size_t>(op.nbytes, sizeof(tmp) - 1);
        std::memcpy(tmp, ptr, n);
        tmp[n] = '\0';
        char* endp = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(tmp, &endp, op.base);
        if (errno == ERANGE || endp == tmp) return 0;
        out = v;
        return endp - tmp;
    }

    R byte_test(size_t i, const Op& op, int64_t pos, int64_t max_end) noexcept {
        const int64_t p = byte_pos(op, pos);
        if (p < 0) return R::kNoMatch;
        uint64_t v = 0;
        const int64_t used = read_number(op, p, v);
        if (used <= 0) return R::kNoMatch;
        if (op.bitmask != 0) {
            v &= op.bitmask;
            if (v != 0 && op.bitmask_shift != 0) v >>= op.bitmask_shift;
        }
        const auto x = static_cast<uint64_t>(val(op.value));
        bool m = false;
        switch (op.cmp) {
            case rules::ByteOp::kLess: m = v < x; break;
            case rules::ByteOp::kGreater: m = v > x; break;
            case rules::ByteOp::kEqual: m = v == x; break;
            case rules::ByteOp::kNotEqual: m = v != x; break;
            case rules::ByteOp::kLessEq: m = v <= x; break;
            case rules::ByteOp::kGreaterEq: m = v >= x; break;
            case rules::ByteOp::kAnd: m = (v & x) != 0; break;
            case rules::ByteOp::kOr: m = (v | x) != 0; break;
            case rules::ByteOp::kXor: m = (v ^ x) != 0; break;  // Suricata's '^'
        }
        if (m == op.negated) return R::kNoMatch;
        return next(i + 1, pos, std::max(max_end, p + used));
    }

    R byte_jump(size_t i, const Op& op, int64_t pos, int64_t max_end) noexcept {
        const int64_t p = byte_pos(op, pos);
        if (p < 0) return R::kNoMatch;
        uint64_t v = 0;
        const int64_t used = read_number(op, p, v);
        // Binary reads always consume nbytes (0 is valid: the jump is
        // post_offset alone); a string read that found no digit fails.
        if (op.string && used <= 0) return R::kNoMatch;
        int64_t jump = static_cast<int64_t>(v) * op.multiplier;
        if (op.align && jump % 4 != 0) jump += 4 - jump % 4;
        jump += op.post_offset;
        int64_t to = op.from_beginning ? jump : op.from_end ? len_ + jump : p + used + jump;
        if (to < 0) to = 0;  // Suricata clamps a jump before the buffer to its start
        if (to >= len_) return R::kNoMatch;
        return next(i + 1, to, std::max(max_end, p + used));
    }

    R byte_extract(size_t i, const Op& op, int64_t pos, int64_t max_end) noexcept {
        const int64_t p = byte_pos(op, pos);
        if (p < 0) return R::kNoMatch;
        uint64_t v = 0;
        const int64_t used = read_number(op, p, v);
        if (used <= 0) return R::kNoMatch;
        v *= static_cast<uint64_t>(op.multiplier);
        if (op.align && v % 4 != 0) v += 4 - v % 4;
        vars_[op.store] = v;
        return next(i + 1, p + used, std::max(max_end, p + used));
    }

    R isdataat(size_t i, const Op& op, int64_t pos, int64_t max_end) noexcept {
        const bool var = op.boffset.var >= 0;
        const int64_t at = val(op.boffset);
        if (var && static_cast<uint64_t>(at) >= 100000000u) return op.negated ? next(i + 1, pos, max_end) : R::kNoMatch;
        const bool present = op.relative ? pos + at <= len_ : at < len_;
        if (present == !op.negated) return next(i + 1, pos, max_end);
        // Fixed positions: a miss cannot be repaired by another occurrence (Suricata discontinues).
        return (present && !var && !op.relative) || (!present && !var) ? R::kAbort : R::kNoMatch;
    }

    const CompiledRule& rule_;
    const uint8_t* buf_;
    int64_t len_;
    int64_t base_;
    int64_t fresh_from_;
    InspectScratch& scratch_;
    uint64_t vars_[kMaxVars]{};
    uint32_t calls_ = 0;
};

}  // namespace

bool inspect_payload(const CompiledRule& rule, const InspectInput& in, InspectScratch& scratch) noexcept {
    if (rule.ops.empty()) return true;
    return Inspector(rule, in, scratch).run();
}

bool may_match_fresh(const CompiledRule& rule, const InspectInput& in) noexcept {
    if (in.fresh_from == 0 || !rule.positional) return true;
    const auto len = static_cast<int64_t>(in.buf.size());
    for (const Op& op : rule.ops) {
        // pcre and the byte keywords also end matched elements: leave those
        // rules to the full inspection.
        if (op.kind != OpKind::kContent && op.kind != OpKind::kIsDataAt) return true;
        if (op.kind != OpKind::kContent || op.negated) continue;
        // An occurrence ending after fresh_from starts at fresh_from - n + 1
        // or later; the inspector can only match occurrences find() sees here.
        const auto n = static_cast<int64_t>(op.bytes.size());
        const int64_t from = std::max<int64_t>(0, static_cast<int64_t>(in.fresh_from) - n + 1);
        if (find(in.buf.data() + from, len - from, op) != nullptr) return true;
    }
    return false;
}

}  // namespace vtap::detect
