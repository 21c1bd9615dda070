// TCP MSS clamping (OpenVPN's mssfix): lowers the MSS option of a TCP SYN
// (and SYN-ACK) so that neither end sends segments larger than the tunnel
// carries, even where path-MTU discovery is blocked.
#pragma once
#include <cstdint>
#include <span>

#include "vpnsdk/ipv4.hpp"

namespace vpnhost::mss_clamp {

// If `packet` (valid IPv4, header `h`) is an unfragmented TCP segment with
// SYN set whose MSS option exceeds max_mss, rewrites it to max_mss and
// updates the TCP checksum incrementally (RFC 1624). Options are walked
// with bounds checks; a malformed option list is left alone. Returns true
// when it changed the packet.
bool clamp(std::span<std::byte> packet, const vpnsdk::ipv4::Header& h, std::uint16_t max_mss) noexcept;

// True for an unfragmented TCP segment with SYN set: the only packets
// clamp() may change, cheap enough to ask for every packet.
bool is_syn(std::span<const std::byte> packet, const vpnsdk::ipv4::Header& h) noexcept;

// RFC 1624 eqn. 3: the checksum after one 16-bit word changed from old_word to new_word.
std::uint16_t checksum_update(std::uint16_t checksum, std::uint16_t old_word, std::uint16_t new_word) noexcept;

}  // namespace vpnhost::mss_clamp
