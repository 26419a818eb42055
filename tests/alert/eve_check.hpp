// Reads an EVE file back through an independent parser (Python's json, via
// eve_flatten.py) and returns each line's leaves, so tests assert exact field
// values without trusting vtapd's own JSON code.
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace vtap::test {

struct EveLeaf {
    char type = 0;      // s, i, b, n
    std::string value;  // s: the decoded bytes; i: decimal; b: true/false
};
using EveObject = std::map<std::string, EveLeaf>;

struct EveParse {
    bool ok = false;
    std::string error;  // the checker's message when !ok
    std::vector<EveObject> lines;
};

inline std::string unhex(const std::string& h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

inline EveParse parse_eve_file(const std::string& path) {
    EveParse p;
    const Output o = run_cmd(std::string(VTAP_PYTHON3) + " '" + VTAP_ALERT_TEST_DIR + "/eve_flatten.py' '" + path + "'");
    std::istringstream in(o.text);
    std::string line;
    size_t expect = 0;
    while (std::getline(in, line)) {
        if (line.rfind("lines ", 0) == 0) {
            expect = std::stoul(line.substr(6));
            p.lines.resize(expect);
            continue;
        }
        std::istringstream ls(line);
        size_t n;
        std::string key, type, value;
        if (!(ls >> n >> key >> type >> value) || n >= expect) {
            p.error += line + "\n";
            continue;
        }
        EveLeaf leaf{type[0], type == "s" ? unhex(value.substr(1)) : value};
        p.lines[n][key] = leaf;
    }
    p.ok = o.status == 0 && p.error.empty();
    if (o.status != 0) p.error = o.text;
    return p;
}

inline std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void write_file(const std::string& path, const std::string& data) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << data;
}

}  // namespace vtap::test
