// Issue 15, cipher_noise side: nothing unauthenticated ends an established
// session or touches its keys; a new session takes a client key over only
// once a frame from the client opened with its keys (so a replay, or the
// right static key with another psk, takes nothing over); every refusal of
// a new session is the same; mac1 before any DH, cookie replies under load
// or over the per-source limit, mac2 bound to the address and port; rekeys
// spend the session's own allowance; IPv6 /64 buckets; rate-limited logs.
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include "session_rig.hpp"

using namespace noise_test;
using namespace std::chrono_literals;
using vpnsdk::Role;

namespace {

std::vector<std::byte> initiation_of(Side& who, vpnsdk::SessionId sid) {
  auto x = Rig::session(who, Role::initiator, sid);
  HandshakeMessages m;
  REQUIRE(x->start(m).ok());
  REQUIRE(m.size() == 1);
  return m[0];
}

View view_of(const std::vector<std::byte>& v) { return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size()}; }

}  // namespace

TEST_CASE("dos: nothing unauthenticated ends an established session or touches its keys", "[cipher_noise][dos]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto bob = rig.client(rig.bob_key);
  auto stranger = rig.client(rig.stranger_key);
  auto c = Rig::session(*alice, Role::initiator, 1);
  auto s = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c, *s);
  const Keypair* keys = s->current_keys();
  const auto id = keys->id();
  auto wrong_server = rig.client(rig.alice_key, generate_keypair().pub);
  std::vector<std::pair<std::string, std::vector<std::byte>>> attacks;
  attacks.emplace_back("bob's key", initiation_of(*bob, 2));
  attacks.emplace_back("an unknown key", initiation_of(*stranger, 3));
  attacks.emplace_back("garbage", std::vector<std::byte>(kInitiationSize, std::byte{0x41}));
  attacks.emplace_back("9 bytes", std::vector<std::byte>(9, std::byte{0}));
  attacks.emplace_back("another server key", initiation_of(*wrong_server, 4));
  for (const auto& [what, msg] : attacks) {
    INFO(what);
    HandshakeMessages out;
    auto st = s->handshake(msg, out);
    CHECK(st.code == Code::again);
    CHECK(out.empty());
    CHECK(s->established());
    CHECK(s->current_keys() == keys);
    CHECK(s->current_keys()->id() == id);
    CHECK(s->next_keys() == nullptr);
    CHECK(s->tick(out).ok());
    CHECK(roundtrip(rig, *c, *s, text_bytes("alive")) == text_bytes("alive"));
    CHECK(roundtrip(rig, *s, *c, text_bytes("alive")) == text_bytes("alive"));
  }
  CHECK(rig.server->value("wrong_client_key") == 1);
  CHECK(rig.server->value("unknown_client") == 1);
  CHECK(rig.server->value("ignored_on_session") == attacks.size());
  auto who = s->peer();
  REQUIRE(who);
  CHECK(who->name == "alice");
}

