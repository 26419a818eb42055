// A rule lowered for evaluation: header checks copied from the model, and
// payload keywords as a flat list of Ops with byte_extract variables resolved
// to slots and Suricata's per-content search flags (retry on the next
// occurrence, "single" content) precomputed. Built once on the cold path
// (lower.cpp), read-only afterwards and shared by every worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "detect/flowbits.hpp"
#include "rules/rule.hpp"

struct pcre2_real_code_8;

namespace vtap::detect {

// byte_extract variables a rule may define (Suricata allows a handful too).
inline constexpr uint32_t kMaxVars = 16;

// A number from the rule or a byte_extract slot.
struct Val {
    int64_t value = 0;
    int8_t var = -1;  // >= 0: read vars[var] at match time
};

enum class OpKind : uint8_t { kContent, kPcre, kByteTest, kByteJump, kByteExtract, kIsDataAt };

struct PcreDeleter {
    void operator()(pcre2_real_code_8* code) const noexcept;
};

struct Op {
    OpKind kind = OpKind::kContent;
    bool negated = false;
    bool relative = false;        // content: distance or within; others: relative / R

    // content
    std::string bytes;
    bool nocase = false, startswith = false, endswith = false;
    bool has_offset = false, has_depth = false, has_distance = false, has_within = false;
    Val offset, depth, distance, within;  // depth as written (relative to offset)
    // Suricata's DETECT_CONTENT_WITHIN_NEXT: a later keyword depends on where
    // this match lies in a way a later occurrence could satisfy, so a failed
    // tail makes us try the next occurrence (for pcre: DETECT_PCRE_RELATIVE_NEXT).
    bool retry_next = false;
    bool single = false;          // DETECT_CONTENT_IS_SINGLE: a negated hit ends the rule
    // Index of the needle byte the search looks for with memchr: the one
    // least likely in traffic (letters, digits, space, CR/LF are common).
    // For nocase it is a non-letter when there is one, else rare_ok is false.
    uint32_t rare = 0;
    bool rare_ok = false;

    // pcre
    std::shared_ptr<pcre2_real_code_8> re;

    // byte_test / byte_jump / byte_extract
    uint8_t nbytes = 0;
    Val boffset;
    bool little_endian = false, string = false;
    uint8_t base = 10;
    uint32_t bitmask = 0;
    uint8_t bitmask_shift = 0;    // trailing zeros of bitmask (Suricata shifts the masked value)
    rules::ByteOp cmp = rules::ByteOp::kEqual;
    Val value;
    int64_t multiplier = 1, post_offset = 0;
    bool align = false, from_beginning = false, from_end = false;
    int8_t store = -1;            // byte_extract target slot

    // isdataat uses boffset (+ relative, negated)
};

struct CompiledRule {
    uint32_t sid = 0, gid = 1, rev = 0;
    rules::Proto proto = rules::Proto::kIp;
    rules::AddrSpec src, dst;
    rules::PortSpec src_ports, dst_ports;
    bool bidirectional = false;
    rules::FlowOpts flow;
    std::optional<rules::NumCheck> dsize, ttl, itype, icode;
    std::optional<rules::TcpFlags> flags;
    std::vector<rules::StreamSize> stream_size;
    bool noalert = false;
    // flowbits, ids assigned by compile(): checks are part of the match,
    // actions run once the rule has matched (alerting or not).
    std::vector<FlowbitOp> flowbit_checks, flowbit_actions;

    std::vector<Op> ops;
    // Some op pins a position (positive content/pcre, byte_*). In stream mode
    // only such rules can tell old bytes from new ones; see inspect.hpp.
    bool positional = false;
    bool packet_level = false;    // dsize, no_stream, or no payload keywords
    // A Hyperscan match of the anchor is the match, so confirmation skips
    // inspection: the only keyword is one positive content whose offset/depth
    // Hyperscan enforces (Suricata's DETECT_CONTENT_MPM_IS_CONCLUSIVE), or the
    // keywords are a content chain compiled whole (chain.hpp).
    bool anchor_conclusive = false;
};

}  // namespace vtap::detect
