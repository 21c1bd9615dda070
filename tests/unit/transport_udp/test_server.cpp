// Listen mode against raw UDP sockets: which datagrams open sessions, bad
// input, duplicates of HELLO answered with the WELCOME again, limits,
// batching, close().
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace udptest;

namespace {

constexpr std::uint8_t HELLO = 1, WELCOME = 2, DATA = 3, KEEPALIVE = 4, BYE = 5, REJECT = 6, HANDSHAKE = 7;

// Raw peers here speak the protocol without the address proof (cookies
// off); test_cookie.cpp tests the proof.
std::map<std::string, vpnsdk::OptionValue> no_cookies(std::map<std::string, vpnsdk::OptionValue> more) {
  more.try_emplace("cookies", false);
  return more;
}

struct Server {
  explicit Server(Rig& rig, std::map<std::string, vpnsdk::OptionValue> more = {})
      : port(free_port()), s(rig.server(port, no_cookies(std::move(more)))) {
    REQUIRE(s.plugin != nullptr);
    REQUIRE(s.start().ok());
  }
  std::uint16_t port;
  Instance& s;
};

SessionId session_of(const RecordingSink& sink, std::uint16_t peer_port) {
  for (const auto& o : sink.opened_)
    if (o.peer.port == peer_port) return o.id;
  return 0;
}

}  // namespace

TEST_CASE("a HELLO from a new source opens a session, other frames from strangers do not", "[transport_udp][server]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), b(rig.io());
  a.send_to(encode(DATA, pattern(40, 1)), srv.port);
  a.send_to(encode(KEEPALIVE, {}), srv.port);
  a.send_to(encode(BYE, pattern(3, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("unknown_peer") == 2 && srv.s.counter("late_byes") == 1; }));
  CHECK(srv.s.sink.opened_.empty());

  a.send_to(encode(HELLO, pattern(12, 2)), srv.port);
  b.send_to(encode(HANDSHAKE, pattern(109, 3)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 2; }));
  REQUIRE(srv.s.sink.opened_.size() == 2);
  const SessionId ida = session_of(srv.s.sink, a.port()), idb = session_of(srv.s.sink, b.port());
  CHECK(ida != 0);
  CHECK(idb != 0);
  CHECK(ida != idb);
  for (const auto& o : srv.s.sink.opened_) {
    CHECK(o.role == vpnsdk::Role::responder);
    CHECK(o.peer.address == "127.0.0.1");
  }
  // Now a's DATA belongs to its session.
  a.send_to(encode(DATA, pattern(40, 4)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 3; }));
  const Frame& f = srv.s.sink.frames_.back();
  CHECK(f.id == ida);
  CHECK(f.meta_session == ida);
  CHECK(f.type == DATA);
  CHECK(f.body == pattern(40, 4));
  CHECK(srv.s.counter("sessions_opened") == 2);
  CHECK(srv.s.sink.violations.empty());
}

TEST_CASE("bad datagrams are dropped and counted, the session goes on", "[transport_udp][server]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  a.send_to(encode(DATA, pattern(10, 1), 1), srv.port);         // flags
  a.send_to(encode(9, pattern(10, 1)), srv.port);               // unknown type
  a.send_to(encode(0, pattern(10, 1)), srv.port);               // type 0
  a.send_to(encode(DATA, pattern(10, 1), 0, 11), srv.port);     // length longer than the datagram
  a.send_to(encode(DATA, pattern(10, 1), 0, 9), srv.port);      // shorter: trailing bytes
  a.send_to(Bytes{std::byte{0}, std::byte{0}, std::byte{3}}, srv.port);  // no whole header
  a.send_to(encode(DATA, pattern(9300, 1)), srv.port);          // longer than a packet buffer (9216)
  a.send_to(Bytes{}, srv.port);                                 // empty: a NAT keepalive
  a.send_to(encode(DATA, pattern(20, 7)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 2; }));
  CHECK(srv.s.sink.frames_.back().body == pattern(20, 7));
  CHECK(srv.s.counter("bad_datagrams") == 6);
  CHECK(srv.s.counter("oversize") == 1);
  CHECK(srv.s.counter("empty_datagrams") == 1);
  CHECK(srv.s.sink.closed_.empty());
  CHECK(srv.s.sink.opened_.size() == 1);
}

