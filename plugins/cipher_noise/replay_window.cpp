#include "replay_window.hpp"

namespace cipher_noise {

ReplayWindow::Verdict ReplayWindow::check(std::uint64_t counter) const noexcept {
  if (counter >= kLimit) return Verdict::beyond_limit;
  if (!any_ || counter > last_) return Verdict::fresh;
  if (last_ - counter > kWindow) return Verdict::too_old;
  const std::uint64_t word = (counter / kWordBits) % kWords;
  const std::uint64_t bit = std::uint64_t{1} << (counter % kWordBits);
  return (ring_[word] & bit) != 0 ? Verdict::replayed : Verdict::fresh;
}

void ReplayWindow::update(std::uint64_t counter) noexcept {
  if (!any_ || counter > last_) {
    // Clear the words the window slides over (all of them after a long jump).
    const std::uint64_t current = any_ ? last_ / kWordBits : 0;
    const std::uint64_t target = counter / kWordBits;
    if (!any_) {
      ring_.fill(0);
    } else {
      std::uint64_t diff = target - current;
      if (diff > kWords) diff = kWords;
      for (std::uint64_t i = 1; i <= diff; ++i) ring_[(current + i) % kWords] = 0;
    }
    last_ = counter;
    any_ = true;
  }
  ring_[(counter / kWordBits) % kWords] |= std::uint64_t{1} << (counter % kWordBits);
}

}  // namespace cipher_noise
