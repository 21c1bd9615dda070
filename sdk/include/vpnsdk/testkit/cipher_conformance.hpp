// Cipher conformance: what every cipher plugin must do, checked against a
// Cipher instance (e.g. from vpnsdk::testkit::Harness), or a client and a
// server instance for a cipher whose ends are configured differently. Header-only, no test
// framework needed: the result is a Report.
//
//   vpnsdk::testkit::Harness h("build/cipher_rot.so", {{"shift", std::int64_t{7}}});
//   REQUIRE(h.status().ok());
//   vpnsdk::testkit::CipherConformance c;
//   c.integrity = true;               // this cipher says it detects changed frames
//   auto r = vpnsdk::testkit::check_cipher(h, c);
//   INFO(r.text());
//   CHECK(r.ok());
//
// What is checked:
//  - new_session() works for an initiator and a responder; a handshake (if
//    the cipher has one) completes by exchanging the messages, with start()
//    and handshake() returning ok or again; tick() returns ok;
//  - seal on one side + open on the other gives back the same bytes, for many
//    sizes (0 .. 9000), several frames each, in both directions, and the
//    frame's meta (type, session) is left alone;
//  - seal grows the buffer by at most overhead().head in front and
//    overhead().tail behind, and writes nothing outside the data it leaves
//    (canary bytes around the buffer's data are checked);
//  - seal works with exactly overhead() room; with no room at all it returns
//    an error instead of writing outside the buffer (when it needed room);
//  - the sealed bytes do not contain the plaintext (ciphertext_differs);
//  - open() of random bytes never throws; with `integrity`, it returns a
//    drop_* code for random bytes, for every single-bit flip tried, for a
//    truncated and for an empty frame, and a genuine frame still opens after;
//  - no call throws (an exception escaping a plugin call is a failure).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vpnsdk/cipher.hpp"
#include "vpnsdk/packet.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/testkit/report.hpp"
#include "vpnsdk/wire.hpp"

namespace vpnsdk::testkit {

struct CipherConformance {
  // Plaintext sizes tried; sizes above the pool's payload are skipped.
  std::vector<std::size_t> sizes{0, 1, 2, 3, 15, 16, 17, 63, 64, 65, 255, 256, 1000, 1400, 1500, 4096, 9000};
  std::size_t frames_per_size = 3;  // a stateful cipher (counters, nonces) sees several
  bool integrity = false;           // the cipher claims to detect changed/truncated/forged frames
  bool ciphertext_differs = true;   // sealed frames of >= 16 bytes must not contain the plaintext
  std::size_t max_handshake_rounds = 16;
  std::uint32_t seed = 1;
};

namespace detail {

class CipherChecker {
 public:
  CipherChecker(Cipher& initiators, Cipher& responders, PacketPool& pool, const CipherConformance& c, Report& r)
      : init_cipher_(initiators), resp_cipher_(responders), pool_(pool), c_(c), r_(r) {}

  struct Pair {
    std::unique_ptr<CipherSession> init, resp;
  };

  void run() {
    if (!no_throw(r_, "overhead()", [&] { ov_ = init_cipher_.overhead(); })) return;
    Overhead again{};
    no_throw(r_, "overhead()", [&] { again = resp_cipher_.overhead(); });
    r_.expect(again.head == ov_.head && again.tail == ov_.tail,
              "overhead() returns the same value every time (and on both sides)");
    r_.expect(ov_.head <= pool_.config().headroom,
              "overhead().head (" + std::to_string(ov_.head) + ") fits the pool's headroom (" +
                  std::to_string(pool_.config().headroom) + ")");
    r_.expect(ov_.tail <= pool_.config().tailroom,
              "overhead().tail (" + std::to_string(ov_.tail) + ") fits the pool's tailroom (" +
                  std::to_string(pool_.config().tailroom) + ")");

    Pair a;
    if (!make_pair(a, 1)) return;
    round_trips(a);
    tight_room(a);
    ticks(a);
    garbage(a);
    if (c_.integrity) tamper(a);
    // A second, independent pair works as well as the first.
    Pair b;
    if (make_pair(b, 2)) one_round_trip(*b.init, *b.resp, 100, "second session pair");
    // The first pair still works after everything above.
    one_round_trip(*a.init, *a.resp, 1400, "first session pair after all checks");
    one_round_trip(*a.resp, *a.init, 1400, "first session pair after all checks (reverse)");
  }

