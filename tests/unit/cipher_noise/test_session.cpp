// NoiseSession logic with a fake clock: handshake, sealing and opening,
// tampering, replays (frames and initiations), identities, rekeying with
// the previous keys kept for frames in flight, expiry, session replacement
// and the handshake rate limit.
#include <algorithm>

#include "session_rig.hpp"
#include "vpnsdk/testkit/memory.hpp"

using namespace noise_test;
using namespace std::chrono_literals;
using vpnsdk::Role;

TEST_CASE("session: handshake, then frames both ways", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  CHECK_FALSE(c->established());
  CHECK_FALSE(s->established());
  connect(rig, *c, *s);
  CHECK(rig.server->value("handshakes_completed") == 1);
  CHECK(alice->value("handshakes_completed") == 1);
  CHECK(rig.server->value("client.alice.sessions") == 1);
  CHECK(rig.server->value("client.alice.handshakes") == 1);

  for (int i = 0; i < 50; ++i) {
    const Bytes msg = text_bytes("packet " + std::to_string(i));
    CHECK(roundtrip(rig, *c, *s, msg) == msg);
    CHECK(roundtrip(rig, *s, *c, msg) == msg);
  }
  CHECK(roundtrip(rig, *c, *s, {}) == Bytes{});  // an empty body (KEEPALIVE)

  auto id = s->peer();
  REQUIRE(id);
  CHECK(id->name == "alice");
  CHECK(id->public_key == Bytes(rig.alice_key.pub.begin(), rig.alice_key.pub.end()));
  REQUIRE(id->fixed_address);
  CHECK(*id->fixed_address == 0x0a0a0005u);
  s.reset();
  CHECK(rig.server->value("client.alice.sessions") == 0);
}

TEST_CASE("session: the sealed body is key id, LE counter, ciphertext, tag", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  const Bytes plain = text_bytes("0123456789abcdef-plaintext");
  for (std::uint64_t n = 0; n < 3; ++n) {
    auto p = rig.packet(plain);
    REQUIRE(c->seal(*p).ok());
    const Bytes wire = bytes_of(*p);
    REQUIRE(wire.size() == 9 + plain.size() + 16);
    CHECK(wire[0] == 0);  // key id of the first epoch
    CHECK(load_le64(wire.data() + 1) == n + 1);  // counter 0 was the first frame (connect())
    CHECK(std::search(wire.begin(), wire.end(), plain.begin(), plain.begin() + 10) == wire.end());
    REQUIRE(s->open(*p).ok());
    CHECK(bytes_of(*p) == plain);
  }
}

TEST_CASE("session: every flipped bit is dropped as drop_auth, the session goes on", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  const Bytes plain = text_bytes("tamper with me");
  auto p = rig.packet(plain);
  REQUIRE(c->seal(*p).ok());
  const Bytes wire = bytes_of(*p);
  std::uint64_t refused = 0;
  for (std::size_t bit = 8; bit < wire.size() * 8; ++bit) {  // bits of the key id are another case below
    Bytes t = wire;
    t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto q = rig.packet(t);
    auto st = s->open(*q);
    INFO("bit " << bit);
    if (bit == 8) {
      // Counter 1 becomes 0, the counter of connect()'s first frame: a replay.
      REQUIRE(st.code == Code::drop_malformed);
      continue;
    }
    REQUIRE(st.code == Code::drop_auth);
    ++refused;
  }
  CHECK(rig.server->value("bad_tag") == refused);
  CHECK(rig.server->value("replayed") == 1);
  // A flipped key id names keys the session does not hold.
  Bytes t = wire;
  t[0] ^= 1;
  auto q = rig.packet(t);
  CHECK(s->open(*q).code == Code::drop_auth);
  CHECK(rig.server->value("unknown_key_id") == 1);
  // The untouched frame still opens: nothing was consumed by the forgeries.
  auto good = rig.packet(wire);
  REQUIRE(s->open(*good).ok());
  CHECK(bytes_of(*good) == plain);
  CHECK(roundtrip(rig, *c, *s, text_bytes("still alive")) == text_bytes("still alive"));
}

