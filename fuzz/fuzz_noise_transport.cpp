// fuzz_noise_transport: NoiseSession::open() of established cipher_noise
// sessions on arbitrary frames, and on real frames that the fuzzer may
// modify, reorder and replay.
//
// Set-up (once, in LLVMFuzzerInitialize): a real IK handshake between a
// client (alice) and the server, then a rekey confirmed by a frame, so that
// each side holds two key epochs (ids 0 and 1). The sessions live for the
// whole run: the only state an input can change is the receive windows,
// and that only through frames the peer really sealed in the same input,
// whose counters are always above every earlier input's. So an input does
// the same on its own as after others (its replays included). The clock
// stands still (no rekey, no expiry).
//
// Input: operations until the input ends:
//   op % 4:
//    0 [dir][type][len u16][bytes]  arbitrary bytes as a sealed frame of `type` to
//                                   the server (dir even) or the client (dir odd)
//    1 [dir][type][len][bytes]      the other side seals len * 4 bytes (a frame in flight)
//    2 [i][mutation][retype]        in-flight frame i is delivered (mutated; retype odd:
//                                   as another frame type)
//    3 [dir][n u16]                 the side sending to the server (dir even) or the client
//                                   skips n counters (n & 0x7fff times 1024 when bit 15 is set):
//                                   frames lost on the way; the window moves on when a later
//                                   one opens
//   mutation: [count 0-3] then count x [offset][x]: x flips bits, x == 0 cuts.
//
// Invariants beyond the sanitizers: arbitrary bytes never open; a frame
// opens only unmodified, of its own type, and once (no forgery, no replay),
// and then gives exactly the sealed bytes; an unmodified frame not opened
// before and well inside the replay window (4096 counters of the newest
// opened) always opens; a refused frame keeps its size; the sessions
// stay established on their keys; every packet buffer returns to the pool.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "noise_rig.hpp"
#include "vpnsdk/wire.hpp"

namespace cipher_noise {
// As the unit tests do (transport_keys.hpp befriends it): move a send counter on.
struct KeypairTestAccess {
  static void skip(Keypair& k, std::uint64_t n) { k.send_counter_ += n; }
};
}  // namespace cipher_noise

