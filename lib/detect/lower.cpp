// Rule model -> CompiledRule and Hyperscan anchor (cold path).
#include "detect/lower.hpp"

#include "detect/chain.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdlib>
#include <variant>

namespace vtap::detect {

namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};

bool is_content(const Op& op) { return op.kind == OpKind::kContent || op.kind == OpKind::kPcre; }

class Lowerer {
public:
    explicit Lowerer(const rules::Rule& rule) : rule_(rule) {}

    Result<CompiledRule> run() {
        CompiledRule c;
        c.sid = rule_.sid;
        c.gid = rule_.gid;
        c.rev = rule_.rev;
        c.proto = rule_.proto;
        c.src = rule_.src;
        c.dst = rule_.dst;
        c.src_ports = rule_.src_ports;
        c.dst_ports = rule_.dst_ports;
        c.bidirectional = rule_.bidirectional;
        c.flow = rule_.flow;
        c.dsize = rule_.dsize;
        c.ttl = rule_.ttl;
        c.itype = rule_.itype;
        c.icode = rule_.icode;
        c.flags = rule_.flags;
        c.stream_size = rule_.stream_size;
        c.noalert = rule_.noalert;

        for (const auto& pm : rule_.payload) {
            auto op = std::visit(Overloaded{
                                     [&](const rules::Content& x) { return content(x); },
                                     [&](const rules::Pcre& x) { return pcre(x); },
                                     [&](const rules::ByteTest& x) { return byte_test(x); },
                                     [&](const rules::ByteJump& x) { return byte_jump(x); },
                                     [&](const rules::ByteExtract& x) { return byte_extract(x); },
                                     [&](const rules::IsDataAt& x) { return isdataat(x); },
                                 },
                                 pm);
            if (!op) return std::unexpected(op.error());
            c.ops.push_back(std::move(*op));
        }
        mark_relative_next(c.ops);
        for (const Op& op : c.ops) {
            const bool pins = (op.kind == OpKind::kContent || op.kind == OpKind::kPcre) ? !op.negated
                                                                                         : op.kind != OpKind::kIsDataAt;
            c.positional = c.positional || pins;
        }
        c.packet_level = c.ops.empty() || c.dsize.has_value() || c.flow.no_stream;
        if (chain_regex(rule_).shape == ChainShape::kChain) {
            c.anchor_conclusive = true;  // the anchor is the whole chain (chain.hpp)
        } else if (c.ops.size() == 1) {
            const Op& op = c.ops[0];
            c.anchor_conclusive = op.kind == OpKind::kContent && !op.negated && !op.relative && !op.endswith &&
                                  op.offset.var < 0 && op.depth.var < 0 && (!op.has_offset || op.offset.value >= 0) &&
                                  (!op.has_depth || op.depth.value > 0);
        }
        return c;
    }

private:
    Error error(const std::string& what) const { return Error{rule_where(rule_), what}; }

    Result<Val> value(const rules::IntOrVar& v, const char* keyword) const {
        if (v.var.empty()) return Val{v.value, -1};
        for (size_t i = 0; i < vars_.size(); ++i)
            if (vars_[i] == v.var) return Val{0, static_cast<int8_t>(i)};
        return std::unexpected(error(std::string(keyword) + " uses '" + v.var + "', which no earlier byte_extract defines"));
    }

    Result<Op> content(const rules::Content& x) {
        if (x.bytes.empty()) return std::unexpected(error("content is empty"));
        Op op;
        op.kind = OpKind::kContent;
        op.bytes = x.bytes;
        op.nocase = x.nocase;
        if (op.nocase)
            for (char& ch : op.bytes)
                if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        op.negated = x.negated;
        op.startswith = x.startswith;
        op.endswith = x.endswith;
        auto set = [&](const std::optional<rules::IntOrVar>& in, bool& has, Val& out, const char* kw) -> bool {
            if (!in) return true;
            auto v = value(*in, kw);
            if (!v) {
                err_ = v.error();
                return false;
            }
            has = true;
            out = *v;
            return true;
        };
        if (!set(x.offset, op.has_offset, op.offset, "offset") || !set(x.depth, op.has_depth, op.depth, "depth") ||
            !set(x.distance, op.has_distance, op.distance, "distance") || !set(x.within, op.has_within, op.within, "within"))
            return std::unexpected(err_);
        if (x.startswith) {  // Suricata: startswith == offset:0; depth:<len>
            op.has_offset = op.has_depth = true;
            op.offset = Val{0, -1};
            op.depth = Val{static_cast<int64_t>(x.bytes.size()), -1};
        }
        op.relative = op.has_distance || op.has_within;
        pick_rare(op);
        return op;
    }

