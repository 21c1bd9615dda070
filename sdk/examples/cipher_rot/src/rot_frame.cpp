#include "rot_frame.hpp"

namespace cipher_rot {
namespace {

void add(std::span<std::byte> bytes, std::uint8_t n) noexcept {
  for (auto& b : bytes) b = std::byte(static_cast<std::uint8_t>(std::to_integer<std::uint8_t>(b) + n));
}

}  // namespace

std::uint16_t fletcher16(std::span<const std::byte> data) noexcept {
  unsigned sum1 = 0, sum2 = 0;
  for (auto b : data) {
    sum1 = (sum1 + std::to_integer<unsigned>(b)) % 255;
    sum2 = (sum2 + sum1) % 255;
  }
  return static_cast<std::uint16_t>((sum2 << 8) | sum1);
}

vpnsdk::Status seal_frame(vpnsdk::PacketBuffer& buf, std::uint8_t shift) {
  // Check the room first, so a failure leaves the buffer untouched.
  if (buf.headroom() < kOverhead.head || buf.tailroom() < kOverhead.tail)
    return vpnsdk::Status::error(vpnsdk::Code::internal, "cipher_rot: no room for header/checksum");
  const std::uint16_t sum = fletcher16(buf.bytes());
  add(buf.bytes(), shift);
  std::byte* tail = buf.put(2);
  tail[0] = std::byte(sum >> 8);
  tail[1] = std::byte(sum & 0xff);
  buf.push(1)[0] = kVersion;
  return {};
}

vpnsdk::Status open_frame(vpnsdk::PacketBuffer& buf, std::uint8_t shift) {
  if (buf.size() < kOverhead.head + kOverhead.tail)
    return vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "short frame");
  if (buf.data()[0] != kVersion) return vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "unknown version");
  const std::byte* t = buf.data() + buf.size() - 2;
  const auto want = static_cast<std::uint16_t>((std::to_integer<unsigned>(t[0]) << 8) | std::to_integer<unsigned>(t[1]));
  buf.pull(1);
  buf.trim(buf.size() - 2);
  add(buf.bytes(), static_cast<std::uint8_t>(256 - shift));
  if (fletcher16(buf.bytes()) != want) return vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "bad checksum");
  return {};
}

}  // namespace cipher_rot