namespace {

using namespace noise_fuzz;

struct Pair {
  World w{Settings{}};
  std::unique_ptr<NoiseSession> client, server;
  vpnsdk::PacketPool pool;
  std::uint64_t newest[2] = {0, 0};  // highest counter opened, per receiving side (0 server, 1 client)
};

Pair* g = nullptr;

void exchange(NoiseSession& to, const HandshakeMessages& msgs, HandshakeMessages& out) {
  for (const auto& m : msgs) {
    const auto st = to.handshake(m, out);
    if (!st.ok()) {
      std::fprintf(stderr, "set-up handshake failed: %s\n", st.message.c_str());
      std::abort();
    }
  }
}

vpnsdk::PacketPtr packet(const Message& b, std::uint8_t type) {
  vpnsdk::PacketPtr p = g->pool.acquire();
  FUZZ_CHECK(p && p->append(b));
  p->meta.frame_type = type;
  return p;
}

Message bytes_of(const vpnsdk::PacketBuffer& p) { return Message(p.bytes().begin(), p.bytes().end()); }

void setup() {
  init_sodium();
  reseed(42);
  g = new Pair;
  g->client = g->w.client_session(alice);
  g->server = g->w.server_session(1, "172.31.1.2");
  HandshakeMessages m1, m2, m3, m4, none;
  if (!g->client->start(m1).ok()) std::abort();
  exchange(*g->server, m1, m2);
  exchange(*g->client, m2, none);
  // The client's first frame (its HELLO) confirms the server's keys: before
  // it the server refuses a rekey (a new session takes a key over only then).
  {
    vpnsdk::PacketPtr hello = g->pool.acquire();
    const Message body(8, std::byte{0x56});
    if (!hello || !hello->append(body)) std::abort();
    hello->meta.frame_type = 1;
    if (!g->client->seal(*hello).ok() || !g->server->open(*hello).ok() || !g->server->confirmed()) std::abort();
  }
  // A rekey: the client's keys age past rekey_after, it initiates, the
  // server answers, the client confirms; then each side holds ids 0 and 1.
  g->w.time.advance(std::chrono::seconds(130));
  if (!g->client->tick(m3).ok() || m3.empty()) std::abort();
  exchange(*g->server, m3, m4);
  HandshakeMessages confirm;
  exchange(*g->client, m4, confirm);
  exchange(*g->server, confirm, none);
  FUZZ_CHECK(g->client->established() && g->server->established());
  FUZZ_CHECK(g->server->current_keys() && g->server->previous_keys() && !g->server->next_keys());
  FUZZ_CHECK(g->client->current_keys()->id() == 1 && g->server->current_keys()->id() == 1);
}

struct InFlight {
  Message sealed, plain;
  std::uint8_t type = 0;
  int to = 0;  // 0 server, 1 client
  bool opened = false;
};

std::uint64_t counter_of(const Message& sealed) {
  return load_le64(reinterpret_cast<const std::uint8_t*>(sealed.data()) + 1);
}

// Opens `wire` as `type` at side `to`; `expect`: must open to these bytes
// (nullptr: must not open; `maybe`: may open or not, e.g. behind the window).
bool open_at(int to, const Message& wire, std::uint8_t type, const Message* must, const Message* may) {
  NoiseSession& s = to == 0 ? *g->server : *g->client;
  vpnsdk::PacketPtr p = packet(wire, type);
  const auto st = s.open(*p);
  check_status(st);
  if (st.ok()) {
    const Message* want = must ? must : may;
    FUZZ_CHECK(want != nullptr);  // nothing forged or replayed opens
    FUZZ_CHECK(bytes_of(*p) == *want);
    FUZZ_CHECK(p->meta.frame_type == type);
  } else {
    FUZZ_CHECK(must == nullptr);
    // A refused frame keeps its size (libsodium zeroes the bytes it would
    // have decrypted in place when the tag does not verify; nobody reads
    // them after a refusal).
    FUZZ_CHECK(p->size() == wire.size());
  }
  FUZZ_CHECK(s.established() && s.current_keys() != nullptr && s.current_keys()->id() == 1);
  return st.ok();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setup();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  std::vector<InFlight> flight;
  const std::uint8_t types[4] = {3, 4, 5, 7};  // DATA, KEEPALIVE, BYE, HANDSHAKE
  int ops = 0;
  while (!in.empty() && ops++ < 256) {
    switch (in.u8() % 4) {
      case 0: {
        const int to = in.u8() & 1;
        const std::uint8_t type = in.u8();
        const Message m = in.bytes(in.u16() % 9300);
        open_at(to, m, type, nullptr, nullptr);
        break;
      }
      case 1: {
        const int to = in.u8() & 1;
        InFlight f;
        f.to = to;
        f.type = types[in.u8() % 4];
        f.plain = in.bytes(in.u8() * 4u);
        NoiseSession& from = to == 0 ? *g->client : *g->server;
        vpnsdk::PacketPtr p = packet(f.plain, f.type);
        const auto st = from.seal(*p);
        check_status(st);
        FUZZ_CHECK(st.ok());
        FUZZ_CHECK(p->size() == f.plain.size() + kFrameOverhead);
        f.sealed = bytes_of(*p);
        if (flight.size() < 64) flight.push_back(std::move(f));
        break;
      }
      case 2: {
        const std::uint8_t i = in.u8();
        Message wire;
        InFlight* f = flight.empty() ? nullptr : &flight[i % flight.size()];
        if (f) wire = f->sealed;
        bool changed = mutate(in, wire);
        std::uint8_t type = f ? f->type : 0;
        if (in.u8() & 1) {
          type = static_cast<std::uint8_t>(type == 3 ? 4 : 3);
          changed = true;
        }
        if (!f) break;
        const std::uint64_t c = counter_of(f->sealed);
        const std::uint64_t newest = g->newest[f->to];
        const bool fresh = !f->opened && !changed;
        const bool inside = c + 4096 > newest;
        const bool ok = open_at(f->to, wire, type, fresh && inside ? &f->plain : nullptr, fresh ? &f->plain : nullptr);
        if (ok) {
          f->opened = true;
          if (c > newest) g->newest[f->to] = c;
        }
        break;
      }
      case 3: {
        // The sender toward side `to` skips counters (frames lost on the way).
        const int to = in.u8() & 1;
        const std::uint16_t v = in.u16();
        const std::uint64_t n = (v & 0x8000) ? std::uint64_t{v & 0x7fffu} << 10 : v;
        Keypair* k = (to == 0 ? *g->client : *g->server).current_keys();
        cipher_noise::KeypairTestAccess::skip(*k, n);
        break;
      }
    }
  }
  flight.clear();
  FUZZ_CHECK(g->pool.in_use() == 0);
  return 0;
}
