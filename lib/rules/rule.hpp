// The rule model: what a Suricata / Snort 3 rule says, parsed and checked,
// independent of how it is matched. lib/rules produces it (cold path);
// lib/detect compiles it to Hyperscan and evaluates it. A Rule holds only
// what the engine supports: a rule using anything else is skipped whole
// (never half-applied) and the skip is reported with its reason.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace vtap::rules {

enum class Action : uint8_t { kAlert, kDrop, kReject, kPass, kLog };
enum class Proto : uint8_t { kIp, kTcp, kUdp, kIcmp };  // header protocol the rule applies to

// An IPv4 or IPv6 prefix. IPv4 is stored in the first 4 bytes.
struct Cidr {
    uint8_t family = 4;                // 4 or 6
    std::array<uint8_t, 16> addr{};    // network order
    uint8_t len = 0;                   // prefix length
};

// "any", a list with negations ("[10.0.0.0/8,!10.1.0.0/16]"), variables
// already expanded. Matches when the address is in some include (or
// include is empty) and in no exclude. The parser evaluates the spec as an
// exact set and fills only one of the two lists (whichever is shorter), so
// "!$HOME_NET" is three excludes and IPv6 is matched by "include empty".
struct AddrSpec {
    bool any = true;
    std::vector<Cidr> include;
    std::vector<Cidr> exclude;
};

struct PortRange {
    uint16_t lo = 0, hi = 65535;
};
struct PortSpec {
    bool any = true;
    std::vector<PortRange> include;
    std::vector<PortRange> exclude;
};

// A value in content modifiers and byte_* keywords: a number or the name of a
// byte_extract variable.
struct IntOrVar {
    int64_t value = 0;                 // byte_test values reach 2^64-1 in principle; offsets are small
    std::string var;  // non-empty: resolved at match time
};

struct Content {
    std::string bytes;                 // after |hex| and escape decoding
    bool negated = false;
    bool nocase = false;
    bool rawbytes = false;             // accepted; vtapd only has raw bytes
    bool fast_pattern = false;
    bool fast_pattern_only = false;    // `fast_pattern:only` (Suricata treats it as plain fast_pattern)
    uint16_t fp_offset = 0;            // `fast_pattern:off,len`: only bytes[off, off+len) feed the prefilter
    uint16_t fp_length = 0;            // 0 = the whole content
    bool startswith = false;
    bool endswith = false;
    std::optional<IntOrVar> offset, depth;      // absolute
    std::optional<IntOrVar> distance, within;   // relative to the previous match
};

struct Pcre {
    std::string pattern;               // between the slashes
    std::string flags;                 // PCRE flags (i s m x A E G) as written; R, B (rawbytes), O (limits) removed
    bool negated = false;
    bool relative = false;             // R
};

enum class ByteOp : uint8_t { kLess, kGreater, kEqual, kNotEqual, kLessEq, kGreaterEq, kAnd, kOr, kXor };

// Shared fields of byte_test / byte_jump / byte_extract.
struct ByteSpec {
    uint8_t nbytes = 0;                // 1..10 (string) / 1,2,4,8 (binary)
    IntOrVar offset;
    bool relative = false;
    bool little_endian = false;
    bool string = false;               // digits in text
    uint8_t base = 10;                 // hex 16, dec 10, oct 8 (string only)
    uint32_t bitmask = 0;              // 0 = none
};

struct ByteTest {
    ByteSpec spec;
    ByteOp op = ByteOp::kEqual;
    bool negated = false;
    IntOrVar value;
};

struct ByteJump {
    ByteSpec spec;
    int32_t multiplier = 1;
    int32_t post_offset = 0;
    bool align = false;                // align to 32 bits
    bool from_beginning = false;
    bool from_end = false;
};

struct ByteExtract {
    ByteSpec spec;
    std::string name;
    int32_t multiplier = 1;
    uint8_t align = 0;                 // 0 none, 2 or 4: round the extracted value up
};

struct IsDataAt {
    IntOrVar offset;
    bool relative = false;
    bool negated = false;
};

// Payload keywords, in rule order: relative keywords refer to the one before.
using PayloadMatch = std::variant<Content, Pcre, ByteTest, ByteJump, ByteExtract, IsDataAt>;

struct FlowOpts {
    bool to_server = false;            // to_server / from_client
    bool to_client = false;            // to_client / from_server
    bool established = false;
    bool not_established = false;
    bool stateless = false;
    bool only_stream = false;
    bool no_stream = false;
};

