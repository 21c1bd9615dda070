// The server's stateless address proof (protocol.md section 11.7): the
// cookie MAC itself (cookie.cpp, compiled into this test), the source keys
// and buckets, and both ends of the round trip - a server never opens a
// session (nor spends a token, nor sends more bytes than it got) for a
// source that has not echoed its cookie; a client carries the cookie field
// and resends at once with the cookie it was given.
#include <catch2/catch.hpp>

#include "../../../plugins/transport_udp/cookie.cpp"
#include "rig.hpp"

using namespace udptest;
using transport_udp::CookieJar;
using transport_udp::Peer;
using transport_udp::SourceBuckets;
using transport_udp::source_key;

namespace {

constexpr std::uint8_t HELLO = 1, WELCOME = 2, DATA = 3, KEEPALIVE = 4;

Peer peer(const char* address, std::uint16_t port) {
  return Peer::from(udp::endpoint(boost::asio::ip::make_address(address), port));
}

// A time point at the start of a cookie slot well after now (the jar only moves forward).
CookieJar::Clock::time_point slot_start() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(CookieJar::Clock::now().time_since_epoch()).count();
  return CookieJar::Clock::time_point(std::chrono::seconds((now / 30 + 1000) * 30));
}

struct Server {
  explicit Server(Rig& rig, std::map<std::string, vpnsdk::OptionValue> more = {})
      : port(free_port()), s(rig.server(port, std::move(more))) {
    REQUIRE(s.plugin != nullptr);
    REQUIRE(s.start().ok());
  }
  std::uint16_t port;
  Instance& s;
};

// Sends `d` from `p` and waits for the COOKIE it brings; returns its cookie.
Bytes ask_cookie(Rig& rig, Server& srv, RawPeer& p, const Bytes& d) {
  const std::size_t before = p.got.size();
  p.send_to(d, srv.port);
  REQUIRE(rig.run_until([&] { return p.got.size() > before; }));
  const Bytes c = cookie_of(p.got.back());
  REQUIRE(c.size() == 16);
  return c;
}

const Bytes kZero(16, std::byte{0});

}  // namespace

TEST_CASE("cookie: stateless, bound to the source address and port, two slots long", "[transport_udp][cookie]") {
  CookieJar jar;
  const auto t0 = slot_start();
  const Peer a = peer("192.0.2.7", 40000);
  const auto c = jar.make(a, t0);
  CHECK(jar.check(a, c, t0));
  CHECK(jar.check(a, c, t0 + std::chrono::seconds(29)));  // the same slot
  CHECK(jar.check(a, c, t0 + std::chrono::seconds(59)));  // the next slot: the previous one is accepted
  CHECK_FALSE(jar.check(a, c, t0 + std::chrono::seconds(60)));  // two slots on: expired
  const auto t1 = t0 + std::chrono::seconds(300);
  const auto d = jar.make(a, t1);
  CHECK(d != c);  // a new slot, a new secret
  CHECK_FALSE(jar.check(peer("192.0.2.7", 40001), d, t1));      // another port
  CHECK_FALSE(jar.check(peer("192.0.2.8", 40000), d, t1));      // another address
  CHECK_FALSE(jar.check(peer("2001:db8::7", 40000), d, t1));    // another family
  CHECK(jar.check(peer("::ffff:192.0.2.7", 40000), d, t1));     // IPv4-mapped is the same source
  auto bad = d;
  bad[5] ^= std::byte{1};
  CHECK_FALSE(jar.check(a, bad, t1));
  CHECK_FALSE(jar.check(a, std::span<const std::byte>(d.data(), 15), t1));
  // Stateless and secret: another jar (another server, a restart) knows nothing of it.
  CookieJar other;
  CHECK_FALSE(other.check(a, d, t1));
  // Nothing per source is kept: many sources, the same jar, every cookie checks.
  for (std::uint16_t port = 1; port < 500; ++port) {
    const Peer p = peer("198.51.100.1", port);
    CHECK(jar.check(p, jar.make(p, t1), t1));
  }
}

