// One datagram carries exactly one wire v1 frame (vpnsdk/wire.hpp): the
// 4-byte header, over UDP optionally followed by a 4-byte session index
// (header flag kFlagIndex) and, from a client, a 16-byte cookie field (flag
// kFlagCookie), then the body, nothing after. The server's COOKIE datagram
// (type kTypeCookie, protocol.md section 11.7) is no frame of the session
// protocol: it never reaches the host. This file's one job: the datagram's
// layout (decide whether a received datagram is such a frame; write the
// prefix of one to send). No I/O, no allocation.
//
//   0      2      3      4             8                  24
//   +------+------+------+-------------+------------------+------------------+
//   | len  | type | 0x03 | index (u32) | cookie (16)      | body (len bytes) |   flags 0x03 (client)
//   +------+------+------+-------------+------------------+------------------+
//   | len  | type | 0x01 | index (u32) | body (len bytes) |                      flags 0x01
//   +------+------+------+-------------+------------------+
//   | len  | type | 0x00 | body (len bytes) |                                    flags 0x00
//   +------+------+------+------------------+
//   | 16   | 0x80 | 0x00 | cookie (16)      |   COOKIE (server -> client, 20 bytes)
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
inline constexpr std::uint8_t kFlagIndex = 0x01;   // a session index follows the header
inline constexpr std::uint8_t kFlagCookie = 0x02;  // a cookie field follows (after the index, if any)
inline constexpr std::uint8_t kTypeCookie = 0x80;  // the server's COOKIE datagram (transport_udp only)
inline constexpr std::size_t kIndexSize = 4;
inline constexpr std::size_t kCookieFieldSize = 16;
inline constexpr std::size_t kCookieReplySize = vpnsdk::wire::kHeaderSize + kCookieFieldSize;  // 20
inline constexpr std::size_t kPrefixSize = vpnsdk::wire::kHeaderSize + kIndexSize;  // with the index
inline constexpr std::size_t kMaxFrameBody = kMaxDatagram - kPrefixSize;

struct ParsedDatagram {
  bool ok = false;
  const char* problem = "";  // why not, for the trace log
  std::uint8_t type = 0;
  bool indexed = false;      // carries a session index (the sender speaks it)
  std::uint32_t index = 0;   // 0: the sender does not know its session's index yet
  bool cookie_field = false; // carries a cookie field (a client before it heard the server)
  std::size_t cookie_at = 0; // where the cookie field starts
  bool cookie_reply = false; // the server's COOKIE datagram: the cookie is at 4..20
  std::size_t prefix = 0;    // header (+ index) (+ cookie field) bytes in front of the body
};

inline ParsedDatagram parse_datagram(std::span<const std::byte> d) noexcept {
  ParsedDatagram p;
  if (d.size() < vpnsdk::wire::kHeaderSize) {
    p.problem = "shorter than a frame header";
    return p;
  }
  const vpnsdk::wire::FrameHeader h = vpnsdk::wire::decode_header(d.data());
  if (h.type == kTypeCookie) {
    if (h.flags != 0 || h.length != kCookieFieldSize || d.size() != kCookieReplySize) {
      p.problem = "a COOKIE datagram that is not 20 bytes with flags 0";
      return p;
    }
    p.ok = p.cookie_reply = true;
    p.type = h.type;
    p.prefix = vpnsdk::wire::kHeaderSize;
    return p;
  }
  p.indexed = (h.flags & kFlagIndex) != 0;
  p.cookie_field = (h.flags & kFlagCookie) != 0;
  p.cookie_at = vpnsdk::wire::kHeaderSize + (p.indexed ? kIndexSize : 0);
  p.prefix = p.cookie_at + (p.cookie_field ? kCookieFieldSize : 0);
  if ((h.flags & ~(kFlagIndex | kFlagCookie)) != 0)
    p.problem = "frame flags other than 0x01 and 0x02";
  else if (!vpnsdk::wire::known_type(h.type))
    p.problem = "unknown frame type";
  else if (d.size() < p.prefix)
    p.problem = "shorter than a frame header, session index and cookie field";
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

namespace transport_udp {

// Removes the cookie field of a parsed datagram in place: the header (and
// index) move 16 bytes on over it, flag 0x02 is cleared; the caller then
// pulls kCookieFieldSize bytes off the front. After it the datagram is what
// the client would have sent without the field (so copies compare equal).
inline void strip_cookie_field(std::byte* d, ParsedDatagram& p) noexcept {
  for (std::size_t i = p.cookie_at; i-- > 0;) d[i + kCookieFieldSize] = d[i];
  d[kCookieFieldSize + 3] &= std::byte{static_cast<unsigned char>(~kFlagCookie)};
  p.cookie_field = false;
  p.prefix -= kCookieFieldSize;
}

}  // namespace transport_udp
