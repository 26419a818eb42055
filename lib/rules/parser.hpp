// Suricata / Snort 3 rule text -> Rule (cold path). One rule parses to one of
// three outcomes: a Rule the engine can run whole, a Skip (valid rule using
// something the engine does not support, with the reason), or an Error
// (malformed, with file:line and sid). Loading files collects all three into
// a RuleSet whose per-file reports `vtapd --test-rules` prints.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "rules/net_spec.hpp"
#include "rules/rule.hpp"

namespace vtap::rules {

// classification.config: name -> (description, priority).
using Classifications = std::map<std::string, std::pair<std::string, uint8_t>>;

// Suricata's stock classification.config, used when no file is given.
const Classifications& default_classifications();
// "config classification: name,description,priority" lines; '#' comments.
Result<Classifications> parse_classification(std::string_view text, const std::string& file);
Result<Classifications> load_classification(const std::string& path);

// A well-formed rule the engine cannot run whole; it is left out entirely.
struct Skip {
    std::string reason;  // "unsupported keyword 'flowbits'", "app-layer protocol 'http'"
    uint32_t sid = 0;    // 0 when the rule names none
};

class ParseResult {
public:
    ParseResult(Rule r) : v_(std::move(r)) {}
    ParseResult(Skip s) : v_(std::move(s)) {}
    ParseResult(Error e) : v_(std::move(e)) {}

    bool ok() const { return v_.index() == 0; }
    bool skipped() const { return v_.index() == 1; }
    bool failed() const { return v_.index() == 2; }
    Rule& rule() { return std::get<Rule>(v_); }
    const Rule& rule() const { return std::get<Rule>(v_); }
    const Skip& skip() const { return std::get<Skip>(v_); }
    const Error& error() const { return std::get<Error>(v_); }

private:
    std::variant<Rule, Skip, Error> v_;
};

// Parses rules against one set of variables and classifications; caches the
// evaluated variables, so reuse one parser for a whole load.
class RuleParser {
public:
    RuleParser(const Vars& vars, Classifications classes);
    // `text` is one logical rule (continuations already joined).
    ParseResult parse(std::string_view text, const SourceLoc& loc);

private:
    detail::NetResolver net_;
    Classifications classes_;
};

// One rule, one call. Error::where is "file:line (sid N)" ("file:line" when
// the sid is unknown).
ParseResult parse_rule(std::string_view text, const Vars& vars, const Classifications& classes, SourceLoc loc);

// Accumulates files into a RuleSet: joins '\' continuations, counts commented-
// out rules as disabled, reports a (gid, sid) seen before as an error.
class RuleLoader {
public:
    RuleLoader(const Vars& vars, Classifications classes);
    void add_text(std::string_view text, const std::string& file);
    Result<void> add_file(const std::string& path);  // fails only when the file cannot be read
    RuleSet take();

private:
    RuleParser parser_;
    RuleSet set_;
    std::map<std::pair<uint32_t, uint32_t>, SourceLoc> seen_;  // (gid, sid) -> first rule
};

// The whole load. classification_path "" uses default_classifications().
// Fails only when a file cannot be read; rule errors go into the reports.
Result<RuleSet> load_files(const std::vector<std::string>& paths, const Vars& vars,
                           const std::string& classification_path);

// Per file: loaded, skipped (top reasons with counts), disabled, errors with
// file:line (sid); then totals. What `vtapd --test-rules` prints.
std::string format_report(const RuleSet& set);

}  // namespace vtap::rules