TEST_CASE("cookie: the MAC of protocol.md 11.7 (BLAKE2b-128 keyed, over slot, family, address, port)",
          "[transport_udp][cookie]") {
  std::array<unsigned char, 32> secret{};
  for (unsigned i = 0; i < 32; ++i) secret[i] = static_cast<unsigned char>(i);
  // The example of protocol.md 11.7 (also: Python's hashlib.blake2b(m, digest_size=16, key=secret)).
  const auto c = CookieJar::mac(secret, 59164200, peer("172.31.1.2", 40000));
  const Bytes want{std::byte{0x9f}, std::byte{0x47}, std::byte{0x80}, std::byte{0x72}, std::byte{0xbf}, std::byte{0xc7},
                   std::byte{0xe4}, std::byte{0xd6}, std::byte{0x6e}, std::byte{0xf1}, std::byte{0xea}, std::byte{0x13},
                   std::byte{0x92}, std::byte{0xf0}, std::byte{0xa0}, std::byte{0x79}};
  CHECK(Bytes(c.begin(), c.end()) == want);
  CHECK(CookieJar::mac(secret, 59164200, peer("::ffff:172.31.1.2", 40000)) == c);  // IPv4-mapped = IPv4
}

TEST_CASE("source keys (an IPv4 address, an IPv6 /64) and buckets per source", "[transport_udp][cookie]") {
  CHECK(source_key(peer("192.0.2.7", 1)) == source_key(peer("192.0.2.7", 2)));
  CHECK(source_key(peer("192.0.2.7", 1)) == source_key(peer("::ffff:192.0.2.7", 2)));
  CHECK_FALSE(source_key(peer("192.0.2.7", 1)) == source_key(peer("192.0.2.8", 1)));
  CHECK(source_key(peer("2001:db8:1:2::1", 1)) == source_key(peer("2001:db8:1:2:ffff:1:2:3", 9)));
  CHECK_FALSE(source_key(peer("2001:db8:1:2::1", 1)) == source_key(peer("2001:db8:1:3::1", 1)));

  SourceBuckets b(3);
  const auto t = SourceBuckets::Clock::now();
  const auto a = source_key(peer("192.0.2.7", 1)), c = source_key(peer("192.0.2.9", 1));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(b.ready(a, t));
    b.take(a);
  }
  CHECK_FALSE(b.ready(a, t));                                 // burst spent
  CHECK(b.ready(c, t));                                       // another source has its own
  CHECK(b.ready(a, t + std::chrono::milliseconds(400)));      // 3/s: one token back after 1/3 s
}

