// fuzz_noise_handshake: cipher_noise's handshake (NoiseSession::start,
// handshake, tick, and the frames of the established sessions), on the
// plugin's own sources, with a server of fixed key and authorized_clients
// (alice, bob) and four clients (alice, bob, a stranger, alice with a wrong
// server key), all in memory with a fake clock and deterministic randomness.
//
// Input: [settings] then operations until the input ends:
//   settings bit 0: psk (IKpsk2) on all sides; bit 1: the clients' psk is
//   another one (the server still answers, IKpsk2 mixes the psk in after the
//   initiation; no client accepts the response, no frame opens); bit 2: the server's handshake burst is
//   2 (the rate limit is reached); bits 3-7: the random seed.
//   op % 11:
//    0 [slot][len u16][bytes]  arbitrary bytes as a handshake message to server session `slot % 4`
//    1 [c][len u16][bytes]     arbitrary bytes as a handshake message to client `c % 4` (started if new)
//    2 [c]                     client c starts a new session (its initiation waits in its outbox)
//    3 [c][slot][mutation]     the last message client c said, mutated, to server session slot
//    4 [slot][c][mutation]     the last message server session slot said, mutated, to client c
//    5 [t]                     the clock moves t * 2 s (t < 128) or (t - 127) * 100 ms
//    6 [slot]                  tick() of server session slot
//    7 [c]                     tick() of client c (a rekey initiation when due)
//    8 [c][slot][type][len][bytes][mutation]  client c seals, server session slot opens
//    9 [slot][c][type][len][bytes][mutation]  server session slot seals, client c opens
//   10 [a]                     the last frame that client (a bit 7) or server session a opened, again
//   mutation: [count 0-3] then count x [offset][x]: x flips bits, x == 0 cuts.
// A session that returns session_fatal is destroyed, as the host does.
//
// Invariants beyond the sanitizers: no status is internal or config; no
// answer is larger than the message that asked (no amplification); a server
// session becomes established, or changes its peer, only by an unmodified
// initiation of an authorized client with the right server key, and then
// names that client; a client becomes established only by an unmodified
// response of a server session, and never with a wrong psk; a frame opens only when it is
// unmodified and not opened before (no forgery, no replay), and then gives
// back exactly what was sealed; established never goes back to false.
// Issue 15's uniform refusals (item 5): a server session not yet established
// refuses every initiation with session_fatal, except for a cookie reply
// under load; a server session names its client only once a frame confirmed
// the keys (the takeover rule of item 1).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "noise_rig.hpp"
#include "vpnsdk/wire.hpp"

namespace {

using namespace noise_fuzz;

constexpr int kSlots = 4;
const char* const kSlotAddress[kSlots] = {"172.31.1.2", "172.31.1.2", "172.31.1.3", "172.31.1.4"};

vpnsdk::PacketPool& pool() {
  static vpnsdk::PacketPool p;
  return p;
}

bool only_mac2_differs(const Message& a, const Message& b) {
  constexpr std::size_t mac2_at = cipher_noise::kInitiationSize - 16;
  return a.size() == cipher_noise::kInitiationSize && b.size() == a.size() &&
         std::equal(a.begin(), a.begin() + mac2_at, b.begin());
}

struct End {
  std::unique_ptr<NoiseSession> s;
  HandshakeMessages out;       // what its last call said
  Message said;                // the last message it said (ops 3/4 send it, again if need be)
  bool said_genuine = false;   // said came from a genuine exchange (not mutated input)
  bool established = false;
  std::optional<std::string> peer;  // server: the client it named
  int by = -1;                      // server: whose handshake established it
  std::set<Message> opened;    // frames it opened (sealed bytes + type)
  Message last_frame;          // the last frame it opened (op 10 delivers it again)
  std::uint8_t last_type = 0;
};

struct Run {
  World w;
  End slots[kSlots];
  End clients[kWho];
  vpnsdk::SessionId next_id = 1;

  explicit Run(const Settings& s) : w(s) {}

  End& slot(std::uint8_t i) {
    End& e = slots[i % kSlots];
    if (!e.s) e.s = w.server_session(next_id++, kSlotAddress[i % kSlots]);
    return e;
  }
  End& client(std::uint8_t i) {
    const int c = i % kWho;
    End& e = clients[c];
    if (!e.s) {
      e = End{};
      e.s = w.client_session(c);
      const auto st = e.s->start(e.out);
      check_status(st);
      FUZZ_CHECK(st.ok());
      FUZZ_CHECK(!e.out.empty());
      e.said = e.out.back();
      e.said_genuine = true;
    }
    return e;
  }

