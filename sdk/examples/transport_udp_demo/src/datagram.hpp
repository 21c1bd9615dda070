// One datagram = one wire v1 frame (vpnsdk/wire.hpp): 4-byte header + body.
// This file's one job: decide whether a received datagram is a valid frame.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "vpnsdk/wire.hpp"

namespace transport_udp_demo {

struct ParsedFrame {
  bool ok = false;
  const char* problem = "";  // why not, for the trace log
  std::uint8_t type = 0;
  std::span<const std::byte> body;
};

inline ParsedFrame parse_datagram(std::span<const std::byte> dgram) noexcept {
  ParsedFrame f;
  if (dgram.size() < vpnsdk::wire::kHeaderSize) {
    f.problem = "shorter than a frame header";
    return f;
  }
  const auto h = vpnsdk::wire::decode_header(dgram.data());
  if (h.flags != 0) {
    f.problem = "flags are not 0";
  } else if (!vpnsdk::wire::known_type(h.type)) {
    f.problem = "unknown frame type";
  } else if (h.length != dgram.size() - vpnsdk::wire::kHeaderSize) {
    f.problem = "length does not match the datagram";
  } else {
    f.ok = true;
    f.type = h.type;
    f.body = dgram.subspan(vpnsdk::wire::kHeaderSize);
  }
  return f;
}

}  // namespace transport_udp_demo