TEST_CASE("a HELLO without a cookie gets a COOKIE no larger than itself, and opens nothing",
          "[transport_udp][cookie][server]") {
  Rig rig;
  Server srv(rig, {{"new_sessions_per_second", std::int64_t{1}}});
  RawPeer a(rig.io());
  // The stock client's first datagram: the cookie field, zero.
  const Bytes first = encode_with_cookie(HELLO, pattern(12, 1), 0, kZero);
  const Bytes cookie = ask_cookie(rig, srv, a, first);
  CHECK(a.got.back().size() == 20);
  CHECK(a.got.back().size() <= first.size());
  // An old-format HELLO (flags 1, 20 bytes) gets one too: exactly its size.
  const Bytes old = encode_indexed(HELLO, pattern(12, 1), 0);
  REQUIRE(old.size() == 20);
  const Bytes cookie2 = ask_cookie(rig, srv, a, old);
  CHECK(cookie2 == cookie);  // stateless: the same source, the same slot, the same cookie
  // Many cookie-less HELLOs from many ports: no session, no token spent
  // (the bucket holds one: the proven client below still gets it).
  std::vector<std::unique_ptr<RawPeer>> flood;
  for (int i = 0; i < 40; ++i) {
    flood.push_back(std::make_unique<RawPeer>(rig.io()));
    flood.back()->send_to(first, srv.port);
  }
  REQUIRE(rig.run_until([&] { return srv.s.counter("cookies_sent") == 42; }));
  CHECK(srv.s.sink.opened_.empty());
  CHECK(srv.s.counter("sessions_opened") == 0);
  CHECK(srv.s.counter("sessions_refused") == 0);
  CHECK(srv.s.counter("frames_in") == 0);
  // Every answer no larger than its request.
  for (auto& f : flood) {
    REQUIRE(rig.run_until([&] { return f->got.size() == 1; }));
    CHECK(f->got[0].size() <= first.size());
  }
  // With the cookie: the session opens, the host sees the HELLO as sent (no cookie field).
  a.send_to(encode_with_cookie(HELLO, pattern(12, 1), 0, cookie), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  CHECK(srv.s.sink.opened_.size() == 1);
  CHECK(srv.s.sink.frames_[0].type == HELLO);
  CHECK(srv.s.sink.frames_[0].body == pattern(12, 1));
  CHECK(srv.s.counter("cookies_valid") == 1);
  // The answer (and every datagram after) goes to the proven address, with the index as before.
  REQUIRE(srv.s.send(srv.s.session(), WELCOME, pattern(24, 2)).ok());
  REQUIRE(rig.run_until([&] { return a.count_type(WELCOME) == 1; }));
  CHECK(index_of(a.got.back()) != 0);
  // A copy of the HELLO with the cookie is a duplicate (the cookie field is not part of the frame).
  a.send_to(encode_with_cookie(HELLO, pattern(12, 1), 0, cookie), srv.port);
  a.send_to(old, srv.port);
  REQUIRE(rig.run_until([&] { return a.count_type(WELCOME) == 3; }));
  CHECK(srv.s.sink.frames_.size() == 1);
  CHECK(srv.s.sink.violations.empty());
}

TEST_CASE("a request smaller than a COOKIE is dropped unanswered", "[transport_udp][cookie][server]") {
  Rig rig;
  Server srv(rig, {{"open_on", std::vector<std::string>{"any"}}});
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);             // 16 bytes (no index, no field)
  a.send_to(encode(KEEPALIVE, {}), srv.port);                     // 4 bytes
  a.send_to(encode_indexed(KEEPALIVE, {}, 0), srv.port);          // 8 bytes
  a.send_to(encode_indexed(DATA, pattern(11, 1), 0), srv.port);   // 19 bytes
  REQUIRE(rig.run_until([&] { return srv.s.counter("cookie_requests_small") == 4; }));
  a.send_to(encode_indexed(DATA, pattern(12, 1), 0), srv.port);   // 20 bytes: answered
  REQUIRE(rig.run_until([&] { return a.got.size() == 1; }));
  rig.run_for(50ms);
  CHECK(a.got.size() == 1);
  CHECK(a.got[0].size() == 20);
  CHECK(srv.s.counter("cookies_sent") == 1);
  CHECK(srv.s.sink.opened_.empty());
}

TEST_CASE("a wrong, foreign or stale cookie opens nothing and gets a fresh COOKIE", "[transport_udp][cookie][server]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), b(rig.io());
  const Bytes ca = ask_cookie(rig, srv, a, encode_with_cookie(HELLO, pattern(12, 1), 0, kZero));
  Bytes wrong = ca;
  wrong[0] ^= std::byte{0x40};
  const Bytes again = ask_cookie(rig, srv, a, encode_with_cookie(HELLO, pattern(12, 1), 0, wrong));
  CHECK(again == ca);
  // a's cookie from b (another port): not b's.
  const Bytes cb = ask_cookie(rig, srv, b, encode_with_cookie(HELLO, pattern(12, 1), 0, ca));
  CHECK(cb != ca);
  CHECK(srv.s.counter("cookies_invalid") == 2);
  CHECK(srv.s.sink.opened_.empty());
  // b with its own cookie: opens.
  b.send_to(encode_with_cookie(HELLO, pattern(12, 1), 0, cb), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 1; }));
  CHECK(srv.s.sink.opened_[0].peer.port == b.port());
}

