// Helpers for the config tests: parse text that must fail and return the
// Error, build configs from a minimal valid base, and a temp directory that
// cleans up after itself.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"

namespace vtap::config::test {

inline constexpr const char* kFile = "vtapd.yaml";

// The smallest valid config; tests append sections after it. 2 lines.
inline const std::string kMinimalPorts = "ports:\n"
                                         "  - {driver: pcap, pcap_file: a.pcap}\n";
inline const std::string kMinimalDecap = "decap:\n"
                                         "  tap_sources: [198.18.0.0/15]\n";
inline const std::string kMinimal = kMinimalPorts + kMinimalDecap;  // lines 1..4

inline Error parse_error(const std::string& text) {
    auto r = parse(text, kFile);
    INFO("yaml:\n" << text);
    REQUIRE_FALSE(r.has_value());
    INFO("error: " << r.error().to_string());
    return r.error();
}

inline Config parse_ok(const std::string& text) {
    auto r = parse(text, kFile);
    INFO("yaml:\n" << text);
    if (!r) FAIL("unexpected error: " << r.error().to_string());
    return *r;
}

// "vtapd.yaml:L:C" -> "vtapd.yaml:L:" prefix check keeps tests readable.
inline std::string at_line(int line) { return std::string(kFile) + ":" + std::to_string(line) + ":"; }

inline bool starts_with(const std::string& s, const std::string& prefix) {
    return s.rfind(prefix, 0) == 0;
}

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "vtap_config_XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string write(const std::string& rel, const std::string& text) const {
        auto p = path_ / rel;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }

private:
    std::filesystem::path path_;
};

}  // namespace vtap::config::test
