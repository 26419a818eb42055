// Section parsers shared by config.cpp and ports.cpp (internal to lib/config).
// Each reads one part of the document into its Config field, checking keys,
// types and ranges; cross-section rules run afterwards in config.cpp.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "config/yaml_view.hpp"

namespace vtap::config::detail {

// `ports:`: a non-empty list of port mappings. `doc` locates the error
// when the key is missing altogether.
Result<std::vector<PortConfig>> parse_ports(const MapView& doc);

// `exception:` and `health:` (exception_health.cpp).
Result<void> parse_exception(const MapView& doc, Config& cfg);
Result<void> parse_health(const MapView& doc, Config& cfg);

// `outputs:`: a list of alert outputs (may be absent or empty).
Result<std::vector<output::OutputSpec>> parse_outputs(const MapView& doc);

}  // namespace vtap::config::detail
