// Wire protocol v1 frame layout, for transports that carry frames
// (docs/protocol.md is the reference).
//
//   0      2      3      4
//   +------+------+------+------------------+
//   | len  | type | flags| body (len bytes) |
//   +------+------+------+------------------+
//   len: body length, big-endian u16. flags: 0 in v1 (receivers reject others).
#pragma once
#include <cstddef>
#include <cstdint>

#include "vpnsdk/ipv4.hpp"

namespace vpnsdk::wire {

inline constexpr std::uint16_t kProtocolVersion = 1;
inline constexpr std::size_t kHeaderSize = 4;
inline constexpr std::size_t kMaxBody = 0xffff;

enum class FrameType : std::uint8_t {
  hello = 1,
  welcome = 2,
  data = 3,
  keepalive = 4,
  bye = 5,
  reject = 6,
  handshake = 7,
};

inline bool known_type(std::uint8_t t) noexcept { return t >= 1 && t <= 7; }

inline const char* type_name(std::uint8_t t) noexcept {
  switch (t) {
    case 1: return "HELLO";
    case 2: return "WELCOME";
    case 3: return "DATA";
    case 4: return "KEEPALIVE";
    case 5: return "BYE";
    case 6: return "REJECT";
    case 7: return "HANDSHAKE";
  }
  return "UNKNOWN";
}

struct FrameHeader {
  std::uint16_t length = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
};

inline void encode_header(std::byte* out, std::uint16_t length, std::uint8_t type) noexcept {
  ipv4::store16(out, length);
  out[2] = std::byte{type};
  out[3] = std::byte{0};
}

inline FrameHeader decode_header(const std::byte* in) noexcept {
  return {ipv4::load16(in), std::to_integer<std::uint8_t>(in[2]), std::to_integer<std::uint8_t>(in[3])};
}

}  // namespace vpnsdk::wire
