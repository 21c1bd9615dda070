// The underlay address(es) this process talks to: the remote IPv4 addresses
// of its established TCP connections and connected UDP sockets. In a vpnhost
// client that is the transport's connection to the server, which is what
// route_all must keep out of the tunnel. (The SDK does not hand the device
// the session's peer; see docs/gateway.md.)
#pragma once
#include <cstdint>
#include <vector>

namespace device_tun {

// Host byte order; loopback and unspecified addresses left out; no
// duplicates. IPv4-mapped IPv6 peers count as IPv4.
std::vector<std::uint32_t> connected_ipv4_peers();

}  // namespace device_tun
