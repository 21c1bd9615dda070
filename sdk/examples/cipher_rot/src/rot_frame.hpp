// The cipher_rot frame format (one job: turn a body into a frame and back).
//
//   +---------+-------------------------------+------------------+
//   | version | body, every byte + shift      | Fletcher-16 of   |
//   |   0x01  | (mod 256)                     | the plain body   |
//   +---------+-------------------------------+------------------+
//     1 byte      n bytes                       2 bytes, big-endian
//
// The version byte lives in the buffer's headroom (push), the checksum in
// its tailroom (put): together the cipher's Overhead{1, 2}.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "vpnsdk/packet.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_rot {

inline constexpr vpnsdk::Overhead kOverhead{1, 2};
inline constexpr std::byte kVersion{0x01};

// Fletcher-16 (mod 255): every single-bit change is detected.
std::uint16_t fletcher16(std::span<const std::byte> data) noexcept;

// In place. seal: Code::internal if the buffer lacks the room (the host
// always reserves it). open: Code::drop_malformed for a frame that is too
// short, has another version or a wrong checksum (e.g. the peer uses
// another shift); the buffer is then unspecified.
vpnsdk::Status seal_frame(vpnsdk::PacketBuffer& buf, std::uint8_t shift);
vpnsdk::Status open_frame(vpnsdk::PacketBuffer& buf, std::uint8_t shift);

}  // namespace cipher_rot