TEST_CASE("session: the frame type is authenticated", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  auto p = rig.packet(text_bytes("a DATA frame"), vpnsdk::wire::FrameType::data);
  REQUIRE(c->seal(*p).ok());
  p->meta.frame_type = static_cast<std::uint8_t>(vpnsdk::wire::FrameType::bye);
  CHECK(s->open(*p).code == Code::drop_auth);
}

TEST_CASE("session: replayed and too-old frames are dropped and counted", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  auto p = rig.packet(text_bytes("once"));
  REQUIRE(c->seal(*p).ok());
  const Bytes first = bytes_of(*p);
  REQUIRE(s->open(*p).ok());
  auto again = rig.packet(first);
  auto st = s->open(*again);
  CHECK(st.code == Code::drop_malformed);
  CHECK(st.message == "replayed frame");
  CHECK(rig.server->value("replayed") == 1);
  // Push the window 8129 counters past the first frame: it is now too old.
  for (int i = 0; i < 8129; ++i) {
    auto q = rig.packet(text_bytes("x"));
    REQUIRE(c->seal(*q).ok());
    if (i == 8128) REQUIRE(s->open(*q).ok());
  }
  auto old = rig.packet(first);
  CHECK(s->open(*old).code == Code::drop_malformed);
  CHECK(rig.server->value("too_old") == 1);
  // Frames from inside the window that were never delivered still open.
  auto late = rig.packet(text_bytes("late"));
  REQUIRE(c->seal(*late).ok());
  REQUIRE(s->open(*late).ok());
}

TEST_CASE("session: short frames are malformed", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  auto p = rig.packet(Bytes(24, 0));
  CHECK(s->open(*p).code == Code::drop_malformed);
  CHECK(rig.server->value("short_frame") == 1);
}

TEST_CASE("session: a replayed initiation is refused at once, like an unknown key, with no reply", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder, 1);
  HandshakeMessages m1;
  REQUIRE(c->start(m1).ok());
  auto m2 = deliver(*s, m1);
  REQUIRE(m2.size() == 1);
  deliver(*c, m2);
  REQUIRE(first_frame(rig, *c, *s).ok());
  // The same initiation on a new connection (an attacker who recorded it):
  // refused at once, as an unknown key is (no wait that would tell that
  // the key is still authorized), nothing sent.
  auto s2 = Rig::session(*rig.server, Role::responder, 2, "172.31.9.9");
  HandshakeMessages out;
  auto st = s2->handshake(m1[0], out);
  CHECK(st.code == Code::session_fatal);
  CHECK(out.empty());
  CHECK_FALSE(s2->established());
  CHECK(rig.server->value("replayed_initiation") == 1);
  // ... and on the established session itself.
  st = s->handshake(m1[0], out);
  CHECK(st.code == Code::again);
  CHECK(out.empty());
  CHECK(rig.server->value("replayed_initiation") == 2);
  CHECK(roundtrip(rig, *c, *s, text_bytes("still here")) == text_bytes("still here"));
  // A fresh initiation from the same client (a reconnect) is accepted.
  auto c2 = Rig::session(*alice, Role::initiator, 3);
  auto s3 = Rig::session(*rig.server, Role::responder, 3);
  connect(rig, *c2, *s3);
}

TEST_CASE("session: an initiation from another client process with an older clock is refused", "[cipher_noise][session]") {
  Rig rig;
  auto alice1 = rig.client(rig.alice_key);
  auto c1 = Rig::session(*alice1, Role::initiator);
  auto s1 = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c1, *s1);
  // A second process with the same key whose clock is behind: not newer.
  FakeTime behind;
  behind.wall = rig.time.wall - 10s;
  auto alice2 = rig.client(rig.alice_key);
  alice2->ctx->wall = [&behind] { return behind.wall; };
  auto c2 = Rig::session(*alice2, Role::initiator);
  auto s2 = Rig::session(*rig.server, Role::responder, 2);
  HandshakeMessages m1;
  REQUIRE(c2->start(m1).ok());
  deliver(*s2, m1, Code::session_fatal);
  CHECK(rig.server->value("replayed_initiation") == 1);
}

