// Connect mode against a raw UDP "server": opened() after start(), HELLO and
// HANDSHAKE retransmission with backoff, duplicates and early DATA dropped,
// ICMP port unreachable, reconnect(), close(), NAT keepalives.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace udptest;

namespace {

constexpr std::uint8_t HELLO = 1, WELCOME = 2, DATA = 3, KEEPALIVE = 4, BYE = 5, HANDSHAKE = 7;

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// A client whose "host" sends `first` (type, body) as soon as the session
// opens. Without the cookie field (cookies = false): the raw servers here
// check the datagrams byte for byte; test_cookie.cpp tests the field.
std::map<std::string, vpnsdk::OptionValue> no_cookies(std::map<std::string, vpnsdk::OptionValue> more) {
  more.try_emplace("cookies", false);
  return more;
}
struct Client {
  Client(Rig& rig, std::uint16_t port, std::map<std::string, vpnsdk::OptionValue> more = {})
      : c(rig.client(port, no_cookies(std::move(more)))) {
    REQUIRE(c.plugin != nullptr);
  }
  void says_on_open(std::uint8_t type, Bytes body) {
    c.sink.on_opened = [this, type, body](const vpnsdk::SessionInfo& i) {
      std::vector<PacketPtr> v;
      v.push_back(c.frame(type, body));
      c.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
    };
  }
  Instance& c;
};

}  // namespace

TEST_CASE("the client opens its session after start() returns, as initiator", "[transport_udp][client]") {
  Rig rig;
  RawPeer server(rig.io());
  Client cl(rig, server.port());
  REQUIRE(cl.c.start().ok());
  CHECK(cl.c.sink.opened_.empty());
  REQUIRE(rig.run_until([&] { return !cl.c.sink.opened_.empty(); }));
  const auto& info = cl.c.sink.opened_.front();
  CHECK(info.role == vpnsdk::Role::initiator);
  CHECK(info.peer.address == "127.0.0.1");
  CHECK(info.peer.port == server.port());
  CHECK(info.id != 0);
  CHECK(cl.c.sink.violations.empty());
  CHECK(cl.c.reconnect().code == Code::refused);  // connected already
}

TEST_CASE("an unanswered HELLO is sent again with backoff until WELCOME", "[transport_udp][client][loss]") {
  Rig rig;
  RawPeer server(rig.io());
  Client cl(rig, server.port(), {{"retransmit_ms", std::int64_t{100}}});
  const Bytes hello = pattern(12, 1);
  cl.says_on_open(HELLO, hello);
  REQUIRE(cl.c.start().ok());
  // The first HELLO and three retransmissions: after 100, 200 and 400 ms.
  REQUIRE(rig.run_until([&] { return server.got.size() == 4; }, 3000ms));
  // Index 0: the client does not know its session's index yet.
  for (const auto& d : server.got) CHECK(d == encode_indexed(HELLO, hello, 0));
  const double g1 = ms_between(server.when[0], server.when[1]), g2 = ms_between(server.when[1], server.when[2]),
               g3 = ms_between(server.when[2], server.when[3]);
  INFO("gaps " << g1 << " " << g2 << " " << g3 << " ms");
  CHECK(g1 >= 90);
  CHECK(g2 >= 190);
  CHECK(g3 >= 390);
  CHECK(g2 > g1);
  CHECK(cl.c.counter("retransmits") == 3);
  // WELCOME answers it: no more HELLOs.
  server.reply(encode(WELCOME, pattern(24, 2)));
  REQUIRE(rig.run_until([&] { return cl.c.sink.count_type(WELCOME) == 1; }));
  const auto n = server.got.size();
  rig.run_for(1000ms);
  CHECK(server.got.size() == n);
  // A duplicate WELCOME is dropped, never a second one for the host.
  server.reply(encode(WELCOME, pattern(24, 2)));
  server.reply(encode(DATA, pattern(30, 3)));
  REQUIRE(rig.run_until([&] { return cl.c.sink.count_type(DATA) == 1; }));
  CHECK(cl.c.sink.count_type(WELCOME) == 1);
  CHECK(cl.c.counter("duplicates") == 1);
}

TEST_CASE("retransmissions stop after retransmit_attempts, 0 ms turns them off", "[transport_udp][client][loss]") {
  Rig rig;
  RawPeer server(rig.io());
  SECTION("attempts") {
    Client cl(rig, server.port(), {{"retransmit_ms", std::int64_t{20}}, {"retransmit_attempts", std::int64_t{3}}});
    cl.says_on_open(HELLO, pattern(12, 1));
    REQUIRE(cl.c.start().ok());
    rig.run_for(800ms);
    CHECK(server.got.size() == 4);
    CHECK(cl.c.counter("retransmits") == 3);
  }
  SECTION("off") {
    Client cl(rig, server.port(), {{"retransmit_ms", std::int64_t{0}}});
    cl.says_on_open(HELLO, pattern(12, 1));
    REQUIRE(cl.c.start().ok());
    rig.run_for(700ms);
    CHECK(server.got.size() == 1);
    CHECK(cl.c.counter("retransmits") == 0);
  }
}