 private:
  bool make_pair(Pair& p, SessionId id) {
    SessionInfo ii{id, Role::initiator, {"127.0.0.1", 5000}};
    SessionInfo ri{id, Role::responder, {"127.0.0.1", static_cast<std::uint16_t>(40000 + id)}};
    Status si, sr;
    if (!no_throw(r_, "new_session(initiator)", [&] { si = init_cipher_.new_session(ii, p.init); })) return false;
    if (!no_throw(r_, "new_session(responder)", [&] { sr = resp_cipher_.new_session(ri, p.resp); })) return false;
    if (!r_.expect(si.ok() && p.init, "new_session(initiator) returns ok and a session (" + status_text(si) + ")"))
      return false;
    if (!r_.expect(sr.ok() && p.resp, "new_session(responder) returns ok and a session (" + status_text(sr) + ")"))
      return false;
    return handshake(p, "session pair " + std::to_string(id));
  }

  // Delivers messages until both sides are established (or it stalls).
  bool handshake(Pair& p, const std::string& what) {
    HandshakeMessages to_resp, to_init;
    Status st;
    if (!no_throw(r_, "start(initiator)", [&] { st = p.init->start(to_resp); })) return false;
    r_.expect(st.ok() || st.code == Code::again, what + ": start(initiator) returns ok (" + status_text(st) + ")");
    if (!no_throw(r_, "start(responder)", [&] { st = p.resp->start(to_init); })) return false;
    r_.expect(st.ok() || st.code == Code::again, what + ": start(responder) returns ok (" + status_text(st) + ")");
    return shuttle(p, to_resp, to_init, what);
  }

  bool shuttle(Pair& p, HandshakeMessages& to_resp, HandshakeMessages& to_init, const std::string& what) {
    std::size_t round = 0;
    for (; round < c_.max_handshake_rounds; ++round) {
      bool ready = false;
      no_throw(r_, "established()", [&] { ready = p.init->established() && p.resp->established(); });
      if (ready && to_resp.empty() && to_init.empty()) break;
      if (to_resp.empty() && to_init.empty()) {
        r_.fail(what + ": handshake stalled after " + std::to_string(round) +
                " rounds: not established and no message to deliver");
        return false;
      }
      if (!deliver(*p.resp, to_resp, to_init, what + ": handshake() on the responder")) return false;
      if (!deliver(*p.init, to_init, to_resp, what + ": handshake() on the initiator")) return false;
    }
    bool ready = false;
    no_throw(r_, "established()", [&] { ready = p.init->established() && p.resp->established(); });
    return r_.expect(ready, what + ": both sides established within " + std::to_string(c_.max_handshake_rounds) +
                                " handshake rounds");
  }

  bool deliver(CipherSession& to, HandshakeMessages& in, HandshakeMessages& replies, const std::string& what) {
    HandshakeMessages msgs;
    msgs.swap(in);
    for (const auto& m : msgs) {
      Status st;
      HandshakeMessages out;
      if (!no_throw(r_, what, [&] { st = to.handshake(m, out); })) return false;
      if (!r_.expect(st.ok() || st.code == Code::again, what + " returns ok or again (" + status_text(st) + ")"))
        return false;
      for (auto& o : out) replies.push_back(std::move(o));
    }
    return true;
  }

  PacketPtr frame(PacketPool& pool, const std::vector<std::byte>& plain) {
    PacketPtr p = pool.acquire();
    if (!p || !p->append(plain)) return PacketPtr(nullptr, PoolReturn{&pool});
    p->meta.frame_type = static_cast<std::uint8_t>(wire::FrameType::data);
    p->meta.session = 7;
    return p;
  }

  static constexpr std::byte kCanary{0xa5};

  // Seals with canary bytes around the data; checks growth and stray writes.
  // Returns the seal status (a failure is recorded for a non-ok status only
  // when `expect_ok`).
  Status seal_checked(CipherSession& s, PacketBuffer& b, const std::string& what, bool expect_ok = true) {
    std::byte* base = b.data() - b.headroom();
    const std::size_t cap = b.capacity();
    const std::size_t start0 = b.headroom(), end0 = start0 + b.size();
    std::fill(base, base + start0, kCanary);
    std::fill(base + end0, base + cap, kCanary);
    const PacketMeta meta0 = b.meta;
    Status st;
    if (!no_throw(r_, what + ": seal", [&] { st = s.seal(b); })) return Status::error(Code::internal, "threw");
    if (expect_ok) r_.expect(st.ok(), what + ": seal returns ok (" + status_text(st) + ")");
    const std::size_t start1 = b.headroom(), end1 = start1 + b.size();
    if (start1 < start0)
      r_.expect(start0 - start1 <= ov_.head, what + ": seal added " + std::to_string(start0 - start1) +
                                                 " bytes in front; overhead().head is " + std::to_string(ov_.head));
    if (end1 > end0)
      r_.expect(end1 - end0 <= ov_.tail, what + ": seal added " + std::to_string(end1 - end0) +
                                             " bytes behind; overhead().tail is " + std::to_string(ov_.tail));
    const std::size_t lo = std::min(start0, start1), hi = std::max(end0, end1);
    const bool clean = std::all_of(base, base + lo, [](std::byte x) { return x == kCanary; }) &&
                       std::all_of(base + hi, base + cap, [](std::byte x) { return x == kCanary; });
    r_.expect(clean, what + ": seal wrote nothing outside the frame's data (headroom/tailroom canaries intact)");
    r_.expect(b.meta.frame_type == meta0.frame_type && b.meta.session == meta0.session,
              what + ": seal leaves the frame's meta (type, session) alone");
    return st;
  }

