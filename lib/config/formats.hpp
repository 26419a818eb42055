// Syntax checks for the small textual formats in the config (internal to
// lib/config): MAC addresses, PCI addresses, VMBus device ids and port names.
// parse_prefix (IPv4 CIDR) is public in config.hpp. All are pure functions,
// strict on purpose: a typo must fail at load time, not at port start.
#pragma once

#include <string_view>

namespace vtap::config::detail {

// "00:0d:3a:12:34:56" (six hex pairs, ':' or '-' separated, either case).
bool is_mac(std::string_view s);

// "7870:00:00.0" or "0000:3b:00.1" (domain:bus:device.function; the domain
// is 1..8 hex digits, Hyper-V uses random 4-digit ones) or "3b:00.1".
bool is_pci_address(std::string_view s);

// "f8615163-df3e-46c5-913f-f2d2f965ed0e": a VMBus device id, which is how
// netvsc devices bound to uio_hv_generic are named.
bool is_vmbus_uuid(std::string_view s);

// 1..32 characters of [A-Za-z0-9_.-]: port names become stats and telemetry
// keys, so nothing that needs quoting.
bool is_port_name(std::string_view s);

}  // namespace vtap::config::detail
