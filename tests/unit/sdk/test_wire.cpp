// vpnsdk::wire: the 4-byte frame header of wire protocol v1.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "vpnsdk/wire.hpp"

namespace wire = vpnsdk::wire;

TEST_CASE("wire: constants", "[wire]") {
  CHECK(wire::kProtocolVersion == 1);
  CHECK(wire::kHeaderSize == 4);
  CHECK(wire::kMaxBody == 65535);
}

TEST_CASE("wire: header layout is length (big-endian), type, flags 0", "[wire]") {
  std::array<std::byte, 4> b{std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  wire::encode_header(b.data(), 0x1234, static_cast<std::uint8_t>(wire::FrameType::data));
  CHECK(b[0] == std::byte{0x12});
  CHECK(b[1] == std::byte{0x34});
  CHECK(b[2] == std::byte{0x03});
  CHECK(b[3] == std::byte{0x00});  // flags are always written as 0
}

TEST_CASE("wire: encode/decode round trip over lengths and types", "[wire]") {
  std::array<std::byte, 4> b{};
  for (std::uint32_t len : {0u, 1u, 255u, 256u, 1400u, 9216u, 65535u}) {
    for (std::uint8_t type = 1; type <= 7; ++type) {
      wire::encode_header(b.data(), static_cast<std::uint16_t>(len), type);
      const wire::FrameHeader h = wire::decode_header(b.data());
      CHECK(h.length == len);
      CHECK(h.type == type);
      CHECK(h.flags == 0);
    }
  }
}

TEST_CASE("wire: decode reports flags and unknown types as they are", "[wire]") {
  const std::array<std::byte, 4> b{std::byte{0x00}, std::byte{0x10}, std::byte{0x63}, std::byte{0x80}};
  const wire::FrameHeader h = wire::decode_header(b.data());
  CHECK(h.length == 16);
  CHECK(h.type == 0x63);
  CHECK(h.flags == 0x80);
  CHECK_FALSE(wire::known_type(h.type));
}

TEST_CASE("wire: known types and their names", "[wire]") {
  CHECK_FALSE(wire::known_type(0));
  CHECK_FALSE(wire::known_type(8));
  CHECK_FALSE(wire::known_type(255));
  const char* names[] = {"HELLO", "WELCOME", "DATA", "KEEPALIVE", "BYE", "REJECT", "HANDSHAKE"};
  for (std::uint8_t t = 1; t <= 7; ++t) {
    CHECK(wire::known_type(t));
    CHECK(std::string(wire::type_name(t)) == names[t - 1]);
  }
  CHECK(std::string(wire::type_name(0)) == "UNKNOWN");
  CHECK(std::string(wire::type_name(8)) == "UNKNOWN");
  CHECK(static_cast<int>(wire::FrameType::hello) == 1);
  CHECK(static_cast<int>(wire::FrameType::reject) == 6);
  CHECK(static_cast<int>(wire::FrameType::handshake) == 7);
}
