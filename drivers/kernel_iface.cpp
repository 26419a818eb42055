#include "drivers/kernel_iface.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vtap::drivers {

Result<void> set_kernel_ipv4(const std::string& iface, const std::string& cidr) {
    const std::string where = "interface " + iface;
    const auto slash = cidr.find('/');
    in_addr addr{};
    if (slash == std::string::npos || inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &addr) != 1)
        return fail(where, "'" + cidr + "' is not A.B.C.D/N");
    const int len = std::atoi(cidr.c_str() + slash + 1);
    if (len < 1 || len > 32) return fail(where, "prefix length of '" + cidr + "' is not 1..32");
    if (iface.size() >= IFNAMSIZ) return fail(where, "name too long");

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(where, std::string("socket: ") + std::strerror(errno));
    auto ioctl_step = [&](unsigned long req, ifreq& ifr, const char* step) -> Result<void> {
        if (ioctl(fd, req, &ifr) == 0) return {};
        return fail(where, std::string(step) + ": " + std::strerror(errno));
    };
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, iface.c_str(), iface.size() + 1);
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr = addr;
    Result<void> r = ioctl_step(SIOCSIFADDR, ifr, "set address (SIOCSIFADDR)");
    if (r) {
        sin->sin_addr.s_addr = htonl(static_cast<uint32_t>(~uint64_t{0} << (32 - len)));
        r = ioctl_step(SIOCSIFNETMASK, ifr, "set netmask (SIOCSIFNETMASK)");
    }
    if (r) r = ioctl_step(SIOCGIFFLAGS, ifr, "get flags (SIOCGIFFLAGS)");
    if (r) {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        r = ioctl_step(SIOCSIFFLAGS, ifr, "bring up (SIOCSIFFLAGS)");
    }
    close(fd);
    return r;
}

}  // namespace vtap::drivers