TEST_CASE("proven sources share the global bucket, each within its own (an IPv4 address)",
          "[transport_udp][cookie][server]") {
  Rig rig;
  Server srv(rig, {{"new_sessions_per_source", std::int64_t{2}}, {"new_sessions_per_second", std::int64_t{1000}}});
  std::vector<std::unique_ptr<RawPeer>> peers;
  auto prove_and_hello = [&](const char* address) {
    peers.push_back(std::make_unique<RawPeer>(rig.io(), address));
    RawPeer& p = *peers.back();
    const Bytes c = ask_cookie(rig, srv, p, encode_with_cookie(HELLO, pattern(12, 1), 0, kZero));
    p.send_to(encode_with_cookie(HELLO, pattern(12, 1), 0, c), srv.port);
  };
  for (int i = 0; i < 3; ++i) prove_and_hello("127.0.0.1");  // three ports of one address
  REQUIRE(rig.run_until([&] { return srv.s.counter("source_rate_limited") == 1; }));
  CHECK(srv.s.sink.opened_.size() == 2);
  prove_and_hello("127.0.0.2");  // another address: its own bucket
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 3; }));
  CHECK(srv.s.sink.opened_.back().peer.address == "127.0.0.2");
  CHECK(srv.s.counter("sessions_refused") == 1);
}

TEST_CASE("cookies = false: the old behaviour, a HELLO opens at once", "[transport_udp][cookie][server]") {
  Rig rig;
  Server srv(rig, {{"cookies", false}});
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 1; }));
  // A cookie field from a new client is simply skipped.
  RawPeer b(rig.io());
  b.send_to(encode_with_cookie(HELLO, pattern(12, 2), 0, kZero), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 2; }));
  CHECK(srv.s.sink.frames_[1].body == pattern(12, 2));
  CHECK(srv.s.counter("cookies_sent") == 0);
}

TEST_CASE("client: the cookie field until the server answers, an immediate resend with the cookie",
          "[transport_udp][cookie][client]") {
  Rig rig;
  RawPeer server(rig.io());
  Instance& c = rig.client(server.port(), {{"retransmit_ms", std::int64_t{2000}}});
  REQUIRE(c.plugin != nullptr);
  c.sink.on_opened = [&](const vpnsdk::SessionInfo& i) {
    std::vector<PacketPtr> v;
    v.push_back(c.frame(HELLO, pattern(12, 1)));
    c.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
  };
  REQUIRE(c.start().ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 1; }));
  CHECK(server.got[0] == encode_with_cookie(HELLO, pattern(12, 1), 0, kZero));
  const Bytes cookie = pattern(16, 9);
  Bytes reply{std::byte{0}, std::byte{16}, std::byte{COOKIE}, std::byte{0}};
  reply.insert(reply.end(), cookie.begin(), cookie.end());
  const auto asked = std::chrono::steady_clock::now();
  server.reply(reply);
  REQUIRE(rig.run_until([&] { return server.got.size() == 2; }, 1000ms));
  CHECK(std::chrono::steady_clock::now() - asked < 1000ms);  // at once, not after retransmit_ms
  CHECK(server.got[1] == encode_with_cookie(HELLO, pattern(12, 1), 0, cookie));
  CHECK(c.counter("cookies_received") == 1);
  CHECK(c.sink.frames_.empty());  // a COOKIE never reaches the host
  // The answer: from now on no cookie field.
  server.reply(encode_indexed(WELCOME, pattern(24, 2), 0x1234));
  REQUIRE(rig.run_until([&] { return c.sink.count_type(WELCOME) == 1; }));
  REQUIRE(c.send(c.session(), DATA, pattern(40, 3)).ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 3; }));
  CHECK(server.got[2] == encode_indexed(DATA, pattern(40, 3), 0x1234));
  CHECK(c.sink.violations.empty());
}