TEST_CASE("dos: every refusal of a new session is the same: session_fatal, nothing sent", "[cipher_noise][dos]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto stranger = rig.client(rig.stranger_key);
  auto c = Rig::session(*alice, Role::initiator, 1);
  auto s = Rig::session(*rig.server, Role::responder, 1);
  HandshakeMessages m1;
  REQUIRE(c->start(m1).ok());
  auto m2 = deliver(*s, m1);
  deliver(*c, m2);
  REQUIRE(first_frame(rig, *c, *s).ok());
  auto wrong_server = rig.client(rig.alice_key, generate_keypair().pub);
  auto no_psk_server = rig.client(rig.alice_key, std::nullopt, Key{});  // another psk setting: IKpsk2
  std::vector<std::pair<std::string, std::vector<std::byte>>> refusals;
  refusals.emplace_back("replay of alice's initiation", m1[0]);
  refusals.emplace_back("unknown key", initiation_of(*stranger, 2));
  refusals.emplace_back("garbage", std::vector<std::byte>(kInitiationSize, std::byte{0x41}));
  refusals.emplace_back("short", std::vector<std::byte>(20, std::byte{0}));
  refusals.emplace_back("another server key", initiation_of(*wrong_server, 3));
  refusals.emplace_back("another psk setting", initiation_of(*no_psk_server, 4));
  vpnsdk::SessionId sid = 10;
  for (const auto& [what, msg] : refusals) {
    INFO(what);
    auto fresh = Rig::session(*rig.server, Role::responder, sid, "172.31.7." + std::to_string(sid));
    ++sid;
    HandshakeMessages out;
    CHECK(fresh->handshake(msg, out).code == Code::session_fatal);
    CHECK(out.empty());
    CHECK_FALSE(fresh->established());
  }
  CHECK(rig.server->value("replayed_initiation") == 1);
  CHECK(rig.server->value("unknown_client") == 1);
  CHECK(rig.server->value("bad_mac1") == 2);
  CHECK(rig.server->value("handshake_failed") == 1);
  CHECK(rig.server->value("handshake_malformed") == 1);
}

TEST_CASE("dos: a new session takes the client key over only at its first frame", "[cipher_noise][dos]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c1 = Rig::session(*alice, Role::initiator, 1);
  auto s1 = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c1, *s1);
  rig.time.advance(1s);
  auto c2 = Rig::session(*alice, Role::initiator, 2);
  auto s2 = Rig::session(*rig.server, Role::responder, 2);
  handshake_only(*c2, *s2);
  HandshakeMessages out;
  CHECK(s1->tick(out).ok());  // answered is not enough
  CHECK(s2->tick(out).ok());
  CHECK_FALSE(s2->peer());
  CHECK(rig.server->value("client.alice.sessions") == 1);
  CHECK(rig.server->value("handshakes_completed") == 1);
  REQUIRE(first_frame(rig, *c2, *s2).ok());
  CHECK(s2->peer());
  CHECK(rig.server->value("handshakes_completed") == 2);
  CHECK(s1->tick(out).code == Code::session_fatal);
  CHECK(rig.server->value("sessions_replaced") == 1);
}

TEST_CASE("dos: a replay answered before the real session confirms takes nothing over", "[cipher_noise][dos]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  auto c1 = Rig::session(*alice, Role::initiator, 1);
  auto s1 = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c1, *s1);
  rig.time.advance(1s);
  // alice reconnects; an attacker replays her new initiation on another
  // connection before hers reaches the server.
  auto c2 = Rig::session(*alice, Role::initiator, 2);
  HandshakeMessages m1, out;
  REQUIRE(c2->start(m1).ok());
  auto evil = Rig::session(*rig.server, Role::responder, 7, "172.31.9.9");
  auto answered = deliver(*evil, m1);  // the server cannot tell yet
  CHECK(answered.size() == 1);
  CHECK_FALSE(evil->peer());
  CHECK(evil->tick(out).ok());
  CHECK(s1->tick(out).ok());  // alice's live session is still the one
  CHECK(rig.server->value("client.alice.sessions") == 1);
  // Her real connection completes and confirms; the replay never can.
  auto s2 = Rig::session(*rig.server, Role::responder, 2);
  auto m2 = deliver(*s2, m1);
  deliver(*c2, m2);
  REQUIRE(first_frame(rig, *c2, *s2).ok());
  CHECK(s1->tick(out).code == Code::session_fatal);  // replaced by her own new session
  CHECK(s2->tick(out).ok());
  evil.reset();
  CHECK(rig.server->value("unconfirmed_ended") == 1);
  CHECK(s2->tick(out).ok());
}

