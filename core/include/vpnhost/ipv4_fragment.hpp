// IPv4 fragmentation (RFC 791 section 3.2, "Fragmentation Procedure"): a
// packet too big for the tunnel and without DF is sent as fragments.
#pragma once
#include <cstddef>
#include <functional>
#include <span>

#include "vpnsdk/ipv4.hpp"

namespace vpnhost::ipv4_fragment {

// Where each fragment goes: `len` writable bytes for it, or nullptr (no
// buffer: fragmenting stops).
using Alloc = std::function<std::byte*(std::size_t len)>;

// Splits `packet` (valid, header `h`, DF clear, total_len bytes) into
// fragments of at most `mtu` bytes: data in multiples of 8 except the last,
// offsets relative to the original's own offset (it may be a fragment
// itself), MF on all but the last (the last keeps the original's MF),
// options copied into later fragments only if their copy flag is set,
// header checksums recomputed. Returns the number of fragments written, or
// 0 if `mtu` leaves no room for 8 data bytes or an allocation failed.
std::size_t fragment(std::span<const std::byte> packet, const vpnsdk::ipv4::Header& h, std::size_t mtu,
                     const Alloc& alloc);

}  // namespace vpnhost::ipv4_fragment