  Status open_checked(CipherSession& s, PacketBuffer& b, const std::string& what) {
    const PacketMeta meta0 = b.meta;
    Status st;
    if (!no_throw(r_, what + ": open", [&] { st = s.open(b); })) return Status::error(Code::internal, "threw");
    r_.expect(b.meta.frame_type == meta0.frame_type && b.meta.session == meta0.session,
              what + ": open leaves the frame's meta (type, session) alone");
    return st;
  }

  bool fits(std::size_t n) const { return n <= pool_.config().payload; }

  // seal on `from`, open on `to`, compare. Returns the growth seal caused.
  std::size_t one_round_trip(CipherSession& from, CipherSession& to, std::size_t n, const std::string& what,
                             std::uint32_t salt = 0) {
    const auto plain = test_bytes(n, c_.seed + static_cast<std::uint32_t>(n) * 31u + salt);
    PacketPtr p = frame(pool_, plain);
    if (!r_.expect(p != nullptr, what + ": the pool gives a buffer for " + std::to_string(n) + " bytes")) return 0;
    const std::string w = what + " (" + std::to_string(n) + " bytes)";
    Status st = seal_checked(from, *p, w);
    if (!st.ok()) return 0;
    const std::size_t grown = p->size() - n;
    if (c_.ciphertext_differs && n >= 16) {
      auto sealed = p->bytes();
      const bool visible = std::search(sealed.begin(), sealed.end(), plain.begin(), plain.end()) != sealed.end();
      r_.expect(!visible, w + ": the sealed frame does not contain the plaintext");
    }
    st = open_checked(to, *p, w);
    if (!r_.expect(st.ok(), w + ": open of a genuine frame returns ok (" + status_text(st) + ")")) return grown;
    r_.expect(p->size() == n && std::equal(plain.begin(), plain.end(), p->data()),
              w + ": open gives back the original bytes (got " + std::to_string(p->size()) + " bytes)");
    return grown;
  }

  void round_trips(Pair& p) {
    for (std::size_t n : c_.sizes) {
      if (!fits(n)) {
        r_.note("size " + std::to_string(n) + " skipped: larger than the pool's payload");
        continue;
      }
      for (std::size_t k = 0; k < c_.frames_per_size; ++k) {
        const auto salt = static_cast<std::uint32_t>(k);
        grown_[n] = one_round_trip(*p.init, *p.resp, n, "initiator->responder frame " + std::to_string(k), salt);
        one_round_trip(*p.resp, *p.init, n, "responder->initiator frame " + std::to_string(k), salt + 1000);
      }
    }
  }

