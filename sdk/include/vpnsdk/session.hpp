// Types that describe a session and what the hub assigned to it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vpnsdk/packet.hpp"

namespace vpnsdk {

// initiator: this end opened the session (a client connecting).
// responder: the peer opened it (a server accepting).
enum class Role : std::uint8_t { initiator, responder };

struct Endpoint {
  std::string address;  // numeric, as text
  std::uint16_t port = 0;
  std::string to_string() const { return address + ":" + std::to_string(port); }
};

struct SessionInfo {
  SessionId id = 0;
  Role role = Role::responder;
  Endpoint peer;
};

// Who the cipher authenticated, if it authenticates anyone.
struct PeerIdentity {
  std::string name;                      // e.g. from an authorized-clients file
  std::vector<std::uint8_t> public_key;  // raw key bytes
  std::optional<std::uint32_t> fixed_address;  // host byte order
};

// Addresses are IPv4 in host byte order throughout the SDK.
struct Assignment {
  std::uint32_t address = 0;        // this end's tunnel address
  std::uint8_t prefix_len = 24;
  std::uint32_t server = 0;         // the hub's tunnel address
  std::uint16_t mtu = 1400;
  std::uint16_t keepalive_s = 0;    // server's keepalive interval (0 = none)
  std::uint16_t timeout_s = 0;      // server's idle timeout (0 = none)
  std::vector<std::uint32_t> dns;   // pushed resolvers (may be empty)
};

}  // namespace vpnsdk