TEST_CASE("REJECT and BYE answer a HELLO too", "[transport_udp][client][loss]") {
  Rig rig;
  RawPeer server(rig.io());
  Client cl(rig, server.port(), {{"retransmit_ms", std::int64_t{50}}});
  cl.says_on_open(HELLO, pattern(12, 1));
  REQUIRE(cl.c.start().ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 1; }));
  server.reply(encode(6, pattern(18, 1)));  // REJECT
  REQUIRE(rig.run_until([&] { return cl.c.sink.frames_.size() == 1; }));
  rig.run_for(300ms);
  CHECK(server.got.size() == 1);
  CHECK(cl.c.counter("retransmits") == 0);
}

TEST_CASE("DATA before WELCOME is dropped (WELCOME lost or overtaken), the HELLO fetches it",
          "[transport_udp][client][loss]") {
  Rig rig;
  RawPeer server(rig.io());
  Client cl(rig, server.port(), {{"retransmit_ms", std::int64_t{100}}});
  cl.says_on_open(HELLO, pattern(12, 1));
  REQUIRE(cl.c.start().ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 1; }));
  server.reply(encode(DATA, pattern(30, 1)));     // its WELCOME was lost
  server.reply(encode(KEEPALIVE, {}));            // allowed before WELCOME
  REQUIRE(rig.run_until([&] { return cl.c.counter("early_frames") == 1 && cl.c.sink.frames_.size() == 1; }));
  CHECK(cl.c.sink.frames_[0].type == KEEPALIVE);
  REQUIRE(rig.run_until([&] { return server.got.size() == 2; }));  // still asking
  server.reply(encode(WELCOME, pattern(24, 2)));
  server.reply(encode(DATA, pattern(30, 2)));
  REQUIRE(rig.run_until([&] { return cl.c.sink.frames_.size() == 3; }));
  CHECK(cl.c.sink.frames_[1].type == WELCOME);
  CHECK(cl.c.sink.frames_[2].type == DATA);
  CHECK(cl.c.sink.frames_[2].body == pattern(30, 2));
}

TEST_CASE("a HANDSHAKE is retransmitted until the answer, then the HELLO", "[transport_udp][client][loss]") {
  Rig rig;
  RawPeer server(rig.io());
  Client cl(rig, server.port(), {{"retransmit_ms", std::int64_t{60}}});
  cl.says_on_open(HANDSHAKE, pattern(109, 1));
  // The "cipher" answers the server's HANDSHAKE with HELLO, as the host does.
  cl.c.sink.on_received = [&](SessionId id, vpnsdk::Batch frames) {
    for (auto& f : frames)
      if (f && f->meta.frame_type == HANDSHAKE) {
        std::vector<PacketPtr> v;
        v.push_back(cl.c.frame(HELLO, pattern(41, 2)));
        cl.c.t().send(id, vpnsdk::Batch(v.data(), v.size()));
      }
  };
  REQUIRE(cl.c.start().ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 2; }));
  CHECK(server.got[1] == encode_indexed(HANDSHAKE, pattern(109, 1), 0));
  server.reply(encode(HANDSHAKE, pattern(48, 3)));
  server.reply(encode(HANDSHAKE, pattern(48, 3)));  // a duplicate of the answer: dropped
  REQUIRE(rig.run_until([&] { return server.count_type(HELLO) == 2; }));  // the HELLO and its first retransmission
  CHECK(cl.c.sink.count_type(HANDSHAKE) == 1);
  CHECK(cl.c.counter("duplicates") == 1);
  // No HANDSHAKE went out after the answer.
  std::size_t last_hs = 0;
  for (std::size_t i = 0; i < server.got.size(); ++i)
    if (type_of(server.got[i]) == HANDSHAKE) last_hs = i;
  CHECK(type_of(server.got[last_hs + 1]) == HELLO);
  server.reply(encode(WELCOME, pattern(41, 4)));
  REQUIRE(rig.run_until([&] { return cl.c.sink.count_type(WELCOME) == 1; }));
  const auto n = server.got.size();
  rig.run_for(400ms);
  CHECK(server.got.size() == n);
}