TEST_CASE("dos: the right static key with another psk does not replace the live session", "[cipher_noise][dos][psk]") {
  Key psk, wrong;
  randombytes_buf(psk.data(), psk.size());
  randombytes_buf(wrong.data(), wrong.size());
  Rig rig(psk.clone());
  auto alice = rig.client(rig.alice_key, std::nullopt, psk.clone());
  auto c1 = Rig::session(*alice, Role::initiator, 1);
  auto s1 = Rig::session(*rig.server, Role::responder, 1);
  connect(rig, *c1, *s1);
  // The thief has alice's static private key, not the psk, and a clock a
  // day ahead (an accepted future timestamp would lock alice out).
  FakeTime ahead;
  ahead.wall = rig.time.wall + 24h;
  auto thief = rig.client(rig.alice_key, std::nullopt, wrong.clone());
  thief->ctx->wall = [&ahead] { return ahead.wall; };
  auto t = Rig::session(*thief, Role::initiator, 2);
  auto s2 = Rig::session(*rig.server, Role::responder, 2, "172.31.6.6");
  HandshakeMessages m1, out;
  REQUIRE(t->start(m1).ok());
  auto m2 = deliver(*s2, m1);  // psk2: the server cannot know yet
  REQUIRE(m2.size() == 1);
  CHECK(t->handshake(m2[0], out).code == Code::session_fatal);  // the thief cannot read it
  Bytes junk(kFrameOverhead + 5, 0);  // a frame forged with what it has
  auto q = rig.packet(junk, vpnsdk::wire::FrameType::hello);
  CHECK(s2->open(*q).code == Code::drop_auth);
  CHECK_FALSE(s2->peer());
  CHECK(s1->tick(out).ok());  // alice's session is still the one for her key
  CHECK(s2->tick(out).ok());
  CHECK(rig.server->value("client.alice.sessions") == 1);
  CHECK(rig.server->value("sessions_replaced") == 0);
  CHECK(roundtrip(rig, *c1, *s1, text_bytes("alice")) == text_bytes("alice"));
  s2.reset();
  CHECK(rig.server->value("unconfirmed_ended") == 1);
  // alice still rekeys and reconnects: the thief's timestamp never counted.
  rig.time.advance(120s);
  REQUIRE(c1->tick(out = {}).ok());
  REQUIRE(out.size() == 1);
  auto resp = deliver(*s1, out);
  REQUIRE(resp.size() == 1);
  auto c3 = Rig::session(*alice, Role::initiator, 3);
  auto s3 = Rig::session(*rig.server, Role::responder, 3);
  connect(rig, *c3, *s3);
  CHECK(s1->tick(out = {}).code == Code::session_fatal);  // now replaced, by alice herself
}

TEST_CASE("dos: mac1 is checked before any DH, and a v1 initiation is refused by its size", "[cipher_noise][dos][cookie]") {
  Rig rig;
  auto alice = rig.client(rig.alice_key);
  const auto m1 = initiation_of(*alice, 1);
  REQUIRE(m1.size() == kInitiationSize);
  int n = 0;
  for (std::size_t at : {std::size_t{0}, std::size_t{40}, kInitiationNoiseSize - 1, kInitiationNoiseSize + 3}) {
    auto s = Rig::session(*rig.server, Role::responder, 2 + at, "172.31.1." + std::to_string(++n));
    auto bad = m1;
    bad[at] ^= std::byte{0x80};
    HandshakeMessages out;
    CHECK(s->handshake(bad, out).code == Code::session_fatal);
    CHECK(out.empty());
  }
  CHECK(rig.server->value("bad_mac1") == 4);
  CHECK(rig.server->value("handshake_failed") == 0);
  // mac2 is not covered by mac1: a flipped mac2 is just "no cookie".
  auto s = Rig::session(*rig.server, Role::responder, 90, "172.31.1.90");
  auto m2bad = m1;
  m2bad[kInitiationSize - 1] ^= std::byte{1};
  HandshakeMessages out;
  CHECK(s->handshake(m2bad, out).ok());
  // The 109-byte initiation of protocol v1 (no MACs) is refused by its size.
  auto v = Rig::session(*rig.server, Role::responder, 91, "172.31.1.91");
  std::vector<std::byte> v1(m1.begin(), m1.begin() + kInitiationNoiseSize);
  CHECK(v->handshake(v1, out = {}).code == Code::session_fatal);
  CHECK(out.empty());
  CHECK(rig.server->value("handshake_malformed") == 1);
}