    static int commonness(uint8_t b) {
        if ((b >= 'a' && b <= 'z') || b == ' ' || b == 0) return 3;
        if ((b >= '0' && b <= '9') || b == '\r' || b == '\n' || b == '/' || b == '.' || b == '=' || b == ':' || b == 0xff) return 2;
        if (b >= 'A' && b <= 'Z') return 1;
        return 0;
    }

    static void pick_rare(Op& op) {
        int best = 99;
        for (uint32_t i = 0; i < op.bytes.size(); ++i) {
            const auto b = static_cast<uint8_t>(op.bytes[i]);
            if (op.nocase && ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z'))) continue;
            const int c = commonness(b);
            if (c < best) {
                best = c;
                op.rare = i;
            }
        }
        op.rare_ok = best != 99;
    }

    Result<Op> pcre(const rules::Pcre& x) {
        uint32_t options = 0;
        for (char f : x.flags) {
            switch (f) {
                case 'i': options |= PCRE2_CASELESS; break;
                case 's': options |= PCRE2_DOTALL; break;
                case 'm': options |= PCRE2_MULTILINE; break;
                case 'x': options |= PCRE2_EXTENDED; break;
                case 'A': options |= PCRE2_ANCHORED; break;
                case 'E': options |= PCRE2_DOLLAR_ENDONLY; break;
                case 'G': options |= PCRE2_UNGREEDY; break;
                default: return std::unexpected(error(std::string("pcre flag '") + f + "' is not supported"));
            }
        }
        int errcode = 0;
        PCRE2_SIZE erroff = 0;
        pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(x.pattern.data()), x.pattern.size(), options,
                                         &errcode, &erroff, nullptr);
        if (code == nullptr) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(errcode, msg, sizeof(msg));
            return std::unexpected(error("pcre /" + x.pattern + "/ does not compile at " + std::to_string(erroff) + ": " +
                                         reinterpret_cast<const char*>(msg)));
        }
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // the interpreter is the fallback when JIT is unavailable
        Op op;
        op.kind = OpKind::kPcre;
        op.re = std::shared_ptr<pcre2_real_code_8>(code, PcreDeleter{});
        op.negated = x.negated;
        op.relative = x.relative;
        return op;
    }

    Result<Op> byte_spec(const rules::ByteSpec& s, OpKind kind, const char* kw) {
        const unsigned max = s.string ? 23u : 8u;
        const unsigned min = kind == OpKind::kByteJump ? 0u : 1u;  // Suricata: byte_jump may read 0 bytes
        if (s.nbytes < min || s.nbytes > max)
            return std::unexpected(error(std::string(kw) + " reads " + std::to_string(s.nbytes) + " bytes; allowed " +
                                         std::to_string(min) + ".." +
                                         std::to_string(max)));
        if (s.string && s.base != 8 && s.base != 10 && s.base != 16)
            return std::unexpected(error(std::string(kw) + " base " + std::to_string(s.base) + " is not 8, 10 or 16"));
        auto off = value(s.offset, kw);
        if (!off) return std::unexpected(off.error());
        Op op;
        op.kind = kind;
        op.nbytes = s.nbytes;
        op.boffset = *off;
        op.relative = s.relative;
        op.little_endian = s.little_endian;
        op.string = s.string;
        op.base = s.base;
        op.bitmask = s.bitmask;
        if (s.bitmask != 0) op.bitmask_shift = static_cast<uint8_t>(__builtin_ctz(s.bitmask));
        return op;
    }

    Result<Op> byte_test(const rules::ByteTest& x) {
        auto op = byte_spec(x.spec, OpKind::kByteTest, "byte_test");
        if (!op) return op;
        auto v = value(x.value, "byte_test");
        if (!v) return std::unexpected(v.error());
        op->value = *v;
        op->cmp = x.op;
        op->negated = x.negated;
        return op;
    }

    Result<Op> byte_jump(const rules::ByteJump& x) {
        auto op = byte_spec(x.spec, OpKind::kByteJump, "byte_jump");
        if (!op) return op;
        op->multiplier = x.multiplier;
        op->post_offset = x.post_offset;
        op->align = x.align;
        op->from_beginning = x.from_beginning;
        op->from_end = x.from_end;
        return op;
    }

    Result<Op> byte_extract(const rules::ByteExtract& x) {
        auto op = byte_spec(x.spec, OpKind::kByteExtract, "byte_extract");
        if (!op) return op;
        if (x.name.empty()) return std::unexpected(error("byte_extract has no variable name"));
        int8_t slot = -1;
        for (size_t i = 0; i < vars_.size(); ++i)
            if (vars_[i] == x.name) slot = static_cast<int8_t>(i);
        if (slot < 0) {
            if (vars_.size() == kMaxVars)
                return std::unexpected(error("more than " + std::to_string(kMaxVars) + " byte_extract variables"));
            vars_.push_back(x.name);
            slot = static_cast<int8_t>(vars_.size() - 1);
        }
        op->store = slot;
        op->multiplier = x.multiplier;
        op->align = x.align;
        return op;
    }

    Result<Op> isdataat(const rules::IsDataAt& x) {
        auto v = value(x.offset, "isdataat");
        if (!v) return std::unexpected(v.error());
        Op op;
        op.kind = OpKind::kIsDataAt;
        op.boffset = *v;
        op.relative = x.relative;
        op.negated = x.negated;
        return op;
    }

    // Suricata marks the last content/pcre before a relative keyword:
    // DISTANCE_NEXT for a positive distance-only content (a later occurrence
    // of the earlier match can only shrink the window, so no retry), and
    // WITHIN_NEXT / RELATIVE_NEXT (retry) for everything else.
    static void mark_relative_next(std::vector<Op>& ops) {
        std::vector<bool> any_next(ops.size(), false);
        for (size_t j = 0; j < ops.size(); ++j) {
            if (!ops[j].relative) continue;
            size_t p = j;
            while (p > 0 && !is_content(ops[p - 1])) --p;
            if (p == 0) continue;
            Op& prev = ops[p - 1];
            any_next[p - 1] = true;
            const bool distance_only = ops[j].kind == OpKind::kContent && !ops[j].negated && !ops[j].has_within;
            if (!distance_only) prev.retry_next = true;
        }
        for (size_t i = 0; i < ops.size(); ++i) {
            Op& op = ops[i];
            if (op.kind == OpKind::kContent)
                op.single = !op.relative && !any_next[i] && !op.has_depth && !op.has_offset;
        }
    }

    const rules::Rule& rule_;
    std::vector<std::string> vars_;
    Error err_;
};

