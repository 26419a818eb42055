// Rule-header addresses and ports: "[10.0.0.0/8,!10.1.0.0/16]", "$HOME_NET",
// "!$HTTP_PORTS", "[1024:,!8080]". Specs are evaluated as exact sets (interval
// arithmetic, so nested negations mean what they say) and written back as the
// smaller of "these" or "all but these". Internal to lib/rules.
#pragma once

#include <expected>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "rules/rule.hpp"

namespace vtap::rules {

// Address and port variables by name, without the '$' ("HOME_NET" -> "[...]").
// Names not given here take Suricata's suricata.yaml defaults (and Snort's for
// SIP_SERVERS / SIP_PORTS), see default_vars().
struct Vars {
    std::map<std::string, std::string> addr, port;
};

// The defaults applied to every name a Vars leaves out.
const Vars& default_vars();

namespace detail {

// Evaluates header specs against one Vars, caching variables and short specs:
// ET Open repeats "$HOME_NET" / "$EXTERNAL_NET" tens of thousands of times.
class NetResolver {
public:
    explicit NetResolver(const Vars& vars);
    ~NetResolver();
    NetResolver(const NetResolver&) = delete;
    NetResolver& operator=(const NetResolver&) = delete;

    // The error is a sentence without location ("undefined variable '$FOO'").
    std::expected<AddrSpec, std::string> address(std::string_view text);
    std::expected<PortSpec, std::string> ports(std::string_view text);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace detail
}  // namespace vtap::rules