TEST_CASE("dos: over the per-source limit a cookie reply, and the cookie gets the client in", "[cipher_noise][dos][cookie]") {
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
  const auto completed = rig.server->value("handshakes_completed");
  CHECK(s->handshake(m1[0], out).code == Code::again);  // no refusal, no DH: a cookie reply
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == kCookieReplySize);
  CHECK(out[0].size() < m1[0].size());  // never more bytes than asked
  CHECK(rig.server->value("cookies_sent") == 1);
  CHECK(rig.server->value("handshake_failed") == 0);
  CHECK_FALSE(s->established());
  // The client takes the cookie and sends the same initiation with mac2.
  HandshakeMessages again;
  REQUIRE(c->handshake(out[0], again).code == Code::again);  // sent again, not a message from the server
  REQUIRE(again.size() == 1);
  CHECK(again[0].size() == kInitiationSize);
  CHECK(alice->value("cookies_received") == 1);
  CHECK(bytes_of(again[0]) != bytes_of(m1[0]));
  CHECK(std::equal(m1[0].begin(), m1[0].end() - 16, again[0].begin()));  // only mac2 differs
  // A second cookie reply for the same initiation (a copy, or forged by
  // someone who saw its mac1) is kept but sends nothing: no reflection.
  HandshakeMessages none;
  CHECK(c->handshake(out[0], none).code == Code::again);
  CHECK(none.empty());
  CHECK(alice->value("cookies_received") == 2);
  auto resp = deliver(*s, again);
  REQUIRE(resp.size() == 1);
  CHECK(resp[0].size() == kResponseSize);
  CHECK(rig.server->value("mac2_valid") == 1);
  deliver(*c, resp);
  REQUIRE(c->established());
  REQUIRE(first_frame(rig, *c, *s).ok());
  CHECK(rig.server->value("handshakes_completed") == completed + 1);
}

TEST_CASE("dos: forged initiations from a victim's address do not lock the victim out", "[cipher_noise][dos][cookie]") {
  Rig rig(std::nullopt, 3);
  // An attacker who knows the server's public key (so mac1 is right) sends
  // initiations with the victim's source address; it never sees replies.
  auto stranger = rig.client(rig.stranger_key);
  for (int i = 0; i < 50; ++i) {
    auto s = Rig::session(*rig.server, Role::responder, 100 + i, "172.31.1.2");
    HandshakeMessages out;
    (void)s->handshake(initiation_of(*stranger, 100 + i), out);
  }
  CHECK(rig.server->value("unknown_client") == 3);  // the bucket: 3 DH, then cookie replies only
  CHECK(rig.server->value("cookies_sent") == 47);
  // The victim, at that address, gets a cookie and is in with it.
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator, 1);
  auto s = Rig::session(*rig.server, Role::responder, 1, "172.31.1.2");
  HandshakeMessages m1, out, m2;
  REQUIRE(c->start(m1).ok());
  REQUIRE(s->handshake(m1[0], out).code == Code::again);
  REQUIRE(out.size() == 1);
  REQUIRE(c->handshake(out[0], m2).code == Code::again);
  auto resp = deliver(*s, m2);
  REQUIRE(resp.size() == 1);
  deliver(*c, resp);
  CHECK(first_frame(rig, *c, *s).ok());
}

