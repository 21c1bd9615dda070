// Builds IPv4 test packets (valid header checksum) for the MTU tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vpnsdk/ipv4.hpp"

namespace coretest {

struct PacketSpec {
  std::uint8_t protocol = vpnsdk::ipv4::kProtoUdp;
  std::size_t payload = 100;          // bytes after the IP header (filled with a pattern unless given)
  bool df = false;
  bool mf = false;
  std::uint16_t offset8 = 0;          // fragment offset in 8-byte units
  std::vector<std::byte> options;     // multiple of 4
  std::vector<std::byte> data;        // used instead of the pattern if not empty
  std::uint32_t src = 0x0a0a0003;     // 10.10.0.3
  std::uint32_t dst = 0x0a0a0002;     // 10.10.0.2
  std::uint16_t id = 0x1234;
};

inline std::vector<std::byte> make_ipv4(const PacketSpec& s) {
  namespace ip = vpnsdk::ipv4;
  const std::size_t hlen = 20 + s.options.size();
  const std::size_t payload = s.data.empty() ? s.payload : s.data.size();
  std::vector<std::byte> p(hlen + payload);
  p[0] = std::byte(0x40 | (hlen / 4));
  ip::store16(p.data() + 2, static_cast<std::uint16_t>(p.size()));
  ip::store16(p.data() + 4, s.id);
  ip::store16(p.data() + 6, static_cast<std::uint16_t>((s.df ? 0x4000 : 0) | (s.mf ? 0x2000 : 0) | s.offset8));
  p[8] = std::byte{64};
  p[9] = std::byte{s.protocol};
  ip::store32(p.data() + 12, s.src);
  ip::store32(p.data() + 16, s.dst);
  for (std::size_t i = 0; i < s.options.size(); ++i) p[20 + i] = s.options[i];
  ip::store16(p.data() + 10, ip::checksum({p.data(), hlen}));
  for (std::size_t i = 0; i < payload; ++i)
    p[hlen + i] = s.data.empty() ? std::byte(static_cast<unsigned char>(i * 7 + 3)) : s.data[i];
  return p;
}

inline vpnsdk::ipv4::Header parsed(const std::vector<std::byte>& p) {
  vpnsdk::ipv4::Header h;
  if (vpnsdk::ipv4::parse(p, h) != vpnsdk::ipv4::Problem::none) throw std::runtime_error("test packet does not parse");
  return h;
}

}  // namespace coretest
