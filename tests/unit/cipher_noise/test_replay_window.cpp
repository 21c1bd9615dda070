// The sliding replay window: duplicates, order, the exact edge of the
// window, long jumps, the counter limit, and that only update() moves it.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "../../../plugins/cipher_noise/replay_window.hpp"

using cipher_noise::ReplayWindow;
using V = ReplayWindow::Verdict;

namespace {
// check then update, as the session does after a tag verified.
V accept(ReplayWindow& w, std::uint64_t n) {
  const V v = w.check(n);
  if (v == V::fresh) w.update(n);
  return v;
}
}  // namespace

TEST_CASE("replay window: at least 2048 counters, WireGuard's 8128", "[cipher_noise][replay]") {
  STATIC_REQUIRE(ReplayWindow::kWindow >= 2048);
  STATIC_REQUIRE(ReplayWindow::kWindow == 8128);
}

TEST_CASE("replay window: in order, then every duplicate refused", "[cipher_noise][replay]") {
  ReplayWindow w;
  for (std::uint64_t n = 0; n < 10000; ++n) REQUIRE(accept(w, n) == V::fresh);
  // The highest is 9999: 9999 - 8128 is the oldest counter still tracked.
  for (std::uint64_t n = 9999 - 8128; n < 10000; ++n) REQUIRE(w.check(n) == V::replayed);
  CHECK(w.check(9999 - 8129) == V::too_old);
  CHECK(w.check(0) == V::too_old);
  CHECK(w.check(10000) == V::fresh);
}

TEST_CASE("replay window: counter 0 first, and 0 again", "[cipher_noise][replay]") {
  ReplayWindow w;
  CHECK(accept(w, 0) == V::fresh);
  CHECK(accept(w, 0) == V::replayed);
  CHECK(accept(w, 1) == V::fresh);
  CHECK(accept(w, 0) == V::replayed);
}

TEST_CASE("replay window: the exact edge", "[cipher_noise][replay]") {
  ReplayWindow w;
  const std::uint64_t top = 100000;
  REQUIRE(accept(w, top) == V::fresh);
  CHECK(w.check(top - 8128) == V::fresh);     // the oldest counter still tracked
  CHECK(w.check(top - 8129) == V::too_old);   // one further: too old
  CHECK(accept(w, top - 8128) == V::fresh);
  CHECK(accept(w, top - 8128) == V::replayed);
  // Moving the top by one pushes that counter out.
  REQUIRE(accept(w, top + 1) == V::fresh);
  CHECK(w.check(top - 8128) == V::too_old);
  CHECK(w.check(top - 8127) == V::fresh);
}

TEST_CASE("replay window: out of order within the window", "[cipher_noise][replay]") {
  ReplayWindow w;
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> order(3000);
  for (std::uint64_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  for (auto n : order) REQUIRE(accept(w, n) == V::fresh);
  for (auto n : order) REQUIRE(accept(w, n) == V::replayed);
}

TEST_CASE("replay window: a long jump forgets everything behind it", "[cipher_noise][replay]") {
  ReplayWindow w;
  for (std::uint64_t n = 0; n < 200; ++n) accept(w, n);
  REQUIRE(accept(w, 1'000'000) == V::fresh);
  CHECK(w.check(150) == V::too_old);
  // Bits of the old counters must not survive in the ring: counters in the
  // new window that alias the old ones' ring slots are fresh.
  for (std::uint64_t n = 1'000'000 - 8128; n < 1'000'000; ++n) REQUIRE(w.check(n) == V::fresh);
  // A jump of exactly one ring's worth of words.
  ReplayWindow x;
  accept(x, 5);
  REQUIRE(accept(x, 5 + 128 * 64) == V::fresh);
  CHECK(x.check(5 + 64) == V::fresh);
}

TEST_CASE("replay window: check() alone does not move the window", "[cipher_noise][replay]") {
  ReplayWindow w;
  accept(w, 10);
  CHECK(w.check(50000) == V::fresh);  // e.g. a forged frame that then fails its tag
  CHECK(w.highest() == 10);
  CHECK(w.check(9) == V::fresh);
  CHECK(w.check(10) == V::replayed);
}

TEST_CASE("replay window: counters at the limit are refused", "[cipher_noise][replay]") {
  ReplayWindow w;
  CHECK(w.check(ReplayWindow::kLimit) == V::beyond_limit);
  CHECK(w.check(~std::uint64_t{0}) == V::beyond_limit);
  CHECK(accept(w, ReplayWindow::kLimit - 1) == V::fresh);
  CHECK(accept(w, ReplayWindow::kLimit - 1) == V::replayed);
}