unsigned pcre_hs_flags(const std::string& flags, bool& ok) {
    unsigned f = 0;
    ok = true;
    for (char c : flags) {
        if (c == 'i') f |= HS_FLAG_CASELESS;
        else if (c == 's') f |= HS_FLAG_DOTALL;
        else if (c == 'm') f |= HS_FLAG_MULTILINE;
        else ok = false;  // x, A, E, G: no Hyperscan equivalent; confirm with pcre2 only
    }
    return f;
}

// True when Hyperscan accepts the expression; min_width 0 (matches the empty
// string) is refused, as it would make every scan a candidate anyway.
bool hs_accepts(const std::string& expr, unsigned flags) {
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    const hs_error_t rc = hs_expression_info(expr.c_str(), flags, &info, &err);
    if (err != nullptr) hs_free_compile_error(err);
    if (rc != HS_SUCCESS) return false;
    const bool ok = info->min_width > 0;
    std::free(info);
    return ok;
}

}  // namespace

std::string rule_where(const rules::Rule& rule) {
    // append() rather than operator+: GCC 12 reports a false -Wrestrict on the latter.
    std::string w = rule.loc.file.empty() ? std::string("<rules>") : rule.loc.file;
    if (rule.loc.line != 0) w.append(":").append(std::to_string(rule.loc.line));
    w.append(" (sid ").append(std::to_string(rule.sid)).append(")");
    return w;
}

