#include "vpnhost/ipv4_fragment.hpp"

#include <array>
#include <cstring>

namespace vpnhost::ipv4_fragment {

namespace ip = vpnsdk::ipv4;

namespace {

// The options of later fragments: those with the copy flag (RFC 791),
// padded with End of Option List to a multiple of 4. Returns their length.
std::size_t copied_options(std::span<const std::byte> options, std::array<std::byte, 40>& out) {
  std::size_t n = 0, i = 0;
  while (i < options.size()) {
    const unsigned kind = std::to_integer<unsigned>(options[i]);
    if (kind == 0) break;                     // end of option list
    if (kind == 1) { ++i; continue; }         // no-operation: not needed
    if (i + 1 >= options.size()) break;
    const std::size_t len = std::to_integer<std::size_t>(options[i + 1]);
    if (len < 2 || i + len > options.size()) break;  // malformed: copy nothing more
    if ((kind & 0x80) != 0) {
      std::memcpy(out.data() + n, options.data() + i, len);
      n += len;
    }
    i += len;
  }
  while (n % 4 != 0) out[n++] = std::byte{0};
  return n;
}

}  // namespace

std::size_t fragment(std::span<const std::byte> packet, const ip::Header& h, std::size_t mtu, const Alloc& alloc) {
  const std::size_t data_len = h.total_len - h.header_len;
  const std::span<const std::byte> data = packet.subspan(h.header_len, data_len);
  std::array<std::byte, 40> later_opts{};
  const std::size_t later_opt_len = copied_options(packet.subspan(20, h.header_len - 20), later_opts);
  const std::size_t base_offset = std::size_t{h.frag & 0x1fffu} * 8;
  const bool last_mf = (h.frag & 0x2000) != 0;

  std::size_t count = 0, done = 0;
  while (done < data_len) {
    const bool first = done == 0;
    const std::size_t hlen = first ? h.header_len : 20 + later_opt_len;
    if (mtu < hlen + 8) return 0;
    std::size_t chunk = data_len - done;
    const bool last = chunk <= mtu - hlen;
    if (!last) chunk = (mtu - hlen) / 8 * 8;
    std::byte* out = alloc(hlen + chunk);
    if (out == nullptr) return 0;
    std::memcpy(out, packet.data(), 20);
    if (first) {
      std::memcpy(out + 20, packet.data() + 20, h.header_len - 20);
    } else {
      std::memcpy(out + 20, later_opts.data(), later_opt_len);
    }
    out[0] = std::byte(0x40 | (hlen / 4));
    ip::store16(out + 2, static_cast<std::uint16_t>(hlen + chunk));
    const bool mf = last ? last_mf : true;
    const std::size_t offset = (base_offset + done) / 8;
    ip::store16(out + 6, static_cast<std::uint16_t>((mf ? 0x2000 : 0) | offset));
    ip::store16(out + 10, 0);
    ip::store16(out + 10, ip::checksum({out, hlen}));
    std::memcpy(out + hlen, data.data() + done, chunk);
    done += chunk;
    ++count;
  }
  return count;
}

}  // namespace vpnhost::ipv4_fragment
