// The XOR transform: byte i of a frame body is XORed with key[i % key_len].
// The key is pre-expanded into a block whose length is a multiple of the key
// length, so a body is processed in whole 64-bit words per block. The block
// is key material: it lives in locked memory (vpnsdk/secret.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "vpnsdk/secret.hpp"

namespace cipher_xor {

class XorKeystream {
 public:
  // Block of at least this many bytes (rounded up to a multiple of the key length).
  static constexpr std::size_t kMinBlock = 4096;

  explicit XorKeystream(std::span<const std::uint8_t> key);  // key must not be empty
  XorKeystream(const XorKeystream&) = delete;
  XorKeystream& operator=(const XorKeystream&) = delete;

  // XOR `n` bytes at `data` in place, position 0 at `data`. Applying it twice
  // restores the input.
  void apply(std::byte* data, std::size_t n) const noexcept;

  std::size_t key_length() const noexcept { return key_len_; }

 private:
  vpnsdk::SecretBytes block_;
  std::size_t key_len_;
};

}  // namespace cipher_xor
