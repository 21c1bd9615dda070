// Secrets in locked memory (SDK ABI 1.4): keys that are never written to
// swap, never appear in a core dump, and are wiped when they die.
//
// SecretArena hands out fixed-size slots (32, 64, ... 2048 bytes) carved
// from chunks of pages that are mmap'ed, madvise(MADV_DONTDUMP)'ed and
// mlock'ed once, when the chunk is made. A released slot is wiped
// (explicit_bzero) and stays in its chunk, which stays mapped and locked.
// Why slots rather than mlock on each key where it lies: munlock works on
// whole pages, so unlocking one session's 32-byte key would unlock whatever
// shares its page. A secret larger than the largest slot gets pages of its
// own, locked, unlocked and unmapped with it.
//
// When mlock fails (RLIMIT_MEMLOCK reached; EPERM when the limit is 0) the
// arena goes on with unlocked pages (still excluded from core dumps, still
// wiped): locked() turns false and lock_problem() says why. The arena logs
// nothing itself; a plugin calls log_secret_memory() at start, and after it
// made new keys (to hear of a later failure, once).
//
// Secret<N> (N bytes) and SecretBytes (a length chosen at run time) are the
// handles: move-only, holding a pointer to their slot, so data() costs one
// pointer load; wiped and released when destroyed. clone() is the only
// copy, and it copies into another slot. A moved-from handle holds no slot.
//
// secret_arena() is one arena per shared object built with
// vpnsdk_add_plugin (hidden visibility): all of one plugin's keys, over all
// its instances. Header-only; needs no library (libsodium is not required).
#pragma once
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vpnsdk/log.hpp"

namespace vpnsdk {

class SecretArena {
 public:
  static constexpr std::size_t kMinSlot = 32;
  static constexpr std::size_t kMaxSlot = 2048;

  SecretArena() noexcept {
    const long page = ::sysconf(_SC_PAGESIZE);
    page_ = page > 0 ? static_cast<std::size_t>(page) : 4096;
    chunk_ = std::max<std::size_t>(page_, 8192);
    for (std::size_t i = 0; i < kClasses; ++i) classes_[i].slot = kMinSlot << i;
  }
  // Unmaps everything, unless a secret still holds a slot (then its pages
  // stay). An arena must outlive its secrets (secret_arena() sees to that).
  ~SecretArena() {
    if (in_use_ != 0) return;
    for (const Mapping& m : chunks_) ::munmap(m.base, m.bytes);
    for (const Mapping& m : large_) ::munmap(m.base, m.bytes);
  }
  SecretArena(const SecretArena&) = delete;
  SecretArena& operator=(const SecretArena&) = delete;

  // `n` zero bytes that stay where they are until release(p, n). Throws
  // std::bad_alloc when no memory can be mapped.
  std::uint8_t* allocate(std::size_t n) {
    n = std::max<std::size_t>(n, 1);
    std::lock_guard<std::mutex> lock(mu_);
    std::uint8_t* p = nullptr;
    if (n > kMaxSlot) {
      large_.reserve(large_.size() + 1);  // so that nothing throws once the pages are mapped
      const Mapping m = map(round_up(n, page_));
      large_.push_back(m);
      p = m.base;
    } else {
      SizeClass& c = classes_[class_of(n)];
      if (c.free.empty()) add_chunk(c, chunk_);
      p = c.free.back();
      c.free.pop_back();
    }
    ++in_use_;
    return p;
  }

  // Wipes the `n` bytes at `p` (from allocate(n)) and takes the slot back.
  void release(std::uint8_t* p, std::size_t n) noexcept {
    if (p == nullptr) return;
    n = std::max<std::size_t>(n, 1);
    ::explicit_bzero(p, n);
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
    if (n <= kMaxSlot) {
      classes_[class_of(n)].free.push_back(p);  // capacity reserved with the chunk: never reallocates
      return;
    }
    auto it = std::find_if(large_.begin(), large_.end(), [p](const Mapping& m) { return m.base == p; });
    if (it == large_.end()) return;
    mapped_ -= it->bytes;
    if (it->locked) locked_ -= it->bytes;
    ::munmap(it->base, it->bytes);  // unlocks exactly these pages: nobody else's
    large_.erase(it);
  }

