// TAI64N timestamps, as WireGuard puts them into its handshake initiation:
// 8 bytes big-endian seconds (2^62 + 10 + Unix seconds) and 4 bytes
// big-endian nanoseconds. Big-endian, so later timestamps compare greater
// byte by byte (memcmp).
#pragma once
#include <array>
#include <chrono>
#include <cstdint>

namespace cipher_noise {

using Tai64n = std::array<std::uint8_t, 12>;

// The timestamp of `t`. The nanoseconds are rounded down to a multiple of
// 2^24 ns (~16.8 ms) like WireGuard does, so a handshake does not reveal the
// sender's clock precisely.
Tai64n tai64n(std::chrono::system_clock::time_point t) noexcept;

// True if a is strictly later than b.
bool tai64n_after(const Tai64n& a, const Tai64n& b) noexcept;

// The next timestamp after `t` (nanoseconds + 1, carrying into seconds).
Tai64n tai64n_next(const Tai64n& t) noexcept;

}  // namespace cipher_noise