TEST_CASE("a duplicate HELLO is not passed on: the WELCOME goes out again until the client moves on",
          "[transport_udp][server][loss]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io());
  const Bytes hello = encode(HELLO, pattern(12, 5));
  a.send_to(hello, srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  const SessionId id = srv.s.session();
  // Before the host answered, a copy of the HELLO is simply dropped.
  a.send_to(hello, srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("duplicates") == 1; }));
  CHECK(a.got.empty());
  // The host answers.
  REQUIRE(srv.s.send(id, WELCOME, pattern(24, 6)).ok());
  REQUIRE(rig.run_until([&] { return a.got.size() == 1; }));
  CHECK(a.got[0] == encode(WELCOME, pattern(24, 6)));
  // The WELCOME was "lost": the client sends its HELLO again and gets the same WELCOME.
  a.send_to(hello, srv.port);
  REQUIRE(rig.run_until([&] { return a.got.size() == 2; }));
  CHECK(a.got[1] == a.got[0]);
  CHECK(srv.s.counter("replies_resent") == 1);
  // A HELLO with other bytes is a new one: the host judges it.
  a.send_to(encode(HELLO, pattern(12, 9)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 2; }));
  // The client shows it got WELCOME (any other frame): no more resends, copies are dropped.
  a.send_to(encode(KEEPALIVE, {}), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 3; }));
  a.send_to(encode(HELLO, pattern(12, 9)), srv.port);
  a.send_to(hello, srv.port);  // the older one: dropped too
  REQUIRE(rig.run_until([&] { return srv.s.counter("duplicates") == 4; }));  // 2 before + these 2
  rig.run_for(100ms);
  CHECK(srv.s.sink.count_type(HELLO) == 2);
  CHECK(a.got.size() == 2);
  CHECK(srv.s.counter("replies_resent") == 1);
  CHECK(srv.s.sink.closed_.empty());
}

TEST_CASE("a duplicate HANDSHAKE gets the server's HANDSHAKE answer again", "[transport_udp][server][loss]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io());
  const Bytes init = encode(HANDSHAKE, pattern(109, 1));
  a.send_to(init, srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  REQUIRE(srv.s.send(srv.s.session(), HANDSHAKE, pattern(48, 2)).ok());
  REQUIRE(rig.run_until([&] { return a.got.size() == 1; }));
  a.send_to(init, srv.port);
  a.send_to(init, srv.port);
  REQUIRE(rig.run_until([&] { return a.got.size() == 3; }));
  CHECK(a.got[1] == encode(HANDSHAKE, pattern(48, 2)));
  CHECK(a.got[2] == a.got[1]);
  CHECK(srv.s.sink.count_type(HANDSHAKE) == 1);
  // Then HELLO, WELCOME, and a lost WELCOME: the HELLO copy fetches the WELCOME, not the HANDSHAKE.
  const Bytes hello = encode(HELLO, pattern(41, 3));
  a.send_to(hello, srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 2; }));
  REQUIRE(srv.s.send(srv.s.session(), WELCOME, pattern(41, 4)).ok());
  REQUIRE(rig.run_until([&] { return a.got.size() == 4; }));
  a.send_to(hello, srv.port);
  a.send_to(init, srv.port);  // a late copy of the first: dropped, no answer
  REQUIRE(rig.run_until([&] { return a.got.size() == 5; }));
  rig.run_for(100ms);
  CHECK(a.got.size() == 5);
  CHECK(a.got[4] == encode(WELCOME, pattern(41, 4)));
  CHECK(srv.s.sink.frames_.size() == 2);
}

