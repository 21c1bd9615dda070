#include "vpnhost/mss_clamp.hpp"

namespace vpnhost::mss_clamp {

namespace ip = vpnsdk::ipv4;

std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word) noexcept {
  // HC' = ~(~HC + ~m + m')
  std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
  sum += static_cast<std::uint16_t>(~old_word);
  sum += new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

bool is_syn(std::span<const std::byte> packet, const ip::Header& h) noexcept {
  if (h.protocol != ip::kProtoTcp) return false;
  if ((h.frag & 0x3fff) != 0) return false;  // a fragment: the TCP header may not be whole
  if (packet.size() < h.total_len || h.total_len < h.header_len + 20u) return false;
  return (std::to_integer<unsigned>(packet[h.header_len + 13]) & 0x02) != 0;
}

bool clamp(std::span<std::byte> packet, const ip::Header& h, std::uint16_t max_mss) noexcept {
  if (!is_syn(packet, h)) return false;
  std::span<std::byte> tcp = packet.subspan(h.header_len, h.total_len - h.header_len);
  const std::size_t doff = (std::to_integer<std::size_t>(tcp[12]) >> 4) * 4;
  if (doff < 20 || doff > tcp.size()) return false;
  std::size_t i = 20;
  while (i < doff) {
    const unsigned kind = std::to_integer<unsigned>(tcp[i]);
    if (kind == 0) return false;  // end of option list
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= doff) return false;
    const std::size_t len = std::to_integer<std::size_t>(tcp[i + 1]);
    if (len < 2 || i + len > doff) return false;  // malformed
    if (kind == 2) {
      if (len != 4) return false;
      const std::uint16_t mss = ip::load16(tcp.data() + i + 2);
      if (mss <= max_mss) return false;
      ip::store16(tcp.data() + i + 2, max_mss);
      // The option starts at an even or odd offset; the checksum sums 16-bit
      // words from the TCP header's start, so update the word(s) it covers.
      if ((i + 2) % 2 == 0) {
        ip::store16(tcp.data() + 16, checksum_update(ip::load16(tcp.data() + 16), mss, max_mss));
      } else {
        // MSS spans bytes i+2..i+3 at odd offsets: words (i+1, i+2) and (i+3, i+4).
        // Recompute through the two affected words.
        tcp[i + 2] = std::byte(mss >> 8);
        tcp[i + 3] = std::byte(mss & 0xff);
        const std::uint16_t w1_old = ip::load16(tcp.data() + i + 1);
        const std::uint16_t w2_old = i + 4 < tcp.size() ? ip::load16(tcp.data() + i + 3)
                                                        : static_cast<std::uint16_t>(std::to_integer<unsigned>(tcp[i + 3]) << 8);
        ip::store16(tcp.data() + i + 2, max_mss);
        const std::uint16_t w1_new = ip::load16(tcp.data() + i + 1);
        const std::uint16_t w2_new = i + 4 < tcp.size() ? ip::load16(tcp.data() + i + 3)
                                                        : static_cast<std::uint16_t>(std::to_integer<unsigned>(tcp[i + 3]) << 8);
        std::uint16_t c = ip::load16(tcp.data() + 16);
        c = checksum_update(c, w1_old, w1_new);
        c = checksum_update(c, w2_old, w2_new);
        ip::store16(tcp.data() + 16, c);
      }
      return true;
    }
    i += len;
  }
  return false;
}

}  // namespace vpnhost::mss_clamp