// kRange: lo < x < hi (Suricata and Snort "lo<>hi"); kRangeIncl: lo <= x <= hi (Snort 3 "lo<=>hi").
enum class CmpOp : uint8_t { kEq, kLess, kGreater, kLessEq, kGreaterEq, kNotEq, kRange, kRangeIncl };

struct NumCheck {
    CmpOp op = CmpOp::kEq;
    uint32_t a = 0;                    // value, or lo for kRange
    uint32_t b = 0;                    // hi for kRange
};

// TCP flags: `flags:SA,12` -> required bits, ignored bits, modifier.
struct TcpFlags {
    uint8_t bits = 0;                  // FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80
    uint8_t ignore = 0;
    char modifier = 0;                 // 0 exact, '+' all plus any, '*' any of, '!' none of
};

// `stream_size:<side>,<op>,<n>` (Suricata): a TCP direction's size is its
// next sequence number less its ISN, i.e. 1 (the SYN) plus the bytes sent in
// order. `both`: each side passes; `either`: one does.
struct StreamSize {
    enum class Side : uint8_t { kServer, kClient, kBoth, kEither } side = Side::kServer;
    NumCheck check;                    // kEq, kNotEq, kLess, kLessEq, kGreater, kGreaterEq
};

struct Threshold {
    enum class Type : uint8_t { kLimit, kThreshold, kBoth, kDetectionFilter } type = Type::kLimit;
    enum class Track : uint8_t { kBySrc, kByDst, kByRule, kByBoth } track = Track::kBySrc;
    uint32_t count = 1;
    uint32_t seconds = 60;
};

// flowbits: one per keyword, in rule order. Set/unset/toggle are done when
// the rule matches (Suricata's post-match list); isset/isnotset are
// conditions of the match. names: one, or several joined by '&' (all of
// them: set, unset, toggle, isset) or '|' (any of them: isset).
struct Flowbit {
    enum class Cmd : uint8_t { kSet, kUnset, kToggle, kIsSet, kIsNotSet } cmd = Cmd::kSet;
    std::vector<std::string> names;
    bool any = false;                  // names joined by '|'
    bool is_check() const noexcept { return cmd == Cmd::kIsSet || cmd == Cmd::kIsNotSet; }
};

struct SourceLoc {
    std::string file;
    uint32_t line = 0;
};

struct Rule {
    Action action = Action::kAlert;
    Proto proto = Proto::kIp;
    std::string app_proto;             // "http", "dns", ... when the header named one (recorded; not matched yet)
    std::vector<std::string> services; // Snort 3 `service:` hints; the header ports still apply (no app-layer id)
    AddrSpec src, dst;
    PortSpec src_ports, dst_ports;
    bool bidirectional = false;        // "<>"

    uint32_t gid = 1, sid = 0, rev = 0;
    std::string msg;
    std::string classtype;
    uint8_t priority = 3;              // from `priority:` or the classtype; 3 when neither
    std::vector<std::string> references;
    std::vector<std::string> metadata;  // one entry per comma-separated item
    std::string target;                // Suricata `target:src_ip|dest_ip` (alert output only)

    std::vector<PayloadMatch> payload;
    FlowOpts flow;
    std::optional<NumCheck> dsize, ttl, itype, icode;
    std::optional<TcpFlags> flags;
    std::vector<StreamSize> stream_size;  // each must pass (ET combines a client and a server one)
    std::optional<Threshold> threshold;  // threshold: or detection_filter:
    std::vector<Flowbit> flowbits;
    bool noalert = false;

    SourceLoc loc;
};

// What loading said about one file.
struct FileReport {
    std::string file;
    uint32_t loaded = 0;
    uint32_t skipped = 0;
    uint32_t disabled = 0;                          // commented-out rules seen (not counted as skipped)
    std::map<std::string, uint32_t> skip_reasons;   // "unsupported keyword 'flowbits'" -> count
    std::vector<Error> errors;                      // where = "file:line (sid N)"
};

struct RuleSet {
    std::vector<Rule> rules;
    std::vector<FileReport> reports;
    std::map<std::string, std::pair<std::string, uint8_t>> classifications;  // name -> (description, priority)

    uint32_t errors() const {
        uint32_t n = 0;
        for (const auto& r : reports) n += static_cast<uint32_t>(r.errors.size());
        return n;
    }
};

}  // namespace vtap::rules