  // After a call on `e`: the host's reaction and the state invariants.
  void after(End& e, const vpnsdk::Status& st, bool server, bool genuine, int from_who, std::size_t asked) {
    check_status(st);
    std::size_t answered = 0;
    for (const auto& m : e.out) {
      FUZZ_CHECK(!m.empty());
      answered += m.size();
    }
    if (server && asked > 0) FUZZ_CHECK(answered <= asked);  // no amplification
    if (st.code == Code::session_fatal) {
      e = End{};  // the host ends the session
      return;
    }
    // Issue 15 item 5: every refusal of an initial initiation ends the new
    // session at once (session_fatal, above); only an established one goes on.
    // The one exception: under load a cookie reply (again, one 56-byte message).
    if (server && !st.ok() && !e.established)
      FUZZ_CHECK(st.code == Code::again && e.out.size() == 1 && e.out.back().size() == kCookieReplySize);
    const bool now = e.s->established();
    FUZZ_CHECK(!(e.established && !now));  // never back
    if (server && now && !e.established) {  // the handshake that established it
      FUZZ_CHECK(genuine);
      FUZZ_CHECK(from_who >= 0 && w.server_accepts(from_who));
      e.by = from_who == wrong_server ? alice : from_who;
    }
    if (server) name_check(e);
    if (!server && now && !e.established) FUZZ_CHECK(genuine && from_who >= 0 && w.client_accepts(from_who));
    e.established = now;
    if (!e.out.empty()) {
      e.said = e.out.back();
      e.said_genuine = genuine;
    }
  }

  void handshake(End& e, const Message& m, bool server, bool genuine, int from_who) {
    e.out.clear();
    const auto st = e.s->handshake(m, e.out);
    after(e, st, server, genuine, from_who, m.size());
  }

  void tick(End& e, bool server) {
    if (!e.s) return;
    e.out.clear();
    const auto st = e.s->tick(e.out);
    after(e, st, server, true, -1, 0);
  }

  // `from` seals a frame of `type` with `plain`; the mutated result goes to `to`.
  void frame(End& from, End& to, Reader& in) {
    const std::uint8_t types[4] = {3, 4, 5, 2};  // DATA, KEEPALIVE, BYE, WELCOME
    const std::uint8_t type = types[in.u8() % 4];
    const Message plain = in.bytes(in.u8() * 8u);
    Message sealed;
    const bool can = from.s && from.s->established();
    if (can) {
      vpnsdk::PacketPtr p = pool().acquire();
      FUZZ_CHECK(p && p->append(plain));
      p->meta.frame_type = type;
      const auto st = from.s->seal(*p);
      check_status(st);
      FUZZ_CHECK(st.ok());
      FUZZ_CHECK(p->size() == plain.size() + kFrameOverhead);
      sealed.assign(p->bytes().begin(), p->bytes().end());
    }
    Message wire = sealed;
    std::uint8_t wire_type = type;
    bool changed = mutate(in, wire);
    if (in.u8() & 1) {
      wire_type = static_cast<std::uint8_t>(type == 3 ? 4 : 3);
      changed = true;
    }
    if (!can || !to.s) return;
    deliver(to, wire, wire_type, changed ? nullptr : &plain);
  }

  // Opens `wire` on `to`; `plain`: what it must give when it opens (nullptr: it must not).
  void deliver(End& to, const Message& wire, std::uint8_t type, const Message* plain) {
    vpnsdk::PacketPtr p = pool().acquire();
    FUZZ_CHECK(p && p->append(wire));
    p->meta.frame_type = type;
    const auto st = to.s->open(*p);
    check_status(st);
    Message key = wire;
    key.push_back(std::byte{type});
    if (st.ok()) {
      FUZZ_CHECK(plain != nullptr);              // nothing forged opens
      FUZZ_CHECK(to.opened.insert(key).second);  // nothing opens twice
      to.last_frame = wire;  // op 10 replays it
      to.last_type = type;
      const auto b = p->bytes();
      FUZZ_CHECK(Message(b.begin(), b.end()) == *plain);
    } else {
      const auto b = p->bytes();
      FUZZ_CHECK(b.size() == wire.size());  // refused: its size kept (libsodium zeroes what it decrypted)
    }
    FUZZ_CHECK(!(to.established && !to.s->established()));
    if (is_slot(to)) name_check(to);
  }

  bool is_slot(const End& e) const { return &e >= slots && &e < slots + kSlots; }

