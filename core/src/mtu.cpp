#include "vpnhost/mtu.hpp"

#include <algorithm>
#include <cstring>

namespace vpnhost::mtu {

namespace ip = vpnsdk::ipv4;

std::uint16_t tunnel_mtu(std::uint32_t frame_mtu, std::size_t transport_head, std::size_t cipher_overhead) noexcept {
  std::int64_t frame = frame_mtu;
  if (frame == 0) frame = std::int64_t{kAssumedUnderlay} - kAssumedOuterHeaders - static_cast<std::int64_t>(transport_head);
  const std::int64_t mtu = frame - static_cast<std::int64_t>(cipher_overhead);
  return static_cast<std::uint16_t>(std::clamp<std::int64_t>(mtu, kMin, kMax));
}

bool may_answer_with_icmp_error(std::span<const std::byte> packet, const ip::Header& h) noexcept {
  if ((h.frag & 0x1fff) != 0) return false;  // not the first fragment
  if (h.src == 0 || h.src == 0xffffffffu || (h.src >> 28) == 0xe) return false;
  if (h.dst == 0xffffffffu || (h.dst >> 28) == 0xe) return false;
  if (h.protocol == ip::kProtoIcmp) {
    if (packet.size() < h.header_len + 1) return false;  // cannot tell: stay silent
    switch (std::to_integer<unsigned>(packet[h.header_len])) {
      case 0: case 8: case 13: case 14: case 15: case 16: case 17: case 18:  // queries and replies
        return true;
      default:  // 3, 4, 5, 11, 12 (errors) and anything unknown
        return false;
    }
  }
  return true;
}

std::size_t frag_needed_size(const ip::Header& original) noexcept {
  const std::size_t data = std::min<std::size_t>(8, original.total_len - original.header_len);
  return 20 + 8 + original.header_len + data;
}

std::size_t build_frag_needed(std::span<const std::byte> original, const ip::Header& h, std::uint32_t source,
                              std::uint16_t next_hop_mtu, std::uint16_t ip_id, std::span<std::byte> out) noexcept {
  const std::size_t len = frag_needed_size(h);
  if (out.size() < len || original.size() < len - 28) return 0;
  std::byte* p = out.data();
  std::memset(p, 0, 28);
  p[0] = std::byte{0x45};
  p[1] = std::byte{0xc0};  // precedence "internetwork control", as kernels send ICMP errors
  ip::store16(p + 2, static_cast<std::uint16_t>(len));
  ip::store16(p + 4, ip_id);
  p[8] = std::byte{64};
  p[9] = std::byte{ip::kProtoIcmp};
  ip::store32(p + 12, source);
  ip::store32(p + 16, h.src);
  ip::store16(p + 10, ip::checksum({p, 20}));
  std::byte* icmp = p + 20;
  icmp[0] = std::byte{3};  // destination unreachable
  icmp[1] = std::byte{4};  // fragmentation needed and DF set
  ip::store16(icmp + 6, next_hop_mtu);  // RFC 1191: bytes 4-5 unused (zero)
  std::memcpy(icmp + 8, original.data(), len - 28);
  ip::store16(icmp + 2, ip::checksum({icmp, len - 20}));
  return len;
}

bool IcmpRateLimit::allow(Clock::time_point now) noexcept {
  if (last_ != Clock::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(rate_, tokens_ + elapsed * rate_);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace vpnhost::mtu
