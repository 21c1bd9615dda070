// IPv4/UDP/ICMP bytes for the device_tun tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vpnsdk/ipv4.hpp"

namespace tun_test {

inline std::uint32_t addr(const char* text) { return vpnsdk::ipv4::parse_address(text).value(); }

inline std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = std::byte(static_cast<unsigned char>(s[i]));
  return out;
}

// An ICMP echo request (type 8) with valid IPv4 and ICMP checksums.
inline std::vector<std::byte> echo_request(std::uint32_t src, std::uint32_t dst, std::uint16_t id,
                                           std::uint16_t seq, const std::string& payload) {
  std::vector<std::byte> p(20 + 8 + payload.size(), std::byte{0});
  p[0] = std::byte{0x45};
  vpnsdk::ipv4::store16(p.data() + 2, static_cast<std::uint16_t>(p.size()));
  vpnsdk::ipv4::store16(p.data() + 4, 0x4242);
  p[8] = std::byte{64};
  p[9] = std::byte{vpnsdk::ipv4::kProtoIcmp};
  vpnsdk::ipv4::store32(p.data() + 12, src);
  vpnsdk::ipv4::store32(p.data() + 16, dst);
  vpnsdk::ipv4::store16(p.data() + 10, vpnsdk::ipv4::checksum({p.data(), 20}));
  std::byte* icmp = p.data() + 20;
  icmp[0] = std::byte{8};
  vpnsdk::ipv4::store16(icmp + 4, id);
  vpnsdk::ipv4::store16(icmp + 6, seq);
  auto body = bytes_of(payload);
  std::copy(body.begin(), body.end(), icmp + 8);
  vpnsdk::ipv4::store16(icmp + 2, vpnsdk::ipv4::checksum({icmp, 8 + payload.size()}));
  return p;
}

struct Parsed {
  vpnsdk::ipv4::Header ip;
  std::span<const std::byte> l4;  // after the IP header, up to total length
};

inline std::optional<Parsed> parse(std::span<const std::byte> pkt) {
  Parsed out;
  if (vpnsdk::ipv4::parse(pkt, out.ip) != vpnsdk::ipv4::Problem::none) return std::nullopt;
  out.l4 = pkt.subspan(out.ip.header_len, out.ip.total_len - out.ip.header_len);
  return out;
}

}  // namespace tun_test
