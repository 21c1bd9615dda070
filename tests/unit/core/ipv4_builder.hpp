// Builds IPv4 test packets (valid header checksum) for the MTU, MSS and
// data-path tests: any payload, ICMP echo requests, TCP segments.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "vpnsdk/ipv4.hpp"

namespace coretest {

struct PacketSpec {
  std::uint8_t protocol = vpnsdk::ipv4::kProtoUdp;
  std::size_t payload = 100;          // bytes after the IP header (filled with a pattern unless given)
  bool df = false;
  bool mf = false;
  std::uint16_t offset8 = 0;          // fragment offset in 8-byte units
  std::vector<std::byte> options{};   // multiple of 4
  std::vector<std::byte> data{};      // used instead of the pattern if not empty
  std::uint32_t src = 0x0a0a0003;     // 10.10.0.3
  std::uint32_t dst = 0x0a0a0002;     // 10.10.0.2
  std::uint16_t id = 0x1234;
  std::uint8_t ttl = 64;
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
  p[8] = std::byte{s.ttl};
  p[9] = std::byte{s.protocol};
  ip::store32(p.data() + 12, s.src);
  ip::store32(p.data() + 16, s.dst);
  for (std::size_t i = 0; i < s.options.size(); ++i) p[20 + i] = s.options[i];
  ip::store16(p.data() + 10, ip::checksum({p.data(), hlen}));
  for (std::size_t i = 0; i < payload; ++i)
    p[hlen + i] = s.data.empty() ? std::byte(static_cast<unsigned char>(i * 7 + 3)) : s.data[i];
  return p;
}

// Bytes given as numbers (e.g. the ICMP vectors of tests/unit/responder_icmp_echo).
inline std::vector<std::byte> bytes_of(const std::vector<std::uint8_t>& v) {
  std::vector<std::byte> out;
  for (auto b : v) out.push_back(std::byte{b});
  return out;
}

inline vpnsdk::ipv4::Header parsed(const std::vector<std::byte>& p) {
  vpnsdk::ipv4::Header h;
  if (vpnsdk::ipv4::parse(p, h) != vpnsdk::ipv4::Problem::none) throw std::runtime_error("test packet does not parse");
  return h;
}

// TCP checksum over the pseudo header; 0 when valid.
inline std::uint16_t tcp_checksum(const std::vector<std::byte>& p) {
  namespace ip = vpnsdk::ipv4;
  const auto h = parsed(p);
  const std::size_t len = h.total_len - h.header_len;
  std::vector<std::byte> all(12);
  ip::store32(all.data(), h.src);
  ip::store32(all.data() + 4, h.dst);
  all[9] = std::byte{ip::kProtoTcp};
  ip::store16(all.data() + 10, static_cast<std::uint16_t>(len));
  all.insert(all.end(), p.begin() + static_cast<long>(h.header_len), p.end());
  return ip::checksum(all);
}

constexpr std::uint8_t kSyn = 0x02, kAck = 0x10;

// A TCP segment (port 40000 -> 22) with `flags` and `options` (padded to 4
// by the caller) and `payload` bytes, with a valid checksum; addresses and
// the rest of the IP header from `ip`.
inline std::vector<std::byte> tcp_segment(std::uint8_t flags, const std::vector<std::byte>& options,
                                          std::size_t payload = 0, PacketSpec ip = {}) {
  namespace ipv4 = vpnsdk::ipv4;
  std::vector<std::byte> tcp(20 + options.size() + payload, std::byte{0});
  ipv4::store16(tcp.data(), 40000);
  ipv4::store16(tcp.data() + 2, 22);
  ipv4::store32(tcp.data() + 4, 0x01020304);
  tcp[12] = std::byte(((20 + options.size()) / 4) << 4);
  tcp[13] = std::byte{flags};
  ipv4::store16(tcp.data() + 14, 64240);
  std::copy(options.begin(), options.end(), tcp.begin() + 20);
  for (std::size_t i = 0; i < payload; ++i) tcp[20 + options.size() + i] = std::byte(i + 1);
  ip.protocol = ipv4::kProtoTcp;
  ip.data = tcp;
  auto p = make_ipv4(ip);
  ipv4::store16(p.data() + 20 + 16, tcp_checksum(p));  // the field was 0: this makes the sum valid
  if (tcp_checksum(p) != 0) throw std::logic_error("tcp_segment: checksum");
  return p;
}

// The MSS option (kind 2, length 4).
inline std::vector<std::byte> mss_option(std::uint16_t v) {
  return {std::byte{2}, std::byte{4}, std::byte(v >> 8), std::byte(v & 0xff)};
}

// An ICMP echo request (type 8) from `ip.src` to `ip.dst` with `ip.payload`
// bytes of data after the 8-byte ICMP header, ICMP checksum valid.
inline std::vector<std::byte> icmp_echo_request(PacketSpec ip, std::uint16_t ident = 0x4242, std::uint16_t seq = 1) {
  namespace ipv4 = vpnsdk::ipv4;
  std::vector<std::byte> icmp(8 + ip.payload);
  icmp[0] = std::byte{8};
  ipv4::store16(icmp.data() + 4, ident);
  ipv4::store16(icmp.data() + 6, seq);
  for (std::size_t i = 8; i < icmp.size(); ++i) icmp[i] = std::byte(static_cast<unsigned char>(i));
  ipv4::store16(icmp.data() + 2, ipv4::checksum(icmp));
  ip.protocol = ipv4::kProtoIcmp;
  ip.data = icmp;
  return make_ipv4(ip);
}

}  // namespace coretest
