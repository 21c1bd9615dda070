#include "xor_keystream.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace cipher_xor {
namespace {

// data[i] ^= ks[i] for i < n, 32 then 8 bytes at a time (unaligned-safe).
inline void xor_bytes(std::byte* data, const std::uint8_t* ks, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    std::uint64_t d[4], k[4];
    std::memcpy(d, data + i, 32);
    std::memcpy(k, ks + i, 32);
    d[0] ^= k[0];
    d[1] ^= k[1];
    d[2] ^= k[2];
    d[3] ^= k[3];
    std::memcpy(data + i, d, 32);
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t d, k;
    std::memcpy(&d, data + i, 8);
    std::memcpy(&k, ks + i, 8);
    d ^= k;
    std::memcpy(data + i, &d, 8);
  }
  for (; i < n; ++i) data[i] ^= std::byte{ks[i]};
}

}  // namespace

XorKeystream::XorKeystream(std::span<const std::uint8_t> key) : key_len_(key.size()) {
  if (key.empty()) throw std::invalid_argument("XOR key is empty");
  const std::size_t reps = (kMinBlock + key_len_ - 1) / key_len_;
  block_ = vpnsdk::SecretBytes(reps * key_len_);
  for (std::size_t r = 0; r < reps; ++r) std::memcpy(block_.data() + r * key_len_, key.data(), key_len_);
}

void XorKeystream::apply(std::byte* data, std::size_t n) const noexcept {
  // The block length is a multiple of the key length, so every block-sized
  // chunk of the body starts again at key position 0.
  const std::size_t block = block_.size();
  while (n > 0) {
    const std::size_t chunk = std::min(n, block);
    xor_bytes(data, block_.data(), chunk);
    data += chunk;
    n -= chunk;
  }
}

}  // namespace cipher_xor