  // Maps (and locks) now what `count` secrets of `bytes` each will need, in
  // one chunk: a plugin that knows how many keys it will hold calls this at
  // start, so that locking succeeds or fails then, before any key is made.
  void reserve(std::size_t bytes, std::size_t count) {
    if (bytes == 0 || bytes > kMaxSlot || count == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    SizeClass& c = classes_[class_of(bytes)];
    if (c.free.size() >= count) return;
    add_chunk(c, round_up((count - c.free.size()) * c.slot, chunk_));
  }

  // True while every page mapped so far is locked.
  bool locked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problem_.empty();
  }
  std::size_t mapped_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return mapped_;
  }
  std::size_t locked_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return locked_;
  }
  // Secrets holding a slot now.
  std::size_t in_use() const {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }
  // Why the first page that could not be locked was not ("" while locked()).
  std::string lock_problem() const {
    std::lock_guard<std::mutex> lock(mu_);
    return problem_;
  }
  // lock_problem() once: the first call after locking failed returns it,
  // every other call "" (cheap: one atomic load when there is nothing new).
  std::string take_lock_problem() {
    if (!unreported_.exchange(false)) return {};
    return lock_problem();
  }

 private:
  static constexpr std::size_t kClasses = 7;  // 32 << 6 == kMaxSlot

  struct Mapping {
    std::uint8_t* base;
    std::size_t bytes;
    bool locked;
  };
  struct SizeClass {
    std::size_t slot = 0;
    std::size_t total = 0;             // slots in this class's chunks
    std::vector<std::uint8_t*> free;   // capacity >= total
  };

  static std::size_t class_of(std::size_t n) noexcept {
    std::size_t i = 0;
    while ((kMinSlot << i) < n) ++i;
    return i;
  }
  static std::size_t round_up(std::size_t n, std::size_t unit) noexcept { return (n + unit - 1) / unit * unit; }
  static std::string kib(std::size_t bytes) { return std::to_string((bytes + 1023) / 1024) + " KiB"; }

  // `bytes` (whole pages) mapped, left out of core dumps and locked if it can be.
  Mapping map(std::size_t bytes) {
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
    ::madvise(m, bytes, MADV_DONTDUMP);
    // The system call, not mlock(): AddressSanitizer's mlock() does nothing
    // (it guards against locking its shadow memory), and the sanitizer
    // builds test that keys are locked.
    const Mapping out{static_cast<std::uint8_t*>(m), bytes, ::syscall(SYS_mlock, m, bytes) == 0};
    if (!out.locked) note_lock_failure(errno, bytes);
    mapped_ += bytes;
    if (out.locked) locked_ += bytes;
    return out;
  }

  void add_chunk(SizeClass& c, std::size_t bytes) {
    const std::size_t slots = bytes / c.slot;
    chunks_.reserve(chunks_.size() + 1);
    c.free.reserve(c.total + slots);
    const Mapping m = map(bytes);
    chunks_.push_back(m);
    c.total += slots;
    for (std::size_t i = slots; i-- > 0;) c.free.push_back(m.base + i * c.slot);  // lowest address first out
  }

  void note_lock_failure(int err, std::size_t bytes) {
    if (!problem_.empty()) return;
    struct rlimit rl {};
    std::string limit = "unknown";
    if (::getrlimit(RLIMIT_MEMLOCK, &rl) == 0) limit = rl.rlim_cur == RLIM_INFINITY ? "unlimited" : kib(rl.rlim_cur);
    problem_ = "mlock of " + kib(bytes) + " failed: " + std::strerror(err) + " (RLIMIT_MEMLOCK is " + limit +
               "; this plugin's keys had " + kib(locked_) + " locked)";
    unreported_ = true;
  }

  mutable std::mutex mu_;
  std::size_t page_ = 4096;
  std::size_t chunk_ = 8192;
  std::array<SizeClass, kClasses> classes_{};
  std::vector<Mapping> chunks_;
  std::vector<Mapping> large_;
  std::size_t in_use_ = 0;
  std::size_t mapped_ = 0;
  std::size_t locked_ = 0;
  std::string problem_;
  std::atomic<bool> unreported_{false};
};

namespace secret_detail {

// Frees the arena at exit, or when the plugin is unloaded, if no secret
// holds a slot then. Otherwise it stays: a secret owned by a static object
// that was constructed before the arena is released after this runs.
struct ArenaHolder {
  SecretArena* arena = new SecretArena;
  ~ArenaHolder() {
    if (arena->in_use() == 0) delete arena;
  }
};

}  // namespace secret_detail

// This shared object's arena (see the top of this file).
inline SecretArena& secret_arena() {
  static secret_detail::ArenaHolder holder;
  return *holder.arena;
}

// N secret bytes in the arena, zero until written.
template <std::size_t N>
class Secret {
  static_assert(N > 0, "a secret has at least one byte");

