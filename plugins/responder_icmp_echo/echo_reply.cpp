#include "echo_reply.hpp"

#include "vpnsdk/ipv4.hpp"

namespace responder_icmp_echo {
namespace {

namespace ip = vpnsdk::ipv4;

constexpr std::uint8_t kIcmpEchoReply = 0;
constexpr std::uint8_t kIcmpEchoRequest = 8;
constexpr std::size_t kIcmpHeader = 8;
constexpr std::uint16_t kMoreFragments = 0x2000;
constexpr std::uint16_t kOffsetMask = 0x1fff;

// RFC 1122 3.2.2.6 / RFC 1812 5.3.7: never answer these sources.
bool answerable_source(std::uint32_t src) noexcept {
  const std::uint32_t top = src >> 24;
  if (top == 0 || top == 127) return false;  // "this network", loopback
  if (top >= 224) return false;              // multicast, class E, limited broadcast
  return true;
}

}  // namespace

const char* outcome_name(Outcome o) noexcept {
  switch (o) {
    case Outcome::replied: return "replied";
    case Outcome::bad_ipv4: return "bad_ipv4";
    case Outcome::not_icmp: return "not_icmp";
    case Outcome::fragment: return "fragment";
    case Outcome::not_for_us: return "not_for_us";
    case Outcome::bad_source: return "bad_source";
    case Outcome::icmp_truncated: return "icmp_truncated";
    case Outcome::icmp_checksum: return "icmp_checksum";
    case Outcome::not_echo: return "not_echo";
  }
  return "unknown";
}

Outcome make_echo_reply(std::span<std::byte> pkt, std::uint32_t self, std::uint8_t ttl,
                        std::size_t& reply_len) noexcept {
  ip::Header h;
  if (ip::parse(pkt, h) != ip::Problem::none) return Outcome::bad_ipv4;
  if (h.protocol != ip::kProtoIcmp) return Outcome::not_icmp;
  if ((h.frag & (kMoreFragments | kOffsetMask)) != 0) return Outcome::fragment;
  if (h.dst != self) return Outcome::not_for_us;
  if (!answerable_source(h.src)) return Outcome::bad_source;

  std::span<std::byte> icmp = pkt.subspan(h.header_len, h.total_len - h.header_len);
  if (icmp.size() < kIcmpHeader) return Outcome::icmp_truncated;
  if (ip::checksum(icmp) != 0) return Outcome::icmp_checksum;
  if (std::to_integer<std::uint8_t>(icmp[0]) != kIcmpEchoRequest || std::to_integer<std::uint8_t>(icmp[1]) != 0)
    return Outcome::not_echo;

  // ICMP: echo reply, same identifier, sequence and data.
  icmp[0] = std::byte{kIcmpEchoReply};
  ip::store16(icmp.data() + 2, 0);
  ip::store16(icmp.data() + 2, ip::checksum(icmp));

  // IPv4: swap addresses, fresh TTL, options untouched, new header checksum.
  std::byte* hdr = pkt.data();
  ip::store32(hdr + 12, h.dst);
  ip::store32(hdr + 16, h.src);
  hdr[8] = std::byte{ttl};
  ip::store16(hdr + 10, 0);
  ip::store16(hdr + 10, ip::checksum(pkt.first(h.header_len)));

  reply_len = h.total_len;
  return Outcome::replied;
}

}  // namespace responder_icmp_echo
