// IPv4 helpers every stage needs: byte order, checksums, header validation,
// address text. Addresses are uint32_t in host byte order.
#pragma once
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vpnsdk::ipv4 {

inline std::uint16_t load16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
inline std::uint32_t load32(const std::byte* p) noexcept {
  return (std::uint32_t{load16(p)} << 16) | load16(p + 2);
}
inline void store16(std::byte* p, std::uint16_t v) noexcept {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}
inline void store32(std::byte* p, std::uint32_t v) noexcept {
  store16(p, static_cast<std::uint16_t>(v >> 16));
  store16(p + 2, static_cast<std::uint16_t>(v & 0xffff));
}

// RFC 1071 one's-complement sum, folded; `initial` lets sums be chained.
inline std::uint16_t checksum(std::span<const std::byte> data, std::uint32_t initial = 0) noexcept {
  std::uint64_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += load16(data.data() + i);
  if (i < data.size()) sum += std::to_integer<unsigned>(data[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

inline constexpr std::size_t kMinHeader = 20;
inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;

enum class Problem { none, too_short, not_ipv4, bad_ihl, bad_total_length, bad_checksum, bad_fragment };

inline const char* problem_name(Problem p) noexcept {
  switch (p) {
    case Problem::none: return "none";
    case Problem::too_short: return "ipv4_too_short";
    case Problem::not_ipv4: return "ipv4_bad_version";
    case Problem::bad_ihl: return "ipv4_bad_ihl";
    case Problem::bad_total_length: return "ipv4_bad_total_length";
    case Problem::bad_checksum: return "ipv4_bad_checksum";
    case Problem::bad_fragment: return "ipv4_bad_fragment";
  }
  return "ipv4_unknown";
}

struct Header {
  std::size_t header_len = 0;
  std::uint16_t total_len = 0;
  std::uint8_t ttl = 0;
  std::uint8_t protocol = 0;
  std::uint16_t frag = 0;  // flags + fragment offset field
  std::uint32_t src = 0;
  std::uint32_t dst = 0;
};

// Validates version, IHL, total length (<= bytes available), the header
// checksum and the fragment fields. Trailing bytes beyond total length are allowed (caller trims).
inline Problem parse(std::span<const std::byte> pkt, Header& h) noexcept {
  if (pkt.size() < kMinHeader) return Problem::too_short;
  const unsigned vihl = std::to_integer<unsigned>(pkt[0]);
  if ((vihl >> 4) != 4) return Problem::not_ipv4;
  h.header_len = (vihl & 0x0f) * 4u;
  if (h.header_len < kMinHeader || h.header_len > pkt.size()) return Problem::bad_ihl;
  h.total_len = load16(pkt.data() + 2);
  if (h.total_len < h.header_len || h.total_len > pkt.size()) return Problem::bad_total_length;
  if (checksum(pkt.first(h.header_len)) != 0) return Problem::bad_checksum;
  h.frag = load16(pkt.data() + 6);
  // Reserved flag set, or a fragment that would end beyond 65535 bytes.
  if ((h.frag & 0x8000) != 0 || std::size_t{h.frag & 0x1fffu} * 8 + (h.total_len - h.header_len) > 0xffff)
    return Problem::bad_fragment;
  h.ttl = std::to_integer<std::uint8_t>(pkt[8]);
  h.protocol = std::to_integer<std::uint8_t>(pkt[9]);
  h.src = load32(pkt.data() + 12);
  h.dst = load32(pkt.data() + 16);
  return Problem::none;
}

// Source and destination without validation (caller validated already).
inline std::uint32_t src_of(std::span<const std::byte> pkt) noexcept { return load32(pkt.data() + 12); }
inline std::uint32_t dst_of(std::span<const std::byte> pkt) noexcept { return load32(pkt.data() + 16); }

inline std::string to_string(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

inline std::optional<std::uint32_t> parse_address(std::string_view s) noexcept {
  std::uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    unsigned part = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), part);
    if (ec != std::errc{} || part > 255 || p == s.data()) return std::nullopt;
    if (p - s.data() > 3) return std::nullopt;
    if (p - s.data() > 1 && s.front() == '0') return std::nullopt;  // "010": octal to inet_aton, refuse
    out = (out << 8) | part;
    s.remove_prefix(static_cast<std::size_t>(p - s.data()));
    if (i < 3) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

struct Prefix {
  std::uint32_t network = 0;
  std::uint8_t length = 0;
  std::uint32_t mask() const noexcept { return length == 0 ? 0 : ~std::uint32_t{0} << (32 - length); }
  bool contains(std::uint32_t a) const noexcept { return (a & mask()) == network; }
};

// "10.10.0.0/24" -> Prefix; host bits must be zero.
inline std::optional<Prefix> parse_prefix(std::string_view s) noexcept {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = parse_address(s.substr(0, slash));
  unsigned len = 0;
  auto tail = s.substr(slash + 1);
  auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), len);
  if (!addr || ec != std::errc{} || p != tail.data() + tail.size() || len > 32) return std::nullopt;
  Prefix pre{*addr, static_cast<std::uint8_t>(len)};
  if ((pre.network & ~pre.mask()) != 0) return std::nullopt;
  return pre;
}

}  // namespace vpnsdk::ipv4
