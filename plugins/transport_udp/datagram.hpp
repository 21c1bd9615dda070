// One datagram carries exactly one wire v1 frame (vpnsdk/wire.hpp): the
// 4-byte header, over UDP optionally followed by a 4-byte session index
// (header flag kFlagIndex), then the body, nothing after. This file's one
// job: the datagram's layout (decide whether a received datagram is such a
// frame; write the prefix of one to send). No I/O, no allocation.
//
//   0      2      3      4             8
//   +------+------+------+-------------+------------------+
//   | len  | type | 0x01 | index (u32) | body (len bytes) |   flags 0x01
//   +------+------+------+-------------+------------------+
//   | len  | type | 0x00 | body (len bytes) |                 flags 0x00
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/wire.hpp"

namespace transport_udp {

// The largest UDP payload over IPv4 (65535 - 20 - 8); IPv6 allows 8 bytes
// more, but one limit for both keeps a frame valid on either.
inline constexpr std::size_t kMaxDatagram = 65507;
inline constexpr std::uint8_t kFlagIndex = 0x01;  // a session index follows the header
inline constexpr std::size_t kIndexSize = 4;
inline constexpr std::size_t kPrefixSize = vpnsdk::wire::kHeaderSize + kIndexSize;  // with the index
inline constexpr std::size_t kMaxFrameBody = kMaxDatagram - kPrefixSize;

struct ParsedDatagram {
  bool ok = false;
  const char* problem = "";  // why not, for the trace log
  std::uint8_t type = 0;
  bool indexed = false;      // carries a session index (the sender speaks it)
  std::uint32_t index = 0;   // 0: the sender does not know its session's index yet
  std::size_t prefix = 0;    // header (+ index) bytes in front of the body
};

inline ParsedDatagram parse_datagram(std::span<const std::byte> d) noexcept {
  ParsedDatagram p;
  if (d.size() < vpnsdk::wire::kHeaderSize) {
    p.problem = "shorter than a frame header";
    return p;
  }
  const vpnsdk::wire::FrameHeader h = vpnsdk::wire::decode_header(d.data());
  p.indexed = h.flags == kFlagIndex;
  p.prefix = p.indexed ? kPrefixSize : vpnsdk::wire::kHeaderSize;
  if (h.flags != 0 && h.flags != kFlagIndex)
    p.problem = "frame flags are neither 0 nor 1";
  else if (!vpnsdk::wire::known_type(h.type))
    p.problem = "unknown frame type";
  else if (d.size() < p.prefix)
    p.problem = "shorter than a frame header and session index";
  else if (h.length != d.size() - p.prefix)
    p.problem = "frame length does not match the datagram";
  else {
    p.ok = true;
    p.type = h.type;
    if (p.indexed) p.index = vpnsdk::ipv4::load32(d.data() + vpnsdk::wire::kHeaderSize);
  }
  return p;
}

// Writes the header (and the index when `indexed`) in front of a body of
// `length` bytes; `out` holds prefix_size(indexed) bytes.
inline constexpr std::size_t prefix_size(bool indexed) noexcept {
  return indexed ? kPrefixSize : vpnsdk::wire::kHeaderSize;
}
inline void encode_prefix(std::byte* out, std::uint16_t length, std::uint8_t type, bool indexed,
                          std::uint32_t index) noexcept {
  vpnsdk::wire::encode_header(out, length, type);
  if (!indexed) return;
  out[3] = std::byte{kFlagIndex};
  vpnsdk::ipv4::store32(out + vpnsdk::wire::kHeaderSize, index);
}

}  // namespace transport_udp