Result<CompiledRule> lower_rule(const rules::Rule& rule) { return Lowerer(rule).run(); }

Anchor choose_anchor(const rules::Rule& rule) {
    const rules::Content* best = nullptr;
    for (const auto& pm : rule.payload)
        if (const auto* c = std::get_if<rules::Content>(&pm); c && !c->negated && c->fast_pattern) {
            best = c;
            break;
        }
    if (best == nullptr)
        for (const auto& pm : rule.payload)
            if (const auto* c = std::get_if<rules::Content>(&pm); c && !c->negated && (!best || c->bytes.size() > best->bytes.size()))
                best = c;

    Anchor a;
    ChainRegex chain = chain_regex(rule);
    if (chain.shape == ChainShape::kChain) {
        a.kind = AnchorKind::kChain;
        a.expression = std::move(chain.expression);
        return a;  // `^` here means offset 0 of the buffer, or of the stream: what offset/depth mean in both
    }
    a.chain_too_costly = chain.shape == ChainShape::kTooCostly;
    if (best != nullptr && !best->bytes.empty()) {
        a.kind = AnchorKind::kLiteral;
        a.expression = hex_escape(best->bytes);
        a.flags = best->nocase ? HS_FLAG_CASELESS : 0;
        const bool relative = best->distance || best->within;
        const auto fixed = [](const std::optional<rules::IntOrVar>& v) { return !v || v->var.empty(); };
        if (!relative && fixed(best->offset) && fixed(best->depth)) {
            const auto len = static_cast<unsigned long long>(best->bytes.size());
            const unsigned long long off = best->startswith || !best->offset ? 0 : static_cast<unsigned long long>(std::max<int64_t>(0, best->offset->value));
            if (off > 0) {
                a.ext.flags |= HS_EXT_FLAG_MIN_OFFSET;
                a.ext.min_offset = off + len;  // Hyperscan offsets are match *end* offsets
            }
            if (best->startswith) {
                a.ext.flags |= HS_EXT_FLAG_MAX_OFFSET;
                a.ext.max_offset = len;
            } else if (best->depth && best->depth->value > 0) {
                a.ext.flags |= HS_EXT_FLAG_MAX_OFFSET;
                a.ext.max_offset = off + static_cast<unsigned long long>(best->depth->value);
            }
        }
        return a;
    }

    // No positive content: a positive pcre that searches the whole buffer.
    for (size_t i = 0; i < rule.payload.size(); ++i) {
        const auto* p = std::get_if<rules::Pcre>(&rule.payload[i]);
        if (p == nullptr || p->negated || (p->relative && i != 0)) continue;
        bool ok = false;
        const unsigned flags = pcre_hs_flags(p->flags, ok);
        if (!ok) continue;
        if (hs_accepts(p->pattern, flags)) {
            a.flags = flags;
        } else if (hs_accepts(p->pattern, flags | HS_FLAG_PREFILTER)) {
            a.flags = flags | HS_FLAG_PREFILTER;
        } else {
            continue;
        }
        a.kind = AnchorKind::kRegex;
        a.expression = p->pattern;
        for (const char* tok : {"^", "$", "\\A", "\\Z", "\\z", "\\G"})
            if (p->pattern.find(tok) != std::string::npos) a.stream_safe = false;
        return a;
    }
    return a;
}

}  // namespace vtap::detect
