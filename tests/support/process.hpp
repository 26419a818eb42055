// Running the project's own binaries from integration tests and reading
// their flat-JSON statistics files.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace vtap::test {

struct Output {
    int status = -1;     // exit code, or 128+signal
    std::string text;    // stdout and stderr, interleaved
};

// Runs a shell command line, capturing its output.
inline Output run_cmd(const std::string& cmd) {
    Output o;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (!p) throw std::runtime_error("popen failed: " + cmd);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.text.append(buf, n);
    int st = pclose(p);
    o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return o;
}

inline std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? v : fallback;
}

// {"a.b": 1, "c": 2.5} -> map; the stats file is flat by construction.
inline std::map<std::string, double> read_stats(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("no statistics file " + path);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string s = ss.str();
    std::map<std::string, double> out;
    static const std::regex kv("\"([^\"]+)\": ([0-9.eE+-]+)");
    for (auto it = std::sregex_iterator(s.begin(), s.end(), kv); it != std::sregex_iterator(); ++it)
        out[(*it)[1]] = std::stod((*it)[2]);
    return out;
}

// A scratch directory removed at scope exit.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/vtaptest.XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string operator/(const std::string& name) const { return path + "/" + name; }
};

}  // namespace vtap::test
