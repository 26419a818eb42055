// Content chain -> one Hyperscan regex (cold path). The shape rules and why
// the regex agrees with the inspection engine are in chain.hpp.
#include "detect/chain.hpp"

#include <cstdio>
#include <variant>

namespace vtap::detect {

std::string hex_escape(const std::string& bytes) {
    std::string out;
    out.reserve(bytes.size() * 4);
    char tmp[5];
    for (unsigned char b : bytes) {
        std::snprintf(tmp, sizeof(tmp), "\\x%02x", b);
        out += tmp;
    }
    return out;
}

namespace {

bool fixed(const std::optional<rules::IntOrVar>& v) { return !v || v->var.empty(); }

// `[\s\S]{lo,hi}` (hi < 0: unbounded); adds its cost to width.
void gap(std::string& out, int64_t lo, int64_t hi, uint64_t& width) {
    if (hi == 0) return;  // lo == 0 too: nothing in between
    if (hi < 0) {
        out += lo == 0 ? "[\\s\\S]*" : "[\\s\\S]{" + std::to_string(lo) + ",}";
        width += static_cast<uint64_t>(lo);
        return;
    }
    out += "[\\s\\S]{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
    width += static_cast<uint64_t>(hi);
}

void literal(std::string& out, const rules::Content& c) {
    if (c.nocase) out += "(?i:";
    out += hex_escape(c.bytes);
    if (c.nocase) out += ")";
}

}  // namespace

ChainRegex chain_regex(const rules::Rule& rule) {
    ChainRegex r;
    if (rule.payload.size() < 2) return r;  // one content: the literal anchor is already exact
    std::string expr;
    uint64_t width = 0;
    bool short_content = false;
    for (size_t i = 0; i < rule.payload.size(); ++i) {
        const auto* c = std::get_if<rules::Content>(&rule.payload[i]);
        if (c == nullptr || c->negated || c->endswith || c->bytes.empty()) return r;
        if (!fixed(c->offset) || !fixed(c->depth) || !fixed(c->distance) || !fixed(c->within)) return r;
        const auto n = static_cast<int64_t>(c->bytes.size());
        short_content = short_content || c->bytes.size() < kMinChainContentBytes;
        if (i == 0) {
            // Absolute: the match lies in [o, o+D) (o+D: end of buffer without depth).
            if (c->distance || c->within) return r;
            int64_t o = 0, hi = -1;
            if (c->startswith) {
                if (c->offset || c->depth) return r;
                hi = 0;
            } else {
                if (c->offset) o = c->offset->value;
                if (o < 0 || (c->depth && c->depth->value <= 0)) return r;
                if (c->depth) {
                    hi = o + c->depth->value - n;  // last start that still ends inside the depth
                    if (hi < o) return r;          // can never match: leave it to inspection
                }
            }
            if (o != 0 || hi >= 0) {
                expr += "^";
                gap(expr, o, hi, width);
            }
        } else {
            // Relative: starts in [p+d, p+d+w-n] after the previous match ends at p.
            if (c->offset || c->depth || c->startswith || !(c->distance || c->within)) return r;
            const int64_t d = c->distance ? c->distance->value : 0;
            if (d < 0) return r;
            int64_t hi = -1;
            if (c->within) {
                hi = d + c->within->value - n;
                if (hi < d) return r;
            }
            gap(expr, d, hi, width);
        }
        literal(expr, *c);
    }
    if (width > kMaxChainRepeatWidth || short_content) {
        r.shape = ChainShape::kTooCostly;
        return r;
    }
    r.shape = ChainShape::kChain;
    r.expression = std::move(expr);
    return r;
}

}  // namespace vtap::detect
