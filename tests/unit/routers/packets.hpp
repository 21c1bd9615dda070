// Building IPv4 test packets for the router tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vpnsdk/ipv4.hpp"

namespace routers_test {

inline std::uint32_t addr(const char* text) { return vpnsdk::ipv4::parse_address(text).value(); }

// A UDP-looking IPv4 packet with a valid header checksum.
inline std::vector<std::byte> ipv4_packet(std::uint32_t src, std::uint32_t dst, std::size_t payload = 8) {
  std::vector<std::byte> p(20 + payload, std::byte{0});
  p[0] = std::byte{0x45};
  vpnsdk::ipv4::store16(p.data() + 2, static_cast<std::uint16_t>(p.size()));
  p[8] = std::byte{64};
  p[9] = std::byte{vpnsdk::ipv4::kProtoUdp};
  vpnsdk::ipv4::store32(p.data() + 12, src);
  vpnsdk::ipv4::store32(p.data() + 16, dst);
  vpnsdk::ipv4::store16(p.data() + 10, vpnsdk::ipv4::checksum({p.data(), 20}));
  return p;
}

}  // namespace routers_test