 public:
  Secret() : Secret(secret_arena()) {}
  explicit Secret(SecretArena& arena) : arena_(&arena), p_(arena.allocate(N)) {}
  // The first min(N, bytes.size()) bytes of `bytes`, zero-filled.
  explicit Secret(std::span<const std::uint8_t> bytes, SecretArena& arena = secret_arena()) : Secret(arena) {
    assign(bytes);
  }
  Secret(Secret&& o) noexcept : arena_(o.arena_), p_(std::exchange(o.p_, nullptr)) {}
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      release();
      arena_ = o.arena_;
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { release(); }

  // A copy in a slot of its own.
  Secret clone() const {
    Secret s(*arena_);
    std::memcpy(s.p_, p_, N);
    return s;
  }
  // Overwrites with the first min(N, bytes.size()) bytes of `bytes` and zeros the rest.
  void assign(std::span<const std::uint8_t> bytes) noexcept {
    const std::size_t n = std::min(N, bytes.size());
    if (n > 0) std::memmove(p_, bytes.data(), n);
    if (n < N) ::explicit_bzero(p_ + n, N - n);
  }
  void wipe() noexcept {
    if (p_ != nullptr) ::explicit_bzero(p_, N);
  }

  std::uint8_t* data() noexcept { return p_; }
  const std::uint8_t* data() const noexcept { return p_; }
  static constexpr std::size_t size() noexcept { return N; }
  std::span<const std::uint8_t> view() const noexcept { return {p_, N}; }
  std::span<const std::uint8_t> first(std::size_t n) const noexcept { return {p_, n < N ? n : N}; }
  // False only for a moved-from handle.
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  void release() noexcept {
    if (p_ != nullptr) arena_->release(std::exchange(p_, nullptr), N);
  }
  SecretArena* arena_;
  std::uint8_t* p_;
};

// Secret bytes whose length is known only at run time (a key read from a
// file). Empty (no slot) when default-constructed or moved from.
class SecretBytes {
 public:
  SecretBytes() noexcept = default;
  explicit SecretBytes(std::size_t n, SecretArena& arena = secret_arena())
      : arena_(&arena), p_(n > 0 ? arena.allocate(n) : nullptr), size_(n), capacity_(n) {}
  explicit SecretBytes(std::span<const std::uint8_t> bytes, SecretArena& arena = secret_arena())
      : SecretBytes(bytes.size(), arena) {
    if (!bytes.empty()) std::memcpy(p_, bytes.data(), bytes.size());
  }
  SecretBytes(SecretBytes&& o) noexcept
      : arena_(o.arena_),
        p_(std::exchange(o.p_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      release();
      arena_ = o.arena_;
      p_ = std::exchange(o.p_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { release(); }

  SecretBytes clone() const {
    return arena_ != nullptr ? SecretBytes(view(), *arena_) : SecretBytes();
  }
  // Keeps the first `n` bytes (n <= size()) and wipes the rest; the slot stays.
  void truncate(std::size_t n) noexcept {
    if (n >= size_) return;
    ::explicit_bzero(p_ + n, size_ - n);
    size_ = n;
  }
  void wipe() noexcept {
    if (p_ != nullptr) ::explicit_bzero(p_, size_);
  }

  std::uint8_t* data() noexcept { return p_; }
  const std::uint8_t* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::uint8_t> view() const noexcept { return {p_, size_}; }

 private:
  void release() noexcept {
    if (p_ != nullptr) arena_->release(std::exchange(p_, nullptr), capacity_);
    size_ = capacity_ = 0;
  }
  SecretArena* arena_ = nullptr;
  std::uint8_t* p_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Says where this plugin's secrets are. At an instance's start (`at_start`,
// after its reserve()): one line, info "keys in locked memory (N KiB)" or a
// warning that names RLIMIT_MEMLOCK and the fix. Later (after new keys were
// made): only a lock failure not reported yet, once.
inline void log_secret_memory(spdlog::logger* log, bool at_start, SecretArena& arena = secret_arena()) {
  std::string problem = arena.take_lock_problem();
  if (at_start && problem.empty()) problem = arena.lock_problem();
  if (log == nullptr || (!at_start && problem.empty())) return;
  if (problem.empty()) {
    log->info("keys in locked memory ({} KiB)", (arena.locked_bytes() + 1023) / 1024);
    return;
  }
  log->warn("keys are not all in locked memory, so they may be written to swap: {}. Raise the limit "
            "RLIMIT_MEMLOCK for vpnhost: LimitMEMLOCK=8M in its systemd unit, or ulimit -l 8192 in the shell "
            "that starts it",
            problem);
}

}  // namespace vpnsdk
