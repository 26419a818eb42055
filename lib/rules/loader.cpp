// Rule files -> RuleSet: logical lines ('\' continuations joined), commented-
// out rules counted as disabled, every rule line ending as exactly one of
// loaded / skipped / error, and the report an operator reads. Also
// classification.config.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/file_text.hpp"
#include "rules/parser.hpp"
#include "rules/text.hpp"

namespace vtap::rules {
namespace {

using detail::trim;

constexpr size_t kErrorsShownPerFile = 50;  // a garbage file must not bury the report
constexpr size_t kReasonsShownPerFile = 5;
constexpr size_t kReasonsShownTotal = 10;

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && detail::is_space(s.back())) s.remove_suffix(1);
    return s;
}

// "# alert tcp ... (...)" — a rule someone turned off, not prose.
bool is_commented_rule(std::string_view t) {
    while (!t.empty() && (t.front() == '#' || detail::is_space(t.front()))) t.remove_prefix(1);
    static constexpr std::string_view kActions[] = {"alert", "drop", "reject", "rejectsrc", "rejectdst",
                                                    "rejectboth", "pass", "log", "sdrop", "block"};
    for (auto a : kActions) {
        if (t.size() > a.size() && t.starts_with(a) && detail::is_space(t[a.size()]))
            return t.find('(') != std::string_view::npos;
    }
    return false;
}

}  // namespace

const Classifications& default_classifications() {
    // Suricata's classification.config (as shipped with ET Open).
    static const Classifications kTable{
        {"not-suspicious", {"Not Suspicious Traffic", 3}},
        {"unknown", {"Unknown Traffic", 3}},
        {"bad-unknown", {"Potentially Bad Traffic", 2}},
        {"attempted-recon", {"Attempted Information Leak", 2}},
        {"successful-recon-limited", {"Information Leak", 2}},
        {"successful-recon-largescale", {"Large Scale Information Leak", 2}},
        {"attempted-dos", {"Attempted Denial of Service", 2}},
        {"successful-dos", {"Denial of Service", 2}},
        {"attempted-user", {"Attempted User Privilege Gain", 1}},
        {"unsuccessful-user", {"Unsuccessful User Privilege Gain", 1}},
        {"successful-user", {"Successful User Privilege Gain", 1}},
        {"attempted-admin", {"Attempted Administrator Privilege Gain", 1}},
        {"successful-admin", {"Successful Administrator Privilege Gain", 1}},
        {"rpc-portmap-decode", {"Decode of an RPC Query", 2}},
        {"shellcode-detect", {"Executable code was detected", 1}},
        {"string-detect", {"A suspicious string was detected", 3}},
        {"suspicious-filename-detect", {"A suspicious filename was detected", 2}},
        {"suspicious-login", {"An attempted login using a suspicious username was detected", 2}},
        {"system-call-detect", {"A system call was detected", 2}},
        {"tcp-connection", {"A TCP connection was detected", 4}},
        {"trojan-activity", {"A Network Trojan was detected", 1}},
        {"unusual-client-port-connection", {"A client was using an unusual port", 2}},
        {"network-scan", {"Detection of a Network Scan", 3}},
        {"denial-of-service", {"Detection of a Denial of Service Attack", 2}},
        {"non-standard-protocol", {"Detection of a non-standard protocol or event", 2}},
        {"protocol-command-decode", {"Generic Protocol Command Decode", 3}},
        {"web-application-activity", {"access to a potentially vulnerable web application", 2}},
        {"web-application-attack", {"Web Application Attack", 1}},
        {"misc-activity", {"Misc activity", 3}},
        {"misc-attack", {"Misc Attack", 2}},
        {"icmp-event", {"Generic ICMP event", 3}},
        {"policy-violation", {"Potential Corporate Privacy Violation", 1}},
        {"default-login-attempt", {"Attempt to login by a default username and password", 2}},
        {"targeted-activity", {"Targeted Malicious Activity was Detected", 1}},
        {"exploit-kit", {"Exploit Kit Activity Detected", 1}},
        {"external-ip-check", {"Device Retrieving External IP Address Detected", 2}},
        {"domain-c2", {"Domain Observed Used for C2 Detected", 1}},
        {"pup-activity", {"Possibly Unwanted Program Detected", 2}},
        {"credential-theft", {"Successful Credential Theft Detected", 1}},
        {"social-engineering", {"Possible Social Engineering Attempted", 2}},
        {"coin-mining", {"Crypto Currency Mining Activity Detected", 2}},
        {"command-and-control", {"Malware Command and Control Activity Detected", 1}},
    };
    return kTable;
}

Result<Classifications> parse_classification(std::string_view text, const std::string& file) {
    Classifications out;
    constexpr std::string_view kPrefix = "config classification:";
    uint32_t lineno = 0;
    while (!text.empty()) {
        auto eol = text.find('\n');
        std::string_view line = trim(text.substr(0, eol));
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        auto at = [&] { return file + ":" + std::to_string(lineno); };
        if (!line.starts_with(kPrefix))
            return fail(at(), "expected 'config classification: name,description,priority'");
        auto parts = detail::split_commas(line.substr(kPrefix.size()));
        int64_t prio = 0;
        if (parts.size() != 3 || parts[0].empty() || !detail::parse_range(parts[2], 1, 255, prio))
            return fail(at(), "expected 'name,description,priority' with priority 1..255");
        out[std::string(parts[0])] = {std::string(parts[1]), static_cast<uint8_t>(prio)};
    }
    if (out.empty()) return fail(file, "no classifications");
    return out;
}

Result<Classifications> load_classification(const std::string& path) {
    auto text = read_file_text(path);
    if (!text) return std::unexpected(text.error());
    return parse_classification(*text, path);
}