TEST_CASE("dos: a cookie is bound to the address and port, the initiation's mac1, and 120 s", "[cipher_noise][dos][cookie]") {
  Rig rig(std::nullopt, 1);
  auto alice = rig.client(rig.alice_key);
  auto c0 = Rig::session(*alice, Role::initiator, 1);
  auto s0 = Rig::session(*rig.server, Role::responder, 1, "172.31.1.2");
  connect(rig, *c0, *s0);  // the source's one token
  auto c = Rig::session(*alice, Role::initiator, 2);
  auto s = Rig::session(*rig.server, Role::responder, 2, "172.31.1.2");
  HandshakeMessages m1, out;
  REQUIRE(c->start(m1).ok());
  REQUIRE(s->handshake(m1[0], out).code == Code::again);
  REQUIRE(out.size() == 1);
  // A reply for another initiation (another mac1) does not decrypt.
  auto other = Rig::session(*alice, Role::initiator, 3);
  HandshakeMessages mo, ignored;
  REQUIRE(other->start(mo).ok());
  CHECK(other->handshake(out[0], ignored).code == Code::again);
  CHECK(ignored.empty());
  CHECK(alice->value("bad_cookie_reply") == 1);
  // A flipped bit: does not decrypt either.
  auto bad = out[0];
  bad[30] ^= std::byte{1};
  CHECK(c->handshake(bad, ignored).code == Code::again);
  CHECK(ignored.empty());
  CHECK(alice->value("bad_cookie_reply") == 2);
  // The right one. The initiation with mac2 is proven from this address
  // and port only.
  HandshakeMessages with_cookie;
  REQUIRE(c->handshake(out[0], with_cookie).code == Code::again);
  REQUIRE(with_cookie.size() == 1);
  auto elsewhere = Rig::session(*rig.server, Role::responder, 4, "172.31.5.5");
  HandshakeMessages r;
  (void)elsewhere->handshake(with_cookie[0], r);
  CHECK(rig.server->value("mac2_valid") == 0);
  vpnsdk::SessionInfo info;
  info.id = 5;
  info.role = Role::responder;
  info.peer = {"172.31.1.2", 40001};  // same address, another port
  NoiseSession other_port(rig.server->ctx, info);
  CHECK(other_port.handshake(with_cookie[0], r = {}).code == Code::again);  // a cookie reply again
  REQUIRE(r.size() == 1);
  CHECK(r[0].size() == kCookieReplySize);
  CHECK(rig.server->value("mac2_valid") == 0);
  auto resp = deliver(*s, with_cookie);
  CHECK(rig.server->value("mac2_valid") == 1);
  REQUIRE(resp.size() == 1);
  // After the secret's lifetime (120 s) the same mac2 no longer counts.
  const Bytes src = source_bytes("172.31.1.2", 40000);
  CHECK(rig.server->ctx->cookies->mac2_ok(view_of(with_cookie[0]), src, rig.time.steady));
  rig.time.advance(121s);
  CHECK_FALSE(rig.server->ctx->cookies->mac2_ok(view_of(with_cookie[0]), src, rig.time.steady));
}

TEST_CASE("dos: under load an initiation without a cookie costs no DH", "[cipher_noise][dos][cookie]") {
  Rig rig;
  rig.server->ctx->load.set_threshold(2);
  auto alice = rig.client(rig.alice_key);
  std::vector<std::unique_ptr<NoiseSession>> keep;
  for (int i = 0; i < 2; ++i) {
    auto c = Rig::session(*alice, Role::initiator, 10 + i);
    auto s = Rig::session(*rig.server, Role::responder, 10 + i, "172.31.1." + std::to_string(10 + i));
    connect(rig, *c, *s);
    keep.push_back(std::move(s));
  }
  // The third initiation in the same second, from a fresh source: a cookie.
  auto c = Rig::session(*alice, Role::initiator, 20);
  auto s = Rig::session(*rig.server, Role::responder, 20, "172.31.1.20");
  HandshakeMessages m1, out, m2;
  REQUIRE(c->start(m1).ok());
  CHECK(s->handshake(m1[0], out).code == Code::again);
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == kCookieReplySize);
  // With the cookie it bypasses the load shedding.
  REQUIRE(c->handshake(out[0], m2).code == Code::again);
  auto resp = deliver(*s, m2);
  REQUIRE(resp.size() == 1);
  CHECK(resp[0].size() == kResponseSize);
  // Two quiet seconds later the load is gone: no cookie needed.
  rig.time.advance(2s);
  auto c3 = Rig::session(*alice, Role::initiator, 30);
  auto s3 = Rig::session(*rig.server, Role::responder, 30, "172.31.1.30");
  connect(rig, *c3, *s3);
}

