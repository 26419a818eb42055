// Control-path error handling: Result<T> = std::expected<T, Error>.
// An Error carries what an operator needs to act: where (file:line:col, rule
// sid, port name) and what went wrong, in words. The hot path never uses it:
// a data-path failure is a DropReason, counted.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace vtap {

struct Error {
    std::string where;  // "conf/vtapd.yaml:12:5", "port 0 (net_pcap)", "" if none
    std::string what;   // "unknown key 'udp_prot' in 'decap'"

    std::string to_string() const { return where.empty() ? what : where + ": " + what; }
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string where, std::string what) {
    return std::unexpected<Error>(Error{std::move(where), std::move(what)});
}

}  // namespace vtap
