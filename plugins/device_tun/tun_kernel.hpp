// The kernel side of a TUN device: create it and configure it with ioctls
// (no external tools). All functions return errors as vpnsdk::Status.
#pragma once
#include <cstdint>
#include <string>

#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

// Opens /dev/net/tun (non-blocking, close-on-exec) and attaches a new
// non-persistent IFF_TUN|IFF_NO_PI interface: it disappears when `fd` is
// closed. `name` may hold "%d"; `actual` gets the name the kernel chose.
// `opened`: a descriptor of /dev/net/tun opened earlier (before the host
// dropped its privileges: the device node may be root's only), taken over
// and reset to -1; -1 opens it now.
vpnsdk::Status create_tun(const std::string& name, int& fd, std::string& actual, int& opened);
// /dev/net/tun opened for a later create_tun(), or -1 (create_tun says why).
int open_tun_node() noexcept;

// Sets address, netmask, MTU and queue length, then brings the interface up
// (the kernel adds the connected route for the prefix).
vpnsdk::Status configure_tun(const std::string& ifname, const vpnsdk::Assignment& self, std::uint16_t mtu,
                             int txqueuelen);

// The tunnel carries IPv4 only: turn IPv6 off on the interface (no
// link-local address, no router solicitations read from the device).
// Best effort: false if the kernel has no IPv6 or refuses.
bool disable_ipv6(const std::string& ifname) noexcept;

}  // namespace device_tun