  // Exactly the declared room works; no room fails cleanly when room is needed.
  void tight_room(Pair& p) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{100}, std::size_t{1400}}) {
      const std::string w = "seal with exactly overhead() room (" + std::to_string(n) + " bytes)";
      PacketPool tight(PoolConfig{ov_.head, n, ov_.tail, 1});
      const auto plain = test_bytes(n, c_.seed + 77);
      PacketPtr b = frame(tight, plain);
      if (!r_.expect(b != nullptr, w + ": buffer")) continue;
      if (seal_checked(*p.init, *b, w).ok()) {
        Status st = open_checked(*p.resp, *b, w);
        r_.expect(st.ok() && b->size() == n && std::equal(plain.begin(), plain.end(), b->data()),
                  w + ": the frame opens to the original bytes (" + status_text(st) + ")");
      }
      auto g = grown_.find(n);
      if (g == grown_.end() || g->second == 0) continue;
      const std::string w0 = "seal with no headroom or tailroom (" + std::to_string(n) + " bytes)";
      PacketPool none(PoolConfig{0, n, 0, 1});
      PacketPtr z = frame(none, plain);
      if (!r_.expect(z != nullptr, w0 + ": buffer")) continue;
      Status st = seal_checked(*p.init, *z, w0, false);
      r_.expect(!st.ok(), w0 + ": returns an error, since a normal seal grows the frame by " +
                              std::to_string(g->second) + " bytes");
    }
  }

  void ticks(Pair& p) {
    HandshakeMessages to_resp, to_init;
    Status st;
    if (no_throw(r_, "tick(initiator)", [&] { st = p.init->tick(to_resp); }))
      r_.expect(st.ok(), "tick(initiator) returns ok (" + status_text(st) + ")");
    if (no_throw(r_, "tick(responder)", [&] { st = p.resp->tick(to_init); }))
      r_.expect(st.ok(), "tick(responder) returns ok (" + status_text(st) + ")");
    if (!to_resp.empty() || !to_init.empty()) shuttle(p, to_resp, to_init, "after tick()");
    no_throw(r_, "peer()", [&] { (void)p.init->peer(); (void)p.resp->peer(); });
    one_round_trip(*p.init, *p.resp, 200, "after tick()");
  }

  void garbage(Pair& p) {
    for (std::size_t n : {0, 1, 2, 3, 4, 8, 16, 17, 31, 32, 48, 100, 1400}) {
      const std::string w = "open of " + std::to_string(n) + " random bytes";
      PacketPtr b = frame(pool_, test_bytes(n, c_.seed + 999 + static_cast<std::uint32_t>(n)));
      if (!b) continue;
      Status st = open_checked(*p.resp, *b, w);
      if (c_.integrity)
        r_.expect(is_drop(st.code), w + ": returns a drop_* code for a cipher with integrity (got " +
                                        status_text(st) + ")");
    }
    one_round_trip(*p.init, *p.resp, 500, "genuine frame after random ones");
  }

  // Sealed genuine frames, changed one way or another: each must be dropped.
  void tamper(Pair& p) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{64}, std::size_t{1400}}) {
      const auto plain = test_bytes(n, c_.seed + 4242 + static_cast<std::uint32_t>(n));
      PacketPtr g = frame(pool_, plain);
      if (!g || !seal_checked(*p.init, *g, "tamper source").ok()) continue;
      const std::vector<std::byte> sealed(g->bytes().begin(), g->bytes().end());
      auto try_open = [&](std::vector<std::byte> bytes, const std::string& how) {
        PacketPtr t = frame(pool_, bytes);
        if (!t) return;
        Status st = open_checked(*p.resp, *t, how);
        r_.expect(is_drop(st.code), "sealed " + std::to_string(n) + "-byte frame, " + how +
                                        ": open returns a drop_* code (got " + status_text(st) + ")");
      };
      if (!sealed.empty()) {
        for (std::size_t at : {std::size_t{0}, sealed.size() / 2, sealed.size() - 1}) {
          for (unsigned bit : {0u, 7u}) {
            auto t = sealed;
            t[at] ^= std::byte(static_cast<unsigned char>(1u << bit));
            try_open(t, "bit " + std::to_string(bit) + " of byte " + std::to_string(at) + " flipped");
          }
        }
        try_open(std::vector<std::byte>(sealed.begin(), sealed.end() - 1), "last byte cut off");
        try_open(std::vector<std::byte>(sealed.begin() + 1, sealed.end()), "first byte cut off");
      }
      try_open({}, "replaced by an empty frame");
      // The untouched frame still opens: tampering did not poison the session.
      Status st = open_checked(*p.resp, *g, "genuine frame after tampered copies");
      r_.expect(st.ok() && g->size() == n && std::equal(plain.begin(), plain.end(), g->data()),
                "sealed " + std::to_string(n) + "-byte frame: the genuine frame opens after the tampered copies (" +
                    status_text(st) + ")");
    }
  }

  Cipher& init_cipher_;  // makes the Role::initiator sessions (a client's instance)
  Cipher& resp_cipher_;  // makes the Role::responder sessions (a server's instance)
  PacketPool& pool_;
  const CipherConformance& c_;
  Report& r_;
  Overhead ov_{};
  std::map<std::size_t, std::size_t> grown_;  // plaintext size -> bytes seal added
};

}  // namespace detail

// Checks a cipher instance; buffers come from `pool` (the host's default
// PoolConfig unless you pass another).
inline Report check_cipher(Cipher& cipher, PacketPool& pool, const CipherConformance& c = {}) {
  Report r;
  detail::CipherChecker(cipher, cipher, pool, c, r).run();
  return r;
}

// For a cipher whose two ends are configured differently (a client instance
// with the server's public key, a server instance with its authorized
// clients): initiator sessions come from `client`, responder sessions from
// `server`.
inline Report check_cipher(Cipher& client, Cipher& server, PacketPool& pool, const CipherConformance& c = {}) {
  Report r;
  detail::CipherChecker(client, server, pool, c, r).run();
  return r;
}

// The same with a Harness that created a cipher plugin.
inline Report check_cipher(Harness& h, const CipherConformance& c = {}) {
  if (!h.status().ok()) {
    Report r;
    r.fail("the plugin was not created: " + detail::status_text(h.status()));
    return r;
  }
  return check_cipher(h.get<Cipher>(), h.pool(), c);
}

}  // namespace vpnsdk::testkit