TEST_CASE("max_sessions and new_sessions_per_second bound new sessions", "[transport_udp][server]") {
  Rig rig;
  SECTION("max_sessions") {
    Server srv(rig, {{"max_sessions", std::int64_t{2}}});
    RawPeer a(rig.io()), b(rig.io()), c(rig.io());
    for (RawPeer* p : {&a, &b, &c}) p->send_to(encode(HELLO, pattern(12, 1)), srv.port);
    REQUIRE(rig.run_until([&] { return srv.s.counter("sessions_refused") == 1; }));
    CHECK(srv.s.sink.opened_.size() == 2);
    // A closed session makes room again.
    srv.s.close(srv.s.sink.opened_.front().id);
    REQUIRE(rig.run_until([&] { return srv.s.sink.closed_.size() == 1; }));
    c.send_to(encode(HELLO, pattern(12, 1)), srv.port);
    REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 3; }));
    CHECK(srv.s.sink.opened_.back().peer.port == c.port());
  }
  SECTION("new_sessions_per_second") {
    Server srv(rig, {{"new_sessions_per_second", std::int64_t{3}}});
    std::vector<std::unique_ptr<RawPeer>> peers;
    for (int i = 0; i < 6; ++i) {
      peers.push_back(std::make_unique<RawPeer>(rig.io()));
      peers.back()->send_to(encode(HELLO, pattern(12, 1)), srv.port);
    }
    REQUIRE(rig.run_until([&] { return srv.s.counter("sessions_refused") == 3; }));
    CHECK(srv.s.sink.opened_.size() == 3);
    // The bucket refills: a refused client that tries again later gets in.
    rig.run_for(400ms);
    peers.back()->send_to(encode(HELLO, pattern(12, 1)), srv.port);
    REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 4; }));
  }
}

TEST_CASE("datagrams are read in batches and handed over per session", "[transport_udp][server][batch]") {
  Rig rig;
  Server srv(rig, {{"recv_batch", std::int64_t{32}}});
  RawPeer a(rig.io()), b(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  b.send_to(encode(HELLO, pattern(12, 2)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 2; }));
  const auto calls_before = srv.s.counter("recv_calls");
  srv.s.sink.frames_.clear();
  srv.s.sink.batch_sizes.clear();
  // 120 datagrams from two peers, interleaved, queued in the socket before the
  // loop runs (few enough for a default-sized receive buffer without root).
  for (int i = 0; i < 60; ++i) {
    a.send_to(encode(DATA, pattern(60, static_cast<unsigned>(i))), srv.port);
    b.send_to(encode(DATA, pattern(61, static_cast<unsigned>(i))), srv.port);
  }
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 120; }));
  const auto calls = srv.s.counter("recv_calls") - calls_before;
  INFO("recvmmsg calls: " << calls << ", received() calls: " << srv.s.sink.batch_sizes.size());
  CHECK(calls <= 120 / 32 + 2);
  CHECK(srv.s.sink.batch_sizes.size() <= 2 * (120 / 32 + 2));  // one per session and batch
  // In order within each session.
  int na = 0, nb = 0;
  const SessionId ida = session_of(srv.s.sink, a.port());
  for (const auto& f : srv.s.sink.frames_) {
    if (f.id == ida) CHECK(f.body == pattern(60, static_cast<unsigned>(na++)));
    else CHECK(f.body == pattern(61, static_cast<unsigned>(nb++)));
  }
  CHECK(na == 60);
  CHECK(nb == 60);
}

TEST_CASE("send goes out in batches, BYE twice, close() ends the session once", "[transport_udp][server]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  const SessionId id = srv.s.session();
  std::vector<PacketPtr> batch;
  for (int i = 0; i < 100; ++i) batch.push_back(srv.s.frame(DATA, pattern(100, static_cast<unsigned>(i))));
  const auto calls_before = srv.s.counter("send_calls");
  REQUIRE(srv.s.send(id, batch).ok());
  CHECK(srv.s.counter("send_calls") - calls_before <= 2);  // 64 per sendmmsg
  REQUIRE(rig.run_until([&] { return a.got.size() == 100; }));
  for (int i = 0; i < 100; ++i) CHECK(a.got[static_cast<std::size_t>(i)] == encode(DATA, pattern(100, static_cast<unsigned>(i))));

  REQUIRE(srv.s.send(id, BYE, pattern(5, 1)).ok());
  srv.s.close(id, Status::error(Code::session_fatal, "bye"));
  CHECK(srv.s.sink.closed_.empty());  // never inside close()
  CHECK(srv.s.send(id, DATA, pattern(10, 1)).code == Code::drop_no_route);
  REQUIRE(rig.run_until([&] { return srv.s.sink.closed_.size() == 1 && a.got.size() == 102; }));
  CHECK(a.got[100] == encode(BYE, pattern(5, 1)));
  CHECK(a.got[101] == a.got[100]);
  CHECK(srv.s.sink.closed_[0].first == id);
  CHECK(srv.s.sink.closed_[0].second.message == "bye");
  // The peer's next DATA finds no session; its next HELLO opens a new one.
  a.send_to(encode(DATA, pattern(10, 1)), srv.port);
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 2; }));
  CHECK(srv.s.sink.opened_[1].id != id);
  CHECK(srv.s.counter("unknown_peer") == 1);
  rig.run_for(50ms);
  CHECK(srv.s.sink.closed_count(id) == 1);
  CHECK(srv.s.sink.violations.empty());
}

