// Kernel-side settings of an interface vtapd created (the exception path's
// tap): its IPv4 address and link state, through the classic SIOCSIF*
// ioctls. Control path; needs CAP_NET_ADMIN. Not a DPDK call: the kernel
// owns the interface, DPDK only reads and writes its frames.
#pragma once

#include <string>

#include "core/result.hpp"

namespace vtap::drivers {

// Sets `cidr` ("198.18.20.2/24") as the interface's IPv4 address and brings
// it up. Errors name the interface, the step and strerror.
Result<void> set_kernel_ipv4(const std::string& iface, const std::string& cidr);

}  // namespace vtap::drivers
