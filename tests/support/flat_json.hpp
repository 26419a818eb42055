// A strict little JSON reader for tests: flattens nested objects to dotted
// names, {"decap": {"wrong_port": 3}} -> "decap.wrong_port" = 3, so DPDK
// telemetry replies compare name for name with vtapd's flat --stats-file.
// Malformed input throws: a test must not pass on a reply it could not read.
#pragma once

#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vtap::test {

struct FlatJson {
    std::map<std::string, double> numbers;       // numeric leaves
    std::map<std::string, std::string> strings;  // string leaves
    std::set<std::string> keys;                  // every leaf name
};

class FlatJsonReader {
public:
    static FlatJson parse(std::string_view text) {
        FlatJsonReader r(text);
        r.value("");
        r.ws();
        if (r.i_ != r.s_.size()) r.error("trailing bytes");
        return std::move(r.out_);
    }

private:
    explicit FlatJsonReader(std::string_view s) : s_(s) {}

    [[noreturn]] void error(const std::string& what) const {
        throw std::runtime_error("JSON: " + what + " at byte " + std::to_string(i_) + " of: " +
                                 std::string(s_.substr(0, 200)));
    }
    void ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) i_++;
    }
    void expect(char c) {
        ws();
        if (i_ >= s_.size() || s_[i_] != c) error(std::string("expected '") + c + "'");
        i_++;
    }
    static std::string join(const std::string& prefix, const std::string& k) {
        return prefix.empty() ? k : prefix + "." + k;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            if (s_[i_] == '\\') {
                if (++i_ >= s_.size()) break;
                char e = s_[i_];
                out += e == 'n' ? '\n' : e == 't' ? '\t' : e;  // \uXXXX kept verbatim: names are ASCII
            } else {
                out += s_[i_];
            }
            i_++;
        }
        if (i_ >= s_.size()) error("unterminated string");
        i_++;
        return out;
    }
    void value(const std::string& name) {
        ws();
        if (i_ >= s_.size()) error("unexpected end");
        const char c = s_[i_];
        if (c == '{') {
            i_++;
            ws();
            if (i_ < s_.size() && s_[i_] == '}') { i_++; return; }
            for (;;) {
                std::string k = string();
                expect(':');
                value(join(name, k));
                ws();
                if (i_ < s_.size() && s_[i_] == ',') { i_++; continue; }
                expect('}');
                return;
            }
        } else if (c == '[') {
            i_++;
            ws();
            if (i_ < s_.size() && s_[i_] == ']') { i_++; return; }
            for (unsigned n = 0;; n++) {
                value(join(name, std::to_string(n)));
                ws();
                if (i_ < s_.size() && s_[i_] == ',') { i_++; continue; }
                expect(']');
                return;
            }
        } else if (c == '"') {
            out_.strings[name] = string();
            out_.keys.insert(name);
        } else if (s_.substr(i_, 4) == "true" || s_.substr(i_, 4) == "null") {
            i_ += 4;
            out_.keys.insert(name);
        } else if (s_.substr(i_, 5) == "false") {
            i_ += 5;
            out_.keys.insert(name);
        } else {
            std::string num(s_.substr(i_, 40));
            char* end = nullptr;
            double v = std::strtod(num.c_str(), &end);
            if (end == num.c_str()) error("not a JSON value");
            i_ += static_cast<size_t>(end - num.c_str());
            out_.numbers[name] = v;
            out_.keys.insert(name);
        }
    }

    std::string_view s_;
    size_t i_ = 0;
    FlatJson out_;
};

inline FlatJson parse_flat_json(std::string_view text) { return FlatJsonReader::parse(text); }

}  // namespace vtap::test