TEST_CASE("stop() drops everything without callbacks and releases every buffer", "[transport_udp][server]") {
  Rig rig;
  {
    Server srv(rig);
    RawPeer a(rig.io());
    a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
    REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
    srv.s.close(srv.s.session());
    const auto before = srv.s.sink.callbacks();
    srv.s.stop();
    a.send_to(encode(HELLO, pattern(12, 2)), srv.port);
    rig.run_for(100ms);
    CHECK(srv.s.sink.callbacks() == before);
    CHECK(rig.pool().in_use() == 0);
    CHECK(srv.s.send(1, DATA, pattern(10, 1)).code == Code::drop_no_route);
  }
}

TEST_CASE("a sink that stops the transport inside opened() is safe", "[transport_udp][server]") {
  Rig rig;
  Server srv(rig);
  srv.s.sink.on_opened = [&](const vpnsdk::SessionInfo&) { srv.s.t().stop(); };
  RawPeer a(rig.io()), b(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  b.send_to(encode(HELLO, pattern(12, 2)), srv.port);
  REQUIRE(rig.run_until([&] { return !srv.s.sink.opened_.empty(); }));
  rig.run_for(100ms);
  CHECK(srv.s.sink.opened_.size() == 1);
  CHECK(srv.s.sink.frames_.empty());
  CHECK(rig.pool().in_use() == 0);
}

TEST_CASE("a sink that closes the session inside opened() gets closed() later, once", "[transport_udp][server]") {
  Rig rig;
  Server srv(rig);
  srv.s.sink.on_opened = [&](const vpnsdk::SessionInfo& i) { srv.s.t().close(i.id, Status::error(Code::refused, "no")); };
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.closed_.size() == 1; }));
  rig.run_for(50ms);
  CHECK(srv.s.sink.frames_.empty());
  CHECK(srv.s.sink.closed_count(srv.s.sink.opened_.front().id) == 1);
}

TEST_CASE("listen = \"::\" serves IPv4 clients too, reported without the IPv4-mapped prefix", "[transport_udp][server]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& s = rig.make({{"listen", std::string("::")}, {"port", std::int64_t{port}}, {"cookies", false}});
  REQUIRE(s.plugin != nullptr);
  const Status st = s.start();
  if (!st.ok()) {  // a machine without IPv6
    WARN("SKIPPED: cannot listen on [::]: " << st.message);
    return;
  }
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), port);
  REQUIRE(rig.run_until([&] { return s.sink.frames_.size() == 1; }));
  CHECK(s.sink.opened_.front().peer.address == "127.0.0.1");
  CHECK(s.sink.opened_.front().peer.port == a.port());
  REQUIRE(s.send(s.session(), WELCOME, pattern(24, 1)).ok());
  REQUIRE(rig.run_until([&] { return a.got.size() == 1; }));
  CHECK(a.got[0] == encode(WELCOME, pattern(24, 1)));
}

TEST_CASE("the late copy of a BYE finds no session: counted as late_byes, not unknown_peer", "[transport_udp][server]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 1; }));
  const SessionId id = srv.s.sink.opened_[0].id;
  // The host ends the session on the first BYE; the second copy, sent right
  // after it (section 11.2 of docs/protocol.md), arrives when it is gone.
  srv.s.close(id, Status::error(Code::session_fatal, "peer said goodbye"));
  REQUIRE(rig.run_until([&] { return srv.s.sink.closed_.size() == 1; }));
  a.send_to(encode(BYE, pattern(3, 7)), srv.port);
  a.send_to(encode(DATA, pattern(20, 7)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("late_byes") == 1 && srv.s.counter("unknown_peer") == 1; }));
  CHECK(srv.s.sink.opened_.size() == 1);
}