TEST_CASE("session: an unlisted key gets no session and no reply", "[cipher_noise][session]") {
  Rig rig;
  auto stranger = rig.client(rig.stranger_key);
  auto c = Rig::session(*stranger, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  HandshakeMessages m1;
  REQUIRE(c->start(m1).ok());
  HandshakeMessages out;
  auto st = s->handshake(m1[0], out);
  CHECK(st.code == Code::session_fatal);
  CHECK(out.empty());
  CHECK_FALSE(s->established());
  CHECK_FALSE(s->peer());
  CHECK(rig.server->value("unknown_client") == 1);
}

TEST_CASE("session: a wrong server key: the server cannot read the initiation", "[cipher_noise][session]") {
  Rig rig;
  const DhKeyPair other = generate_keypair();
  auto alice = rig.client(rig.alice_key, other.pub);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  HandshakeMessages m1;
  REQUIRE(c->start(m1).ok());
  HandshakeMessages out;
  auto st = s->handshake(m1[0], out);
  CHECK(st.code == Code::session_fatal);
  CHECK(out.empty());
  // mac1 is keyed by the server's public key: refused before any DH.
  CHECK(rig.server->value("bad_mac1") == 1);
  CHECK(rig.server->value("handshake_failed") == 0);
  CHECK(rig.server->value("unknown_client") == 0);  // it never learnt who was asking
}

TEST_CASE("session: garbage initiations end the session without a reply", "[cipher_noise][session]") {
  Rig rig;
  auto s = Rig::session(*rig.server, Role::responder);
  HandshakeMessages out;
  std::vector<std::byte> junk(kInitiationSize, std::byte{0x41});
  CHECK(s->handshake(junk, out).code == Code::session_fatal);
  std::vector<std::byte> shorter(10, std::byte{0});
  auto s2 = Rig::session(*rig.server, Role::responder, 2, "172.31.2.2");
  CHECK(s2->handshake(shorter, out).code == Code::session_fatal);
  CHECK(out.empty());
  CHECK(rig.server->value("bad_mac1") == 1);  // garbage costs no Diffie-Hellman
  CHECK(rig.server->value("handshake_failed") == 0);
  CHECK(rig.server->value("handshake_malformed") == 1);
}

TEST_CASE("session: psk2: same psk works, another psk fails on the client", "[cipher_noise][session]") {
  Key psk, other;
  randombytes_buf(psk.data(), psk.size());
  randombytes_buf(other.data(), other.size());
  Rig rig(psk.clone());
  {
    auto alice = rig.client(rig.alice_key, std::nullopt, psk.clone());
    auto c = Rig::session(*alice, Role::initiator);
    auto s = Rig::session(*rig.server, Role::responder);
    connect(rig, *c, *s);
    CHECK(roundtrip(rig, *c, *s, text_bytes("psk")) == text_bytes("psk"));
  }
  {
    rig.time.advance(1s);
    auto bob = rig.client(rig.bob_key, std::nullopt, other.clone());
    auto c = Rig::session(*bob, Role::initiator, 2);
    auto s = Rig::session(*rig.server, Role::responder, 2);
    HandshakeMessages m1;
    REQUIRE(c->start(m1).ok());
    auto m2 = deliver(*s, m1);  // psk2 mixes the psk into the second message only
    REQUIRE(m2.size() == 1);
    HandshakeMessages out;
    auto st = c->handshake(m2[0], out);
    CHECK(st.code == Code::session_fatal);
    CHECK_THAT(st.message, Catch::Contains("psk_file differs"));
    CHECK_FALSE(c->established());
  }
  {
    rig.time.advance(1s);
    auto bob = rig.client(rig.bob_key);  // no psk at all: Noise_IK, another protocol name
    auto c = Rig::session(*bob, Role::initiator, 3);
    auto s = Rig::session(*rig.server, Role::responder, 3);
    HandshakeMessages m1;
    REQUIRE(c->start(m1).ok());
    deliver(*s, m1, Code::session_fatal);
    CHECK(rig.server->value("handshake_failed") == 1);  // mac1 was fine, the decryption was not
  }
}

TEST_CASE("session: rekey under traffic keeps frames in flight", "[cipher_noise][session][rekey]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  HandshakeMessages out;
  rig.time.advance(119s);
  REQUIRE(c->tick(out).ok());
  CHECK(out.empty());
  rig.time.advance(1s);
  REQUIRE(c->tick(out).ok());  // 120 s: the client starts a rekey
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == kInitiationSize);
  CHECK(c->rekey_pending());

  // A frame the server seals before it sees the initiation, still in flight.
  auto in_flight = rig.packet(text_bytes("sealed with epoch 0"));
  REQUIRE(s->seal(*in_flight).ok());

  auto resp = deliver(*s, out);
  REQUIRE(resp.size() == 1);
  REQUIRE(s->next_keys() != nullptr);
  CHECK(s->next_keys()->id() == 1);
  // Until confirmed the server still seals with epoch 0.
  auto before_confirm = rig.packet(text_bytes("still epoch 0"));
  REQUIRE(s->seal(*before_confirm).ok());
  CHECK(std::to_integer<int>(before_confirm->data()[0]) == 0);

  auto confirm = deliver(*c, resp);
  REQUIRE(confirm.size() == 1);
  CHECK(confirm[0].size() == kConfirmationSize);
  CHECK(c->current_keys()->id() == 1);
  REQUIRE(c->previous_keys() != nullptr);
  CHECK(alice->value("rekeys") == 1);

  // The client opens both old-epoch frames with its previous keys.
  REQUIRE(c->open(*in_flight).ok());
  CHECK(bytes_of(*in_flight) == text_bytes("sealed with epoch 0"));
  REQUIRE(c->open(*before_confirm).ok());

  deliver(*s, confirm);
  CHECK(s->next_keys() == nullptr);
  CHECK(s->current_keys()->id() == 1);
  CHECK(rig.server->value("rekeys") == 1);
  CHECK(rig.server->value("client.alice.handshakes") == 2);
  auto after = rig.packet(text_bytes("epoch 1"));
  REQUIRE(s->seal(*after).ok());
  CHECK(std::to_integer<int>(after->data()[0]) == 1);
  REQUIRE(c->open(*after).ok());
  CHECK(roundtrip(rig, *c, *s, text_bytes("up")) == text_bytes("up"));

  // Previous keys are wiped reject_after (180 s) after their handshake.
  const auto dropped = alice->value("keys_dropped");
  rig.time.advance(59s);
  REQUIRE(c->tick(out = {}).ok());
  CHECK(c->previous_keys() != nullptr);
  rig.time.advance(1s);
  REQUIRE(c->tick(out = {}).ok());
  CHECK(c->previous_keys() == nullptr);
  CHECK(alice->value("keys_dropped") == dropped + 1);
  REQUIRE(s->tick(out = {}).ok());
  CHECK(s->previous_keys() == nullptr);
  // A late frame of the wiped epoch no longer opens.
  Bytes fake(30, 0);  // key id 0, which is gone
  auto q = rig.packet(fake);
  CHECK(c->open(*q).code == Code::drop_auth);
}

