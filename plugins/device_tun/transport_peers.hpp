// The underlay address(es) this process talks to: the remote IPv4 addresses
// of its established TCP connections and connected UDP sockets. In a vpnhost
// client that is the transport's connection to the server, which route_all
// must keep out of the tunnel, and whose end tells that the tunnel is down.
// (The SDK does not hand the device the session's peer, nor tell it that
// the session is gone; docs/gateway.md, "SDK change requested".)
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace device_tun {

struct PeerSocket {
  int fd = -1;
  ino_t inode = 0;          // identifies the socket: fd numbers are reused
  std::uint32_t peer = 0;   // host byte order
};

// Loopback and unspecified peers left out. IPv4-mapped IPv6 peers count as IPv4.
std::vector<PeerSocket> connected_ipv4_sockets();

// The distinct peer addresses of connected_ipv4_sockets().
std::vector<std::uint32_t> connected_ipv4_peers();

// A connected socket to a (non-loopback, non-IPv4-mapped) IPv6 peer exists:
// the transport runs over IPv6.
bool has_connected_ipv6_peer();

// Still the same socket, and still connected (TCP: established).
bool still_connected(const PeerSocket& s);

}  // namespace device_tun
