// Bodies of the control frames of wire protocol v1 (docs/protocol.md).
// The frame header itself is in vpnsdk/wire.hpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vpnsdk/session.hpp"

namespace vpnhost::protocol {

using Bytes = std::vector<std::byte>;
using View = std::span<const std::byte>;

inline constexpr char kMagic[4] = {'V', 'P', 'N', 'H'};
inline constexpr std::size_t kMaxReasonText = 200;

struct Hello {
  std::uint16_t version = 1;
  std::uint16_t max_body = 0;       // largest frame body the client accepts
  std::uint16_t requested_mtu = 0;  // 0: the server decides
};

struct Welcome {
  std::uint16_t version = 1;
  std::uint16_t max_body = 0;  // largest frame body the server accepts
  vpnsdk::Assignment assignment;
};

enum class RejectCode : std::uint8_t {
  pool_full = 1,  // transient: try later
  version = 2,    // lasting
  auth = 3,       // lasting
  busy = 4,       // transient: server at its session cap
  protocol = 5,   // lasting: the client broke the protocol
};
bool is_lasting(RejectCode c) noexcept;
const char* reject_code_name(RejectCode c) noexcept;

struct Reject {
  RejectCode code = RejectCode::protocol;
  std::string reason;
};

enum class ByeReason : std::uint8_t {
  shutdown = 0,  // the sender is going away
  restart = 1,   // the sender restarts: reconnect
  timeout = 2,   // the peer was silent too long
  leaving = 3,   // a client disconnects by choice
};
const char* bye_reason_name(ByeReason r) noexcept;

struct Bye {
  ByeReason reason = ByeReason::shutdown;
  std::string text;
};

Bytes encode(const Hello& m);
Bytes encode(const Welcome& m);
Bytes encode(const Reject& m);
Bytes encode(const Bye& m);

// Each decode returns "" on success, or why the body does not parse.
std::string decode(View body, Hello& out);
std::string decode(View body, Welcome& out);
std::string decode(View body, Reject& out);
std::string decode(View body, Bye& out);

}  // namespace vpnhost::protocol