TEST_CASE("dos: rekeys spend the session's own allowance, not its source's bucket", "[cipher_noise][dos][cookie][rekey]") {
  Rig rig(std::nullopt, 2);  // burst 2, 1 per second
  auto alice = rig.client(rig.alice_key);
  auto stranger = rig.client(rig.stranger_key);
  auto c = Rig::session(*alice, Role::initiator, 1);
  auto s = Rig::session(*rig.server, Role::responder, 1, "172.31.1.2");
  connect(rig, *c, *s);
  rig.time.advance(120s);
  // Someone keeps the source's new-session bucket empty (forging the address).
  for (int i = 0; i < 5; ++i) {
    auto xs = Rig::session(*rig.server, Role::responder, 50 + i, "172.31.1.2");
    HandshakeMessages o;
    (void)xs->handshake(initiation_of(*stranger, 50 + i), o);
  }
  const auto cookies = rig.server->value("cookies_sent");
  CHECK(cookies == 3);
  // alice's rekey is answered from the session's allowance.
  HandshakeMessages out;
  REQUIRE(c->tick(out).ok());
  REQUIRE(out.size() == 1);
  auto resp = deliver(*s, out);
  REQUIRE(resp.size() == 1);
  CHECK(resp[0].size() == kResponseSize);
  auto confirm = deliver(*c, resp);
  deliver(*s, confirm);
  CHECK(s->current_keys()->id() == 1);
  // Initiations forged onto the session (its address, its index) spend only
  // that session's allowance, then get cookie replies (which go to the
  // session's endpoint: to alice, who can use them).
  for (int i = 0; i < 5; ++i) {
    HandshakeMessages o;
    CHECK(s->handshake(initiation_of(*stranger, 70 + i), o).code == Code::again);
  }
  CHECK(rig.server->value("cookies_sent") > cookies);
  CHECK(s->current_keys()->id() == 1);
  // 120 s later alice rekeys again, right after another such burst has
  // used the session's allowance up: her initiation gets a cookie reply,
  // and her initiation with the cookie is answered.
  rig.time.advance(120s);
  HandshakeMessages ignored;
  for (int i = 0; i < 4; ++i) (void)s->handshake(initiation_of(*stranger, 90 + i), ignored = {});
  REQUIRE(c->tick(out = {}).ok());
  REQUIRE(out.size() == 1);
  auto cookie = deliver(*s, out, Code::again);
  REQUIRE(cookie.size() == 1);
  REQUIRE(cookie[0].size() == kCookieReplySize);
  auto with_mac2 = deliver(*c, cookie, Code::again);
  REQUIRE(with_mac2.size() == 1);
  resp = deliver(*s, with_mac2);
  REQUIRE(resp.size() == 1);
  confirm = deliver(*c, resp);
  deliver(*s, confirm);
  CHECK(s->current_keys()->id() == 2);
  CHECK(roundtrip(rig, *c, *s, text_bytes("after")) == text_bytes("after"));
}

