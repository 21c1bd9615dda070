// One datagram carries exactly one wire v1 frame (vpnsdk/wire.hpp): the
// 4-byte header and the body, nothing before or after. This file's one job:
// decide whether a received datagram is such a frame. No I/O, no allocation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "vpnsdk/wire.hpp"

namespace transport_udp {

// The largest UDP payload over IPv4 (65535 - 20 - 8); IPv6 allows 8 bytes
// more, but one limit for both keeps a frame valid on either.
inline constexpr std::size_t kMaxDatagram = 65507;
inline constexpr std::size_t kMaxFrameBody = kMaxDatagram - vpnsdk::wire::kHeaderSize;

struct ParsedDatagram {
  bool ok = false;
  const char* problem = "";  // why not, for the trace log
  std::uint8_t type = 0;
};

inline ParsedDatagram parse_datagram(std::span<const std::byte> d) noexcept {
  ParsedDatagram p;
  if (d.size() < vpnsdk::wire::kHeaderSize) {
    p.problem = "shorter than a frame header";
    return p;
  }
  const vpnsdk::wire::FrameHeader h = vpnsdk::wire::decode_header(d.data());
  if (h.flags != 0)
    p.problem = "frame flags are not 0";
  else if (!vpnsdk::wire::known_type(h.type))
    p.problem = "unknown frame type";
  else if (h.length != d.size() - vpnsdk::wire::kHeaderSize)
    p.problem = "frame length does not match the datagram";
  else {
    p.ok = true;
    p.type = h.type;
  }
  return p;
}

}  // namespace transport_udp