TEST_CASE("client and server: connected through the round trip, a lost COOKIE is asked for again",
          "[transport_udp][cookie]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& srv = rig.server(port);
  REQUIRE(srv.start().ok());
  srv.sink.on_received = [&](SessionId id, vpnsdk::Batch frames) {
    for (auto& f : frames)
      if (f && f->meta.frame_type == HELLO) {
        std::vector<PacketPtr> v;
        v.push_back(srv.frame(WELCOME, pattern(24, 1)));
        srv.t().send(id, vpnsdk::Batch(v.data(), v.size()));
      }
  };
  int cookies = 0;
  std::uint64_t up = 0, down = 0;
  Proxy proxy(rig.io(), port, [&](bool to_server, const Bytes& d) {
    (to_server ? up : down) += d.size();
    return !to_server && type_of(d) == COOKIE && ++cookies == 1 ? 0 : 1;  // the first COOKIE lost
  });
  Instance& c = rig.client(proxy.port(), {{"retransmit_ms", std::int64_t{100}}});
  c.sink.on_opened = [&](const vpnsdk::SessionInfo& i) {
    std::vector<PacketPtr> v;
    v.push_back(c.frame(HELLO, pattern(12, 1)));
    c.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
  };
  REQUIRE(c.start().ok());
  REQUIRE(rig.run_until([&] { return c.sink.count_type(WELCOME) == 1; }, 3000ms));
  CHECK(srv.sink.opened_.size() == 1);
  CHECK(srv.sink.count_type(HELLO) == 1);
  CHECK(srv.counter("cookies_sent") == 2);
  CHECK(c.counter("retransmits") == 1);     // the HELLO whose COOKIE was lost
  CHECK(c.counter("cookie_resends") == 1);
  CHECK(c.sink.violations.empty());
  CHECK(srv.sink.violations.empty());
}

TEST_CASE("listen = \"0.0.0.0\" / \"::\": replies (COOKIE and session) leave from the address the client sent to",
          "[transport_udp][pktinfo]") {
  for (const char* listen : {"0.0.0.0", "::"}) {
    INFO("listen " << listen);
    Rig rig;
    const std::uint16_t port = free_port();
    Instance& srv = rig.make({{"listen", std::string(listen)}, {"port", std::int64_t{port}}});
    REQUIRE(srv.plugin != nullptr);
    if (!srv.start().ok()) {
      WARN("SKIPPED: cannot listen on " << listen);
      continue;
    }
    // Every 127/8 address is local: the client talks to 127.0.0.3, which the
    // kernel would never pick as the source of a reply to 127.0.0.1.
    RawPeer a(rig.io());
    const udp::endpoint to(boost::asio::ip::make_address("127.0.0.3"), port);
    a.sock.send_to(boost::asio::buffer(encode_with_cookie(HELLO, pattern(12, 1), 0, kZero)), to);
    REQUIRE(rig.run_until([&] { return a.got.size() == 1; }));
    CHECK(a.last_from.address().to_string() == "127.0.0.3");
    const Bytes c = cookie_of(a.got[0]);
    REQUIRE(c.size() == 16);
    a.sock.send_to(boost::asio::buffer(encode_with_cookie(HELLO, pattern(12, 1), 0, c)), to);
    REQUIRE(rig.run_until([&] { return srv.sink.frames_.size() == 1; }));
    // Several datagrams at once (a GSO run where the kernel offers it): all from 127.0.0.3.
    std::vector<PacketPtr> v;
    for (int i = 0; i < 8; ++i) {
      v.push_back(srv.frame(DATA, pattern(100, i)));
    }
    REQUIRE(srv.send(srv.session(), v).ok());
    REQUIRE(rig.run_until([&] { return a.got.size() == 9; }));
    CHECK(a.last_from.address().to_string() == "127.0.0.3");
    CHECK(srv.counter("pktinfo_fallbacks") == 0);
  }
}