TEST_CASE("session: a frame with the new keys confirms them too", "[cipher_noise][session][rekey]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  HandshakeMessages out;
  rig.time.advance(120s);
  REQUIRE(c->tick(out).ok());
  auto resp = deliver(*s, out);
  deliver(*c, resp);  // the confirmation is lost in this test
  CHECK(roundtrip(rig, *c, *s, text_bytes("new keys")) == text_bytes("new keys"));
  CHECK(s->current_keys()->id() == 1);
  CHECK(s->next_keys() == nullptr);
}

TEST_CASE("session: an unanswered rekey is sent again, then the keys expire", "[cipher_noise][session][rekey]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  HandshakeMessages first;
  rig.time.advance(120s);
  REQUIRE(c->tick(first).ok());
  REQUIRE(first.size() == 1);
  HandshakeMessages out;
  rig.time.advance(4s);
  REQUIRE(c->tick(out).ok());
  CHECK(out.empty());
  rig.time.advance(1s);
  REQUIRE(c->tick(out).ok());
  REQUIRE(out.size() == 1);  // sent again after 5 s, a new initiation
  CHECK(bytes_of(out[0]) != bytes_of(first[0]));
  CHECK(alice->value("rekey_retries") == 1);
  // The server answers both; the client takes the answer to the latest one
  // and ignores the stale one.
  auto stale = deliver(*s, first);
  auto fresh = deliver(*s, out);
  HandshakeMessages conf;
  CHECK(c->handshake(stale[0], conf).code == Code::again);
  CHECK(alice->value("stale_handshake") == 1);
  CHECK(c->handshake(fresh[0], conf).ok());
  CHECK(conf.size() == 1);
  deliver(*s, conf);
  CHECK(roundtrip(rig, *s, *c, text_bytes("ok")) == text_bytes("ok"));

  // Now nobody answers: at 180 s after the last handshake the session ends.
  rig.time.advance(120s);
  HandshakeMessages ignored;
  REQUIRE(c->tick(ignored).ok());
  for (int i = 0; i < 59; ++i) {
    rig.time.advance(1s);
    auto st = c->tick(ignored = {});
    REQUIRE(st.ok());
  }
  rig.time.advance(1s);
  auto st = c->tick(ignored = {});
  CHECK(st.code == Code::session_fatal);
  CHECK_THAT(st.message, Catch::Contains("reject_after_seconds"));
  CHECK(alice->value("keys_expired") == 1);
  auto sst = s->tick(ignored = {});
  CHECK(sst.code == Code::session_fatal);
}

