// Sliding anti-replay window over 64-bit counters, the RFC 6479 bitmap as
// WireGuard uses it: a ring of 128 64-bit words (8192 bits) of which 8128
// counters behind the highest one accepted are tracked. Counters that are
// further behind are "too old"; a counter seen before is "replayed".
//
// check() is read-only, so a frame is checked before it is decrypted and the
// window only moves (update()) after its tag has been verified: a forged
// frame can never advance or poison the window.
#pragma once
#include <array>
#include <cstdint>

namespace cipher_noise {

class ReplayWindow {
 public:
  static constexpr std::uint64_t kWordBits = 64;
  static constexpr std::uint64_t kWords = 128;                          // ring size
  static constexpr std::uint64_t kWindow = (kWords - 1) * kWordBits;   // 8128 counters
  // WireGuard's REJECT_AFTER_MESSAGES: counters from here on are refused.
  static constexpr std::uint64_t kLimit = ~std::uint64_t{0} - (std::uint64_t{1} << 13);  // 2^64 - 2^13 - 1

  enum class Verdict { fresh, replayed, too_old, beyond_limit };

  Verdict check(std::uint64_t counter) const noexcept;
  // Marks `counter` as seen (call only after check() said fresh and the
  // frame authenticated).
  void update(std::uint64_t counter) noexcept;
  // The highest counter accepted so far (0 also before any).
  std::uint64_t highest() const noexcept { return last_; }

 private:
  std::array<std::uint64_t, kWords> ring_{};
  std::uint64_t last_ = 0;
  bool any_ = false;
};

}  // namespace cipher_noise