TEST_CASE("dos: IPv6 sources share one bucket per /64", "[cipher_noise][dos][cookie]") {
  CHECK(source_bucket("172.31.1.2") == "172.31.1.2");
  CHECK(source_bucket("2001:db8:1:2:a:b:c:d") == "2001:db8:1:2::/64");
  CHECK(source_bucket("2001:db8:1:2::99") == "2001:db8:1:2::/64");
  CHECK(source_bucket("2001:db8:1:3::1") == "2001:db8:1:3::/64");
  CHECK(source_bucket("::ffff:192.0.2.7") == "192.0.2.7");
  Rig rig(std::nullopt, 2);
  auto alice = rig.client(rig.alice_key);
  std::vector<std::unique_ptr<NoiseSession>> keep;
  for (int i = 0; i < 2; ++i) {
    auto c = Rig::session(*alice, Role::initiator, 10 + i);
    auto s = Rig::session(*rig.server, Role::responder, 10 + i, "2001:db8:1:2::" + std::to_string(i + 1));
    connect(rig, *c, *s);
    keep.push_back(std::move(s));
  }
  auto c = Rig::session(*alice, Role::initiator, 20);
  auto s = Rig::session(*rig.server, Role::responder, 20, "2001:db8:1:2:ffff::7");
  HandshakeMessages m1, out;
  REQUIRE(c->start(m1).ok());
  CHECK(s->handshake(m1[0], out).code == Code::again);  // the /64's bucket is empty: a cookie
  REQUIRE(out.size() == 1);
  CHECK(out[0].size() == kCookieReplySize);
  auto c2 = Rig::session(*alice, Role::initiator, 21);
  auto s2 = Rig::session(*rig.server, Role::responder, 21, "2001:db8:1:3::1");
  connect(rig, *c2, *s2);  // the next /64 is not affected
}

TEST_CASE("dos: log lines from unauthenticated input are rate-limited, at debug", "[cipher_noise][dos][log]") {
  Rig rig;
  rig.server->ctx->load.set_threshold(1e9);
  std::ostringstream text;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
  auto log = std::make_shared<spdlog::logger>("cipher_noise", sink);
  log->set_level(spdlog::level::debug);
  log->set_pattern("%l %v");
  rig.server->ctx->log = log;
  auto stranger = rig.client(rig.stranger_key);
  auto alice = rig.client(rig.alice_key);
  auto c = Rig::session(*alice, Role::initiator, 1);
  auto s = Rig::session(*rig.server, Role::responder, 1);
  HandshakeMessages m1;
  REQUIRE(c->start(m1).ok());
  auto m2 = deliver(*s, m1);
  deliver(*c, m2);
  REQUIRE(first_frame(rig, *c, *s).ok());
  text.str("");
  // 600 unknown-key initiations, replays and garbage within 0.6 s.
  for (int i = 0; i < 600; ++i) {
    auto s2 = Rig::session(*rig.server, Role::responder, 100 + i,
                           "172.31." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1));
    HandshakeMessages out;
    if (i % 3 == 0)
      (void)s2->handshake(initiation_of(*stranger, 100 + i), out);
    else if (i % 3 == 1)
      (void)s2->handshake(m1[0], out);  // a replay
    else
      (void)s2->handshake(std::vector<std::byte>(kInitiationSize, std::byte{7}), out);
    rig.time.advance(1ms);
  }
  rig.time.advance(1s);
  {
    auto s3 = Rig::session(*rig.server, Role::responder, 5000, "172.31.99.1");
    HandshakeMessages out;
    (void)s3->handshake(std::vector<std::byte>(kInitiationSize, std::byte{7}), out);
  }
  const std::string all = text.str();
  std::size_t lines = 0, info = 0;
  for (std::size_t at = 0; (at = all.find('\n', at)) != std::string::npos; ++at) ++lines;
  for (std::size_t at = 0; (at = all.find("info ", at)) != std::string::npos; ++at) ++info;
  INFO(all.substr(0, 3000));
  CHECK(info == 0);
  CHECK(lines <= 10 + 2);  // 10 in the first second, a summary, the next line
  CHECK(lines >= 10);
  CHECK_THAT(all, Catch::Contains("suppressed"));
  CHECK(rig.server->value("log_suppressed") >= 590);
  CHECK(rig.server->value("unknown_client") == 200);
  CHECK(rig.server->value("replayed_initiation") == 200);
}
