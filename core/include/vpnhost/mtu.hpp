// Tunnel MTU: how large an IP packet a session carries (docs/mtu.md), and
// the ICMP "fragmentation needed" message (RFC 792/1191) that tells a
// sender its packet was too big for the tunnel.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "vpnsdk/ipv4.hpp"

namespace vpnhost::mtu {

inline constexpr std::uint16_t kMin = 576;   // IPv4's minimum reassembly size; the protocol's floor
inline constexpr std::uint16_t kMax = 9000;  // jumbo frames; below the packet pool's 9216
// When the transport cannot tell (Transport::frame_mtu() == 0) and for the
// server's own device (it exists before any session): a 1500-byte IPv4
// underlay with the larger of the outer headers, TCP with timestamps (20 +
// 20 + 12 = 52; UDP's 28 is smaller, so this never overshoots).
inline constexpr std::uint32_t kAssumedUnderlay = 1500;
inline constexpr std::uint32_t kAssumedOuterHeaders = 52;

// The tunnel MTU a frame size allows: frame_mtu (0: assume the above, minus
// transport_head) minus the cipher's overhead, clamped to kMin..kMax.
std::uint16_t tunnel_mtu(std::uint32_t frame_mtu, std::size_t transport_head, std::size_t cipher_overhead) noexcept;

// May an ICMP error be sent about this packet (RFC 1122 3.2.2, RFC 1812
// 4.3.2.7)? Not about an ICMP error, not about a fragment other than the
// first, not to a source 0.0.0.0, broadcast or multicast.
bool may_answer_with_icmp_error(std::span<const std::byte> packet, const vpnsdk::ipv4::Header& h) noexcept;

// Size of the ICMP type 3 code 4 message about `original` (IPv4 20 + ICMP 8
// + the original's header and the first 8 bytes of its data).
std::size_t frag_needed_size(const vpnsdk::ipv4::Header& original) noexcept;

// Writes that message into out (at least frag_needed_size() bytes): from
// `source` to the original's source, next-hop MTU `next_hop_mtu`, both
// checksums set. Returns its length (0 if out is too small).
std::size_t build_frag_needed(std::span<const std::byte> original, const vpnsdk::ipv4::Header& h,
                              std::uint32_t source, std::uint16_t next_hop_mtu, std::uint16_t ip_id,
                              std::span<std::byte> out) noexcept;

// Token bucket: at most `per_second` ICMP errors a second, bursts of that many.
class IcmpRateLimit {
 public:
  using Clock = std::chrono::steady_clock;
  explicit IcmpRateLimit(double per_second = 100) : rate_(per_second), tokens_(per_second) {}
  bool allow(Clock::time_point now = Clock::now()) noexcept;

 private:
  double rate_;
  double tokens_;
  Clock::time_point last_{};
};

}  // namespace vpnhost::mtu
