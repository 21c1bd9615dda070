#include "tai64n.hpp"

#include <cstring>

namespace cipher_noise {

Tai64n tai64n(std::chrono::system_clock::time_point t) noexcept {
  using namespace std::chrono;
  const auto ns_total = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::int64_t secs = ns_total / 1000000000;
  std::int64_t nanos = ns_total % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  const std::uint64_t label = (std::uint64_t{1} << 62) + 10 + static_cast<std::uint64_t>(secs);
  const std::uint32_t n = static_cast<std::uint32_t>(nanos) & ~std::uint32_t{0xffffff};
  Tai64n out{};
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(label >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return out;
}

bool tai64n_after(const Tai64n& a, const Tai64n& b) noexcept { return std::memcmp(a.data(), b.data(), a.size()) > 0; }

Tai64n tai64n_next(const Tai64n& t) noexcept {
  Tai64n out = t;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | out[8 + i];
  std::uint64_t s = 0;
  for (int i = 0; i < 8; ++i) s = (s << 8) | out[i];
  if (++n >= 1000000000) {
    n = 0;
    ++s;
  }
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(s >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return out;
}

}  // namespace cipher_noise
