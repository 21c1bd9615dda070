// What the cipher_noise fuzzers share: libsodium with a deterministic random
// source (reseeded for every input, so a crashing input replays exactly,
// ephemeral keys included), fixed static keys, a fake clock, and contexts
// built from the plugin's own sources (as tests/unit/cipher_noise does):
// one server context with authorized_clients "alice" and "bob", and client
// contexts for alice, bob, a stranger (not authorized) and alice with a
// wrong server key.
#pragma once
#include <sodium.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "key_files.hpp"
#include "noise_session.hpp"
#include "vpnsdk/counters.hpp"
#include "vpnsdk/packet.hpp"
#include "vpnsdk/status.hpp"

namespace noise_fuzz {

using namespace cipher_noise;
using vpnsdk::Code;
using vpnsdk::HandshakeMessages;
using Message = std::vector<std::byte>;

// ---- deterministic randombytes (splitmix64) --------------------------------

inline std::uint64_t& rng_state() {
  static std::uint64_t s = 1;
  return s;
}
inline std::uint64_t rng_next() {
  std::uint64_t z = (rng_state() += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline const char* rng_name() { return "vpnhost-fuzz-deterministic"; }
inline std::uint32_t rng_random() { return static_cast<std::uint32_t>(rng_next()); }
inline void rng_stir() {}
inline void rng_buf(void* const buf, const std::size_t size) {
  auto* p = static_cast<unsigned char*>(buf);
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t v = rng_next();
    for (std::size_t j = 0; j < 8 && i + j < size; ++j) p[i + j] = static_cast<unsigned char>(v >> (8 * j));
  }
}
inline randombytes_implementation& rng_impl() {
  static randombytes_implementation impl{rng_name, rng_random, rng_stir, nullptr, rng_buf, nullptr};
  return impl;
}
// Before anything else uses libsodium (LLVMFuzzerInitialize).
inline void init_sodium() {
  if (randombytes_set_implementation(&rng_impl()) != 0 || sodium_init() < 0) {
    std::fprintf(stderr, "libsodium failed to initialise\n");
    std::abort();
  }
}
inline void reseed(std::uint64_t seed) { rng_state() = seed; }

// ---- keys, clock, counters -------------------------------------------------

inline DhKeyPair fixed_key(std::uint8_t tag) {
  std::array<std::uint8_t, kDhLen> priv{};
  for (std::size_t i = 0; i < priv.size(); ++i) priv[i] = static_cast<std::uint8_t>(tag * 31 + i * 7 + 1);
  return keypair_from_private(View(priv.data(), priv.size()));
}

inline Key fixed_psk(std::uint8_t tag) {
  std::array<std::uint8_t, kKeyLen> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(tag + i);
  return Key(View(k.data(), k.size()));
}

struct FakeTime {
  SteadyClock::time_point steady = SteadyClock::time_point{} + std::chrono::hours(1000);
  std::chrono::system_clock::time_point wall =
      std::chrono::system_clock::time_point{} + std::chrono::seconds(1700000000);
  void advance(std::chrono::milliseconds d) {
    steady += d;
    wall += d;
  }
};

struct MapCounters final : vpnsdk::Counters {
  std::map<std::string, std::uint64_t> values;  // node-based: references stay valid
  std::uint64_t& counter(std::string_view name) override { return values[std::string(name)]; }
};

inline std::string b64(const PublicKey& k) { return to_base64(View(k.data(), k.size())); }

struct Side {
  MapCounters counters;
  std::shared_ptr<NoiseContext> ctx;
};

inline void attach(Side& s, FakeTime& t) {
  FakeTime* p = &t;
  s.ctx->now = [p] { return p->steady; };
  s.ctx->wall = [p] { return p->wall; };
}

// Client identities of the rig.
enum Who : int { alice = 0, bob = 1, stranger = 2, wrong_server = 3, kWho = 4 };
inline const char* who_name(int w) {
  static const char* n[kWho] = {"alice", "bob", "stranger", "wrong_server"};
  return n[w];
}
// Whether the server should accept a genuine initiation from `w`.
inline bool authorized(int w) { return w == alice || w == bob; }

struct Keys {
  DhKeyPair server = fixed_key(1);
  DhKeyPair other_server = fixed_key(2);
  DhKeyPair client[3] = {fixed_key(3), fixed_key(4), fixed_key(5)};  // alice, bob, stranger
};

inline const Keys& keys() {
  static const Keys k;
  return k;
}

struct Settings {
  bool psk = false;          // IKpsk2 on the server and the clients
  bool wrong_psk = false;    // the clients use another psk than the server
  double burst = 20;         // server's handshake_burst
  double per_second = 5;
};

// The server and the four clients, each with its own context.
struct World {
  FakeTime time;
  Settings set;
  Side server;
  Side clients[kWho];

  explicit World(const Settings& s) : set(s) {
    const Keys& k = keys();
    NoiseConfig c;
    c.self = k.server.clone();
    c.clients = AuthorizedClients::parse(b64(k.client[alice].pub) + " alice 10.10.0.5\n" +
                                             b64(k.client[bob].pub) + " bob\n",
                                         "authorized_clients");
    if (s.psk) c.psk = fixed_psk(9);
    c.handshake_burst = s.burst;
    c.handshakes_per_second = s.per_second;
    server.ctx = std::make_shared<NoiseContext>(std::move(c), server.counters, nullptr);
    attach(server, time);
    for (int w = 0; w < kWho; ++w) {
      NoiseConfig cc;
      cc.self = (w == wrong_server ? k.client[alice] : k.client[w]).clone();
      cc.server = w == wrong_server ? k.other_server.pub : k.server.pub;
      if (s.psk) cc.psk = fixed_psk(s.wrong_psk ? 10 : 9);
      clients[w].ctx = std::make_shared<NoiseContext>(std::move(cc), clients[w].counters, nullptr);
      attach(clients[w], time);
    }
  }
  // A genuine initiation from `w` is one the server accepts: IKpsk2 mixes
  // the psk in only after the initiation, so a wrong psk shows first in the
  // response (the client refuses it) and in the first frame (the server
  // cannot open it).
  bool server_accepts(int w) const { return authorized(w); }
  // ... and the client accepts the response to it.
  bool client_accepts(int w) const { return authorized(w) && !(set.psk && set.wrong_psk); }

  std::unique_ptr<NoiseSession> server_session(vpnsdk::SessionId id, const std::string& addr) {
    vpnsdk::SessionInfo info;
    info.id = id;
    info.role = vpnsdk::Role::responder;
    info.peer = {addr, static_cast<std::uint16_t>(40000 + id)};
    return std::make_unique<NoiseSession>(server.ctx, info);
  }
  std::unique_ptr<NoiseSession> client_session(int w) {
    vpnsdk::SessionInfo info;
    info.id = 100 + static_cast<vpnsdk::SessionId>(w);
    info.role = vpnsdk::Role::initiator;
    info.peer = {"172.31.1.1", 5000};
    return std::make_unique<NoiseSession>(clients[w].ctx, info);
  }
};

// A status a cipher session may return for hostile input: never internal
// (an escaped exception or an impossible state) nor config.
inline void check_status(const vpnsdk::Status& st) {
  if (st.code == Code::internal || st.code == Code::config) {
    std::fprintf(stderr, "unexpected status %d: %s\n", static_cast<int>(st.code), st.message.c_str());
    FUZZ_CHECK(st.code != Code::internal && st.code != Code::config);
  }
}

// Reads the input front to back; past the end everything is 0.
struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  Message bytes(std::size_t len) {
    if (len > n) len = n;
    Message m(reinterpret_cast<const std::byte*>(p), reinterpret_cast<const std::byte*>(p) + len);
    p += len;
    n -= len;
    return m;
  }
};

// [count: 0-3] then count x [offset][x]: x != 0 flips bits at offset % size,
// x == 0 cuts the message at offset % (size + 1). True if it changed (two
// flips that cancel are no change).
inline bool mutate(Reader& in, Message& m) {
  const Message before = m;
  const int count = in.u8() % 4;
  for (int i = 0; i < count; ++i) {
    const std::uint8_t off = in.u8(), x = in.u8();
    if (m.empty()) continue;
    if (x != 0)
      m[off % m.size()] ^= std::byte{x};
    else
      m.resize(std::min<std::size_t>(m.size(), off % (m.size() + 1)));
  }
  return m != before;
}

}  // namespace noise_fuzz