  // Once confirmed, a server session names the client whose handshake
  // established it, and never another.
  void name_check(End& e) {
    if (!e.s->confirmed()) {
      FUZZ_CHECK(!e.s->peer().has_value());
      return;
    }
    const auto id = e.s->peer();
    FUZZ_CHECK(id.has_value() && e.by >= 0);
    FUZZ_CHECK(id->name == who_name(e.by));
    FUZZ_CHECK(!e.peer || *e.peer == id->name);
    e.peer = id->name;
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  init_sodium();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  const std::uint8_t flags = in.u8();
  reseed(flags >> 3);
  Settings set;
  set.psk = flags & 1;
  set.wrong_psk = flags & 2;
  if (flags & 4) set.burst = 2;
  Run r(set);
  int ops = 0;
  while (!in.empty() && ops++ < 64) {
    switch (in.u8() % 11) {
      case 0: {
        End& e = r.slot(in.u8());
        const Message m = in.bytes(in.u16() % 512);
        r.handshake(e, m, true, false, -1);
        break;
      }
      case 1: {
        const std::uint8_t c = in.u8();
        End& e = r.client(c);
        const Message m = in.bytes(in.u16() % 512);
        r.handshake(e, m, false, false, c % kWho);
        break;
      }
      case 2: {
        const int c = in.u8() % kWho;
        r.clients[c] = End{};
        r.client(static_cast<std::uint8_t>(c));
        break;
      }
      case 3: {
        const int c = in.u8() % kWho;
        End& from = r.clients[c];
        const std::uint8_t si = in.u8();
        Message m = from.s ? from.said : Message{};
        const Message before = m;
        // mac2 is only read under load (then a wrong one gets a cookie reply),
        // so an initiation changed in mac2 alone is still the client's.
        const bool genuine = from.said_genuine && (!mutate(in, m) || only_mac2_differs(before, m));
        if (m.empty()) break;
        r.handshake(r.slot(si), m, true, genuine, c);
        break;
      }
      case 4: {
        End& from = r.slots[in.u8() % kSlots];
        const std::uint8_t ci = in.u8();
        Message m = from.s ? from.said : Message{};
        const bool genuine = from.said_genuine && !mutate(in, m);
        if (m.empty()) break;
        End& to = r.clients[ci % kWho];
        if (!to.s) break;
        r.handshake(to, m, false, genuine, ci % kWho);
        break;
      }
      case 5: {
        const std::uint8_t t = in.u8();
        r.w.time.advance(t < 128 ? std::chrono::milliseconds(t * 2000) : std::chrono::milliseconds((t - 127) * 100));
        break;
      }
      case 6:
        r.tick(r.slots[in.u8() % kSlots], true);
        break;
      case 7:
        r.tick(r.clients[in.u8() % kWho], false);
        break;
      case 8: {
        End& from = r.clients[in.u8() % kWho];
        End& to = r.slots[in.u8() % kSlots];
        r.frame(from, to, in);
        break;
      }
      case 9: {
        End& from = r.slots[in.u8() % kSlots];
        End& to = r.clients[in.u8() % kWho];
        r.frame(from, to, in);
        break;
      }
      case 10: {
        const std::uint8_t a = in.u8();
        End& to = (a & 0x80) ? r.clients[a % kWho] : r.slots[a % kSlots];
        if (to.s && !to.last_frame.empty()) {
          const Message again = to.last_frame;
          r.deliver(to, again, to.last_type, nullptr);  // a replay never opens
        }
        break;
      }
    }
  }
  if (std::getenv("FUZZ_VERBOSE") != nullptr) {  // how far an input got
    std::fprintf(stderr, "server:");
    for (const auto& [k, v] : r.w.server.counters.values)
      if (v != 0) std::fprintf(stderr, " %s=%llu", k.c_str(), static_cast<unsigned long long>(v));
    for (int c = 0; c < kWho; ++c) {
      std::fprintf(stderr, "\n%s:", who_name(c));
      for (const auto& [k, v] : r.w.clients[c].counters.values)
        if (v != 0) std::fprintf(stderr, " %s=%llu", k.c_str(), static_cast<unsigned long long>(v));
    }
    std::fprintf(stderr, "\n");
  }
  // The sessions end (while their contexts live); then every buffer is back.
  for (auto& e : r.slots) e = End{};
  for (auto& e : r.clients) e = End{};
  FUZZ_CHECK(pool().in_use() == 0);  // every buffer came back
  return 0;
}