TEST_CASE("session: a newer session of the same client replaces the older one", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c1 = Rig::session(*alice, Role::initiator, 1);
  auto s1 = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c1, *s1);
  HandshakeMessages out;
  REQUIRE(s1->tick(out).ok());
  rig.time.advance(1s);
  auto c2 = Rig::session(*alice, Role::initiator, 2);
  auto s2 = Rig::session(*rig.server, Role::responder, 2);
  connect(rig, *c2, *s2);
  CHECK(rig.server->value("client.alice.sessions") == 2);
  auto st = s1->tick(out);
  CHECK(st.code == Code::session_fatal);
  CHECK_THAT(st.message, Catch::Contains("replaced by a newer session of client 'alice'"));
  CHECK(s2->tick(out).ok());
  s1.reset();
  CHECK(rig.server->value("client.alice.sessions") == 1);
  CHECK(s2->tick(out).ok());  // the old session's end did not unregister the new one
  CHECK(rig.server->value("sessions_replaced") == 1);
}

TEST_CASE("session: the per-source handshake rate limit", "[cipher_noise][session]") {
  Rig rig(std::nullopt, 3);  // burst 3, then 1 per second
  auto alice = rig.client(rig.alice_key);
  std::vector<std::unique_ptr<NoiseSession>> keep;
  for (int i = 0; i < 3; ++i) {
    auto c = Rig::session(*alice, Role::initiator, 10 + i);
    auto s = Rig::session(*rig.server, Role::responder, 10 + i, "172.31.1.2");
    connect(rig, *c, *s);
    keep.push_back(std::move(s));
  }
  auto c = Rig::session(*alice, Role::initiator, 20);
  auto s = Rig::session(*rig.server, Role::responder, 20, "172.31.1.2");
  HandshakeMessages m1, out;
  REQUIRE(c->start(m1).ok());
  auto st = s->handshake(m1[0], out);
  // Over the limit: no DH, no refusal either, but a cookie reply (smaller
  // than the initiation); test_session_dos.cpp follows the cookie.
  CHECK(st.code == Code::again);
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == kCookieReplySize);
  CHECK(out[0].size() < m1[0].size());
  CHECK(rig.server->value("cookies_sent") == 1);
  CHECK(rig.server->value("handshake_failed") == 0);
  CHECK_FALSE(s->established());
  // Another source is not affected.
  auto c2 = Rig::session(*alice, Role::initiator, 21);
  auto s2 = Rig::session(*rig.server, Role::responder, 21, "172.31.2.2");
  connect(rig, *c2, *s2);
  // A second later the first source has a token again.
  rig.time.advance(1s);
  auto c3 = Rig::session(*alice, Role::initiator, 22);
  auto s3 = Rig::session(*rig.server, Role::responder, 22, "172.31.1.2");
  connect(rig, *c3, *s3);
}

TEST_CASE("session: a rekey with another client's key is dropped, the session goes on", "[cipher_noise][session]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto bob = rig.client(rig.bob_key);
  auto c = Rig::session(*alice, Role::initiator, 1);
  auto s = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c, *s);
  auto b = Rig::session(*bob, Role::initiator, 2);
  HandshakeMessages m1, out;
  REQUIRE(b->start(m1).ok());
  CHECK(s->handshake(m1[0], out).code == Code::again);
  CHECK(out.empty());
  CHECK(rig.server->value("wrong_client_key") == 1);
  CHECK(s->tick(out).ok());
  CHECK(roundtrip(rig, *c, *s, text_bytes("alive")) == text_bytes("alive"));
}

