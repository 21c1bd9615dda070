// vpnsdk/secret.hpp: the locked arena for secrets and its handles. What the
// kernel says about the pages (locked, left out of core dumps) is read back
// from /proc/self/smaps (vpnsdk/testkit/memory.hpp).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

#include "vpnsdk/secret.hpp"
#include "vpnsdk/testkit/memory.hpp"

using Catch::Contains;
using vpnsdk::Secret;
using vpnsdk::SecretArena;
using vpnsdk::SecretBytes;
using vpnsdk::testkit::in_child_with_memlock_limit;
using vpnsdk::testkit::mapping_flags;

namespace {

bool all_zero(const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

// A logger that writes into `out`.
std::shared_ptr<spdlog::logger> capture(std::ostringstream& out) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l %v");
  auto log = std::make_shared<spdlog::logger>("test", sink);
  log->set_level(spdlog::level::trace);
  return log;
}

#define CHILD_CHECK(cond) \
  if (!(cond)) return std::string("line ") + std::to_string(__LINE__) + ": " #cond

}  // namespace

static_assert(!std::is_copy_constructible_v<Secret<32>> && !std::is_copy_assignable_v<Secret<32>>);
static_assert(std::is_nothrow_move_constructible_v<Secret<32>> && std::is_nothrow_move_assignable_v<Secret<32>>);
static_assert(!std::is_copy_constructible_v<SecretBytes> && std::is_nothrow_move_constructible_v<SecretBytes>);
// The handle is the slot's address (and its arena): data() is one pointer load.
static_assert(sizeof(Secret<32>) == 2 * sizeof(void*));

TEST_CASE("secret: a released slot reads zero, and is the one handed out next", "[secret]") {
  SecretArena arena;
  std::uint8_t* p = arena.allocate(32);
  REQUIRE(all_zero(p, 32));
  std::memset(p, 0xa5, 32);
  arena.release(p, 32);
  CHECK(all_zero(p, 32));  // the chunk stays mapped: the wiped bytes can be read back
  std::uint8_t* again = arena.allocate(32);
  CHECK(again == p);
  arena.release(again, 32);

  // Through a handle, for each slot size, and at the end of a chunk.
  for (std::size_t n : {1, 31, 32, 33, 64, 100, 128, 2048}) {
    INFO(n);
    SecretBytes s(n, arena);
    std::uint8_t* at = s.data();
    std::memset(at, 0x5c, n);
    s = SecretBytes();
    CHECK(all_zero(at, n));
  }
  std::uint8_t* kept = nullptr;
  {
    Secret<64> k(arena);
    std::memset(k.data(), 0xff, k.size());
    kept = k.data();
  }
  CHECK(all_zero(kept, 64));
  CHECK(arena.in_use() == 0);
}

TEST_CASE("secret: slots come from locked pages left out of core dumps", "[secret]") {
  SecretArena arena;
  const std::size_t before = vpnsdk::testkit::locked_kib();
  arena.reserve(32, 1000);
  REQUIRE(arena.locked());  // the test runs as root, or under the default 8 MiB RLIMIT_MEMLOCK
  CHECK(arena.lock_problem().empty());
  CHECK(arena.locked_bytes() >= 32 * 1000);
  CHECK(arena.locked_bytes() == arena.mapped_bytes());
  CHECK(vpnsdk::testkit::locked_kib() - before == arena.locked_bytes() / 1024);
  std::vector<Secret<32>> keys;
  for (int i = 0; i < 1000; ++i) keys.emplace_back(arena);
  CHECK(arena.mapped_bytes() == arena.locked_bytes());  // the reserve was enough: nothing mapped since
  for (const auto& k : {keys.front().data(), keys.back().data()}) {
    const auto f = mapping_flags(k);
    CHECK(f.found);
    CHECK(f.locked);
    CHECK(f.no_dump);
  }
  // A secret larger than a slot gets pages of its own, locked, and gives them back.
  const std::size_t mapped = arena.mapped_bytes();
  {
    SecretBytes big(10000, arena);
    const auto f = mapping_flags(big.data());
    CHECK(f.locked);
    CHECK(f.no_dump);
    CHECK(arena.mapped_bytes() == mapped + 12288);
  }
  CHECK(arena.mapped_bytes() == mapped);
}

TEST_CASE("secret: handles move their slot, clone copies into another one", "[secret]") {
  SecretArena arena;
  Secret<32> a(arena);
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<std::uint8_t>(i);
  const std::uint8_t* slot = a.data();
  Secret<32> b(std::move(a));
  CHECK(b.data() == slot);
  CHECK_FALSE(a);
  a.wipe();  // harmless on a moved-from handle
  Secret<32> c = b.clone();
  CHECK(c.data() != b.data());
  CHECK(std::memcmp(c.data(), b.data(), 32) == 0);
  CHECK(arena.in_use() == 2);
  // assign copies what fits and zeros the rest.
  const std::uint8_t three[3] = {7, 8, 9};
  c.assign(three);
  CHECK((c.data()[0] == 7 && c.data()[2] == 9 && all_zero(c.data() + 3, 29)));
  c = std::move(b);
  CHECK(c.data() == slot);
  CHECK(arena.in_use() == 1);

  SecretBytes s(std::span<const std::uint8_t>(three), arena);
  CHECK(s.size() == 3);
  s.truncate(1);
  CHECK(s.size() == 1);
  CHECK(all_zero(s.data() + 1, 2));
  SecretBytes t = s.clone();
  CHECK((t.size() == 1 && t.data()[0] == 7 && t.data() != s.data()));
}