TEST_CASE("ICMP port unreachable ends the client's session, reconnect() opens a new one", "[transport_udp][client]") {
  Rig rig;
  const std::uint16_t nobody = free_port();  // nothing listens there
  Client cl(rig, nobody, {{"retransmit_ms", std::int64_t{50}}});
  cl.says_on_open(HELLO, pattern(12, 1));
  REQUIRE(cl.c.start().ok());
  REQUIRE(rig.run_until([&] { return cl.c.sink.closed_.size() == 1; }));
  const SessionId first = cl.c.sink.opened_.front().id;
  CHECK(cl.c.sink.closed_[0].first == first);
  CHECK_THAT(cl.c.sink.closed_[0].second.message, Catch::Contains("port is unreachable"));
  CHECK(cl.c.counter("port_unreachable") == 1);
  CHECK(cl.c.send(first, DATA, pattern(10, 1)).code == Code::drop_no_route);
  // Now something listens: reconnect.
  RawPeer server(rig.io());
  Instance& c2 = cl.c;
  (void)c2;
  REQUIRE(cl.c.reconnect().ok());
  CHECK(cl.c.reconnect().code == Code::refused);  // already connecting
  REQUIRE(rig.run_until([&] { return cl.c.sink.opened_.size() == 2 && cl.c.sink.closed_.size() == 2; }, 3000ms));
  CHECK(cl.c.sink.opened_[1].id != first);
  CHECK(cl.c.sink.violations.empty());
}

TEST_CASE("reconnect() after a close gets a new source port and session", "[transport_udp][client]") {
  Rig rig;
  RawPeer server(rig.io());
  Client cl(rig, server.port());
  cl.says_on_open(HELLO, pattern(12, 1));
  REQUIRE(cl.c.start().ok());
  REQUIRE(rig.run_until([&] { return server.got.size() == 1; }));
  const auto first_port = server.last_from.port();
  const SessionId first = cl.c.session();
  // close() flushes: a BYE queued right before it goes out (twice).
  REQUIRE(cl.c.send(first, BYE, pattern(4, 1)).ok());
  cl.c.close(first, Status::error(Code::session_fatal, "leaving"));
  CHECK(cl.c.sink.closed_.empty());
  REQUIRE(rig.run_until([&] { return cl.c.sink.closed_.size() == 1 && server.count_type(BYE) == 2; }));
  CHECK(cl.c.sink.closed_[0].second.message == "leaving");
  REQUIRE(cl.c.reconnect().ok());
  REQUIRE(rig.run_until([&] { return cl.c.sink.opened_.size() == 2 && server.got.size() == 4; }));
  CHECK(server.last_from.port() != first_port);
  CHECK(cl.c.session() != first);
  cl.c.stop();
  rig.run_for(50ms);
  CHECK(rig.pool().in_use() == 0);
}

TEST_CASE("reconnect() is refused in listen mode and before start()", "[transport_udp][client]") {
  Rig rig;
  Instance& s = rig.server(free_port());
  CHECK(s.reconnect().code == Code::refused);
  REQUIRE(s.start().ok());
  CHECK(s.reconnect().code == Code::refused);
  Client cl(rig, free_port());
  CHECK(cl.c.reconnect().code == Code::refused);
}

TEST_CASE("option keepalive: an idle session sends empty datagrams, the far end ignores them",
          "[transport_udp][client][keepalive]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& srv = rig.server(port);
  srv.sink.on_received = [&](SessionId id, vpnsdk::Batch frames) {  // answered: no HELLO retransmissions
    for (auto& f : frames)
      if (f && f->meta.frame_type == HELLO) {
        std::vector<PacketPtr> v;
        v.push_back(srv.frame(WELCOME, pattern(24, 1)));
        srv.t().send(id, vpnsdk::Batch(v.data(), v.size()));
      }
  };
  REQUIRE(srv.start().ok());
  Client cl(rig, port, {{"keepalive", std::int64_t{1}}, {"cookies", true}});  // a plugin server: the proof first
  cl.says_on_open(HELLO, pattern(12, 1));
  REQUIRE(cl.c.start().ok());
  REQUIRE(rig.run_until([&] { return srv.sink.frames_.size() == 1; }));
  REQUIRE(rig.run_until([&] { return srv.counter("empty_datagrams") >= 2; }, 4000ms));
  CHECK(cl.c.counter("keepalives_sent") >= 2);
  CHECK(srv.sink.frames_.size() == 1);  // the host saw nothing of them
  CHECK(srv.sink.opened_.size() == 1);
  CHECK(cl.c.sink.count_type(WELCOME) == 1);
  CHECK(cl.c.counter("retransmits") == 0);
}
