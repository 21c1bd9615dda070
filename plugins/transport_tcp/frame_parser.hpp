// Splits a byte stream into wire v1 frames (vpnsdk/wire.hpp) and checks
// each header. Pure logic: no I/O, no allocation.
#pragma once
#include <cstddef>
#include <span>
#include <string>

#include "vpnsdk/wire.hpp"

namespace transport_tcp {

struct ParsedFrame {
  enum Result { frame, need_more, bad } result = need_more;
  std::uint8_t type = 0;
  std::span<const std::byte> body;  // valid for result == frame
  std::size_t consumed = 0;         // header + body, for result == frame
  std::string problem;              // for result == bad
};

// Looks at the front of `in`. `max_body` is the largest body accepted.
inline ParsedFrame parse_frame(std::span<const std::byte> in, std::size_t max_body) {
  ParsedFrame out;
  if (in.size() < vpnsdk::wire::kHeaderSize) return out;
  const vpnsdk::wire::FrameHeader h = vpnsdk::wire::decode_header(in.data());
  if (h.flags != 0) {
    out.result = ParsedFrame::bad;
    out.problem = "frame flags " + std::to_string(h.flags) + " are not 0 (protocol v1)";
  } else if (!vpnsdk::wire::known_type(h.type)) {
    out.result = ParsedFrame::bad;
    out.problem = "unknown frame type " + std::to_string(h.type);
  } else if (h.length > max_body) {
    out.result = ParsedFrame::bad;
    out.problem = "frame length " + std::to_string(h.length) + " exceeds the maximum " + std::to_string(max_body);
  } else if (in.size() >= vpnsdk::wire::kHeaderSize + h.length) {
    out.result = ParsedFrame::frame;
    out.type = h.type;
    out.body = in.subspan(vpnsdk::wire::kHeaderSize, h.length);
    out.consumed = vpnsdk::wire::kHeaderSize + h.length;
  }
  return out;
}

}  // namespace transport_tcp