namespace cipher_noise {
struct KeypairTestAccess {
  static void set_sent(Keypair& k, std::uint64_t n) { k.send_counter_ = n; }
  static const std::uint8_t* send_key(const Keypair& k) { return k.send_.data(); }
  static const std::uint8_t* recv_key(const Keypair& k) { return k.recv_.data(); }
};
}  // namespace cipher_noise

TEST_CASE("session: a rekey after 2^60 frames, and no frame past the counter limit", "[cipher_noise][session][rekey]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator);
  auto s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  HandshakeMessages out;
  cipher_noise::KeypairTestAccess::set_sent(*c->current_keys(), kRekeyAfterMessages - 1);
  REQUIRE(c->tick(out).ok());
  CHECK(out.empty());
  auto p = rig.packet(text_bytes("frame 2^60 - 1"));
  REQUIRE(c->seal(*p).ok());
  CHECK(load_le64(reinterpret_cast<const std::uint8_t*>(p->data()) + 1) == kRekeyAfterMessages - 1);
  REQUIRE(s->open(*p).ok());  // the server's window jumps there: fine, it is ahead
  REQUIRE(c->tick(out).ok());  // 2^60 frames sealed: rekey now, long before 120 s
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == kInitiationSize);

  // The server side of the same limit: at 2^64 - 2^13 - 1 nothing is sealed.
  cipher_noise::KeypairTestAccess::set_sent(*s->current_keys(), ReplayWindow::kLimit);
  auto q = rig.packet(text_bytes("one too many"));
  const std::size_t before = q->size();
  auto st = s->seal(*q);
  CHECK(st.code == Code::session_fatal);
  CHECK(q->size() == before);
}

// Where the key material of a session lives (vpnsdk/secret.hpp): the static
// key and the psk, a running handshake's hash, and every key pair, in
// locked pages left out of core dumps; an expired key pair is wiped.
TEST_CASE("session: keys live in locked memory left out of core dumps, and are wiped when dropped",
          "[cipher_noise][session][locked]") {
  Rig rig(generate_keypair().priv);  // any 32 random bytes make a psk
  auto alice = rig.client(rig.alice_key, std::nullopt, rig.server->ctx->cfg.psk->clone());
  std::unique_ptr<NoiseSession> c = Rig::session(*alice, Role::initiator), s = Rig::session(*rig.server, Role::responder);
  connect(rig, *c, *s);
  std::vector<std::pair<std::string, const std::uint8_t*>> where = {
      {"server static key", rig.server->ctx->cfg.self.priv.data()},
      {"client static key", alice->ctx->cfg.self.priv.data()},
      {"psk", rig.server->ctx->cfg.psk->data()},
      {"client send key", cipher_noise::KeypairTestAccess::send_key(*c->current_keys())},
      {"client receive key", cipher_noise::KeypairTestAccess::recv_key(*c->current_keys())},
      {"server send key", cipher_noise::KeypairTestAccess::send_key(*s->current_keys())},
      {"server receive key", cipher_noise::KeypairTestAccess::recv_key(*s->current_keys())},
  };
  HandshakeConfig hc;
  hc.pattern = &pattern_ik();
  hc.initiator = false;
  hc.s = rig.server_key.clone();
  const HandshakeState hs(std::move(hc));
  where.emplace_back("handshake hash", hs.handshake_hash().data());
  for (const auto& [what, p] : where) {
    INFO(what);
    const auto f = vpnsdk::testkit::mapping_flags(p);
    CHECK(f.found);
    CHECK(f.locked);
    CHECK(f.no_dump);
  }
  // Keys that reach reject_after are dropped: their slot reads zero.
  const std::uint8_t* send = cipher_noise::KeypairTestAccess::send_key(*c->current_keys());
  rig.time.advance(181s);
  HandshakeMessages out;
  CHECK(c->tick(out).code == Code::session_fatal);
  CHECK(c->current_keys() == nullptr);
  CHECK(std::all_of(send, send + kKeyLen, [](std::uint8_t b) { return b == 0; }));
}