RuleLoader::RuleLoader(const Vars& vars, Classifications classes) : parser_(vars, classes) {
    set_.classifications = std::move(classes);
}

void RuleLoader::add_text(std::string_view text, const std::string& file) {
    FileReport rep;
    rep.file = file;
    uint32_t lineno = 0;
    auto next_line = [&](std::string_view& line) {
        if (text.empty()) return false;
        auto eol = text.find('\n');
        line = text.substr(0, eol);
        text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
        ++lineno;
        return true;
    };
    std::string joined;
    std::string_view line;
    while (next_line(line)) {
        std::string_view t = trim(line);
        if (t.empty()) continue;
        const bool comment = t[0] == '#';
        if (comment && !is_commented_rule(t)) continue;
        const uint32_t first = lineno;
        std::string_view logical = t;
        if (t.back() == '\\') {  // continuation: glue the following lines on, as Suricata does
            joined.assign(t.substr(0, t.size() - 1));
            std::string_view more;
            while (next_line(more)) {
                more = trim_right(more);
                if (more.empty() || more.back() != '\\') {
                    joined.append(more);
                    break;
                }
                joined.append(more.substr(0, more.size() - 1));
            }
            logical = joined;
        }
        if (comment) {
            ++rep.disabled;
            continue;
        }
        ParseResult r = parser_.parse(logical, SourceLoc{file, first});
        if (r.failed()) {
            rep.errors.push_back(r.error());
        } else if (r.skipped()) {
            ++rep.skipped;
            ++rep.skip_reasons[r.skip().reason];
        } else {
            Rule& rule = r.rule();
            auto [it, fresh] = seen_.try_emplace({rule.gid, rule.sid}, rule.loc);
            if (!fresh) {
                rep.errors.push_back(Error{file + ":" + std::to_string(first) + " (sid " + std::to_string(rule.sid) + ")",
                                           "duplicate sid " + std::to_string(rule.sid) + " (gid " +
                                               std::to_string(rule.gid) + "), first at " + it->second.file + ":" +
                                               std::to_string(it->second.line)});
                continue;
            }
            ++rep.loaded;
            set_.rules.push_back(std::move(rule));
        }
    }
    set_.reports.push_back(std::move(rep));
}

Result<void> RuleLoader::add_file(const std::string& path) {
    auto file = MappedFile::open(path);
    if (!file) return std::unexpected(file.error());
    add_text(file->text(), path);
    return {};
}

RuleSet RuleLoader::take() { return std::move(set_); }

Result<RuleSet> load_files(const std::vector<std::string>& paths, const Vars& vars,
                           const std::string& classification_path) {
    Classifications classes = default_classifications();
    if (!classification_path.empty()) {
        auto loaded = load_classification(classification_path);
        if (!loaded) return std::unexpected(loaded.error());
        classes = std::move(*loaded);
    }
    RuleLoader loader(vars, std::move(classes));
    for (const auto& path : paths) {
        std::error_code ec;
        if (!std::filesystem::is_directory(path, ec)) {
            if (auto r = loader.add_file(path); !r) return std::unexpected(r.error());
            continue;
        }
        // A directory stands for its *.rules files, in name order.
        std::vector<std::string> files;
        for (const auto& e : std::filesystem::directory_iterator(path, ec))
            if (e.path().extension() == ".rules" && !e.is_directory()) files.push_back(e.path().string());
        if (ec) return fail(path, "cannot list: " + ec.message());
        std::sort(files.begin(), files.end());
        for (const auto& f : files)
            if (auto r = loader.add_file(f); !r) return std::unexpected(r.error());
    }
    return loader.take();
}

namespace {

using Reasons = std::vector<std::pair<std::string, uint32_t>>;

Reasons top(const std::map<std::string, uint32_t>& m) {
    Reasons v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return v;
}

void print_reasons(std::ostringstream& out, const std::map<std::string, uint32_t>& m, size_t shown) {
    Reasons v = top(m);
    uint32_t rest_rules = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i < shown) out << "  skipped " << v[i].second << "  " << v[i].first << "\n";
        else rest_rules += v[i].second;
    }
    if (v.size() > shown)
        out << "  skipped " << rest_rules << "  for " << v.size() - shown << " other reasons\n";
}

}  // namespace

std::string format_report(const RuleSet& set) {
    std::ostringstream out;
    uint32_t loaded = 0, skipped = 0, disabled = 0, errors = 0;
    std::map<std::string, uint32_t> all_reasons;
    for (const auto& r : set.reports) {
        out << r.file << ": " << r.loaded << " loaded, " << r.skipped << " skipped, " << r.disabled << " disabled, "
            << r.errors.size() << " errors\n";
        print_reasons(out, r.skip_reasons, kReasonsShownPerFile);
        for (size_t i = 0; i < r.errors.size() && i < kErrorsShownPerFile; ++i)
            out << "  error " << r.errors[i].to_string() << "\n";
        if (r.errors.size() > kErrorsShownPerFile)
            out << "  ... " << r.errors.size() - kErrorsShownPerFile << " more errors\n";
        loaded += r.loaded;
        skipped += r.skipped;
        disabled += r.disabled;
        errors += static_cast<uint32_t>(r.errors.size());
        for (const auto& [why, n] : r.skip_reasons) all_reasons[why] += n;
    }
    out << "total: " << set.reports.size() << " files, " << loaded << " loaded, " << skipped << " skipped, "
        << disabled << " disabled, " << errors << " errors\n";
    if (set.reports.size() > 1 && !all_reasons.empty()) {
        out << "top skip reasons:\n";
        print_reasons(out, all_reasons, kReasonsShownTotal);
    }
    return out.str();
}

}  // namespace vtap::rules