TEST_CASE("secret: without CAP_IPC_LOCK over RLIMIT_MEMLOCK the arena works unlocked and says why once", "[secret]") {
  // 12 KiB: the first 8 KiB chunk is locked, the second is over the limit.
  const std::string r = in_child_with_memlock_limit(12 * 1024, [] () -> std::string {
    std::ostringstream log_text;
    auto log = capture(log_text);
    SecretArena arena;
    Secret<32> first(arena);
    CHILD_CHECK(arena.locked());
    CHILD_CHECK(mapping_flags(first.data()).locked);
    vpnsdk::log_secret_memory(log.get(), true, arena);
    CHILD_CHECK(log_text.str() == "info keys in locked memory (8 KiB)\n");
    log_text.str("");
    vpnsdk::log_secret_memory(log.get(), false, arena);
    CHILD_CHECK(log_text.str().empty());  // nothing new
    log_text.str("");
    std::vector<Secret<32>> more;
    for (int i = 0; i < 300; ++i) more.emplace_back(arena);  // 256 slots a chunk: a second chunk
    CHILD_CHECK(!arena.locked());
    CHILD_CHECK(arena.locked_bytes() == 8192);
    CHILD_CHECK(arena.mapped_bytes() == 16384);
    const std::string why = arena.lock_problem();
    CHILD_CHECK(why == "mlock of 8 KiB failed: Cannot allocate memory (RLIMIT_MEMLOCK is 12 KiB; this plugin's keys "
                       "had 8 KiB locked)");
    // Unlocked, still usable, still out of core dumps, still wiped.
    Secret<32>& last = more.back();
    const auto f = mapping_flags(last.data());
    CHILD_CHECK(f.found && !f.locked && f.no_dump);
    std::memset(last.data(), 0x77, 32);
    std::uint8_t* at = last.data();
    more.pop_back();
    CHILD_CHECK(all_zero(at, 32));
    vpnsdk::log_secret_memory(log.get(), false, arena);
    CHILD_CHECK(log_text.str() == "warning keys are not all in locked memory, so they may be written to swap: " + why +
                                      ". Raise the limit RLIMIT_MEMLOCK for vpnhost: LimitMEMLOCK=8M in its systemd "
                                      "unit, or ulimit -l 8192 in the shell that starts it\n");
    log_text.str("");
    vpnsdk::log_secret_memory(log.get(), false, arena);
    CHILD_CHECK(log_text.str().empty());  // once
    CHILD_CHECK(arena.take_lock_problem().empty());
    vpnsdk::log_secret_memory(log.get(), true, arena);  // another instance's start: the state as it is
    CHILD_CHECK(log_text.str().rfind("warning keys are not all in locked memory", 0) == 0);
    return {};
  });
  CHECK(r == "");
}

TEST_CASE("secret: with RLIMIT_MEMLOCK 0 nothing is locked and the start line is the warning", "[secret]") {
  const std::string r = in_child_with_memlock_limit(0, [] () -> std::string {
    std::ostringstream log_text;
    auto log = capture(log_text);
    SecretArena arena;
    arena.reserve(32, 10);
    CHILD_CHECK(!arena.locked());
    CHILD_CHECK(arena.locked_bytes() == 0);
    CHILD_CHECK(arena.lock_problem() ==
                "mlock of 8 KiB failed: Operation not permitted (RLIMIT_MEMLOCK is 0 KiB; this plugin's keys had 0 KiB "
                "locked)");
    Secret<32> k(arena);
    k.data()[0] = 1;
    vpnsdk::log_secret_memory(log.get(), true, arena);
    CHILD_CHECK(log_text.str().rfind("warning keys are not all in locked memory", 0) == 0);
    CHILD_CHECK(log_text.str().find("LimitMEMLOCK=") != std::string::npos);
    CHILD_CHECK(log_text.str().find("ulimit -l") != std::string::npos);
    return {};
  });
  CHECK(r == "");
}

// secret_arena() outlives its secrets: one owned (indirectly) by a static
// object constructed before the arena dies after the arena's own static
// destructor ran, and must still find it. (With the arena a static object,
// this was a heap-use-after-free at exit, found by fuzz_datapath's global
// XorKeystream under ASan.)
TEST_CASE("secret: a secret held by a static object is released after static destruction", "[secret]") {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    static std::unique_ptr<SecretBytes> small, large;  // constructed (empty) before the arena's first use here
    small = std::make_unique<SecretBytes>(32);
    large = std::make_unique<SecretBytes>(10000);
    std::exit(0);  // static destructors: small and large last
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