TEST_CASE("client: a COOKIE after the server seemed to answer brings the cookie field back",
          "[transport_udp][cookie][client]") {
  Rig rig;
  RawPeer server(rig.io());
  Instance& c = rig.client(server.port(), {{"retransmit_ms", std::int64_t{2000}}});
  REQUIRE(c.plugin != nullptr);
  c.sink.on_opened = [&](const vpnsdk::SessionInfo& i) {
    std::vector<PacketPtr> v;
    v.push_back(c.frame(HELLO, pattern(12, 1)));
    c.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
  };
  REQUIRE(c.start().ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 1; }));
  // Something that is not a COOKIE "from the server" (forged, or a server
  // that lost the session later): the client stops sending the field ...
  server.reply(encode_indexed(KEEPALIVE, {}, 0));
  REQUIRE(rig.run_until([&] { return c.sink.count_type(KEEPALIVE) == 1; }));
  REQUIRE(c.send(c.session(), KEEPALIVE, {}).ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 2; }));
  CHECK(server.got[1] == encode_indexed(KEEPALIVE, {}, 0));
  // ... until a COOKIE says the server has no session for it: the HELLO again
  // at once with the cookie, and the field on what follows.
  const Bytes cookie = pattern(16, 4);
  Bytes reply{std::byte{0}, std::byte{16}, std::byte{COOKIE}, std::byte{0}};
  reply.insert(reply.end(), cookie.begin(), cookie.end());
  server.reply(reply);
  REQUIRE(rig.run_until([&] { return server.got.size() == 3; }));
  CHECK(server.got[2] == encode_with_cookie(HELLO, pattern(12, 1), 0, cookie));
  REQUIRE(c.send(c.session(), KEEPALIVE, {}).ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 4; }));
  CHECK(server.got[3] == encode_with_cookie(KEEPALIVE, {}, 0, cookie));
}

TEST_CASE("IPv6: the round trip over ::1, the source's bucket is its /64", "[transport_udp][cookie][server]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& srv = rig.make({{"listen", std::string("::")}, {"port", std::int64_t{port}},
                            {"new_sessions_per_source", std::int64_t{1}}});
  REQUIRE(srv.plugin != nullptr);
  if (!srv.start().ok()) {
    WARN("SKIPPED: cannot listen on [::]");
    return;
  }
  std::unique_ptr<RawPeer> a, b;
  try {
    a = std::make_unique<RawPeer>(rig.io(), "::1");
    b = std::make_unique<RawPeer>(rig.io(), "::1");
  } catch (const std::exception& e) {
    WARN("SKIPPED: no ::1 here: " << e.what());
    return;
  }
  const udp::endpoint to(boost::asio::ip::make_address("::1"), port);
  auto prove = [&](RawPeer& p) {
    const std::size_t before = p.got.size();
    p.sock.send_to(boost::asio::buffer(encode_with_cookie(HELLO, pattern(12, 1), 0, kZero)), to);
    REQUIRE(rig.run_until([&] { return p.got.size() > before; }));
    const Bytes c = cookie_of(p.got.back());
    REQUIRE(c.size() == 16);
    CHECK(p.last_from.address().to_string() == "::1");
    p.sock.send_to(boost::asio::buffer(encode_with_cookie(HELLO, pattern(12, 1), 0, c)), to);
  };
  prove(*a);
  REQUIRE(rig.run_until([&] { return srv.sink.opened_.size() == 1; }));
  CHECK(srv.sink.opened_[0].peer.address == "::1");
  prove(*b);  // another port of the same /64: its bucket (1 a second) is spent
  REQUIRE(rig.run_until([&] { return srv.counter("source_rate_limited") == 1; }));
  CHECK(srv.sink.opened_.size() == 1);
}
