// Roaming: the session index on the wire, datagrams of a session from a new
// source marked with meta.path, adopt_path() moving the session (and only
// it), stale tokens, and clients that speak no index.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace udptest;

namespace {

constexpr std::uint8_t HELLO = 1, WELCOME = 2, DATA = 3;

struct Server {
  // Raw clients here speak no address proof (test_cookie.cpp tests it).
  explicit Server(Rig& rig) : port(free_port()), s(rig.server(port, {{"cookies", false}})) {
    REQUIRE(s.plugin != nullptr);
    REQUIRE(s.start().ok());
  }
  std::uint16_t port;
  Instance& s;
};

// A raw client that said HELLO with index 0 and got the server's WELCOME:
// returns the index the WELCOME carried.
std::uint32_t hello_welcome(Rig& rig, Server& srv, RawPeer& client) {
  client.send_to(encode_indexed(HELLO, pattern(12, 1), 0), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  REQUIRE(srv.s.send(srv.s.session(), WELCOME, pattern(24, 2)).ok());
  REQUIRE(rig.run_until([&] { return client.count_type(WELCOME) == 1; }));
  return index_of(client.got.back());
}

}  // namespace

TEST_CASE("the server gives each session a nonzero index and puts it in every datagram to an indexed client",
          "[transport_udp][roaming]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), b(rig.io());
  const std::uint32_t ia = hello_welcome(rig, srv, a);
  CHECK(ia != 0);
  const Bytes& welcome = a.got.back();
  CHECK(welcome.size() == 8 + 24);
  CHECK(welcome == encode_indexed(WELCOME, pattern(24, 2), ia));
  CHECK(srv.s.t().overhead().head == 8);

  // Another session, another index.
  b.send_to(encode_indexed(HELLO, pattern(12, 3), 0), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 2; }));
  REQUIRE(srv.s.send(srv.s.session(), DATA, pattern(40, 4)).ok());
  REQUIRE(rig.run_until([&] { return b.count_type(DATA) == 1; }));
  CHECK(index_of(b.got.back()) != 0);
  CHECK(index_of(b.got.back()) != ia);

  // The body arrives without the index; the frame came from the session's own source.
  a.send_to(encode_indexed(DATA, pattern(40, 5), ia), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 1; }));
  CHECK(srv.s.sink.frames_.back().body == pattern(40, 5));
  CHECK(srv.s.sink.frames_.back().path == 0);
  CHECK(srv.s.counter("path_candidates") == 0);
}

TEST_CASE("a client without indices gets datagrams without one (flags 0), as before", "[transport_udp][roaming]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io());
  a.send_to(encode(HELLO, pattern(12, 1)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.frames_.size() == 1; }));
  REQUIRE(srv.s.send(srv.s.session(), WELCOME, pattern(24, 2)).ok());
  REQUIRE(rig.run_until([&] { return a.count_type(WELCOME) == 1; }));
  CHECK(a.got.back() == encode(WELCOME, pattern(24, 2)));
}

TEST_CASE("a datagram with a session's index from a new source is marked, and moves nothing by itself",
          "[transport_udp][roaming]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), elsewhere(rig.io());
  const std::uint32_t ia = hello_welcome(rig, srv, a);
  const SessionId id = srv.s.session();

  elsewhere.send_to(encode_indexed(DATA, pattern(40, 6), ia), srv.port);
  elsewhere.send_to(encode_indexed(DATA, pattern(40, 7), ia), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 2; }));
  const Frame& f = srv.s.sink.frames_.back();
  CHECK(f.id == id);
  CHECK(f.path != 0);
  CHECK(srv.s.sink.frames_[srv.s.sink.frames_.size() - 2].path == f.path);  // one token per source
  CHECK(srv.s.counter("path_candidates") == 2);
  CHECK(srv.s.sink.opened_.size() == 1);  // no new session

  // Without adopt_path() replies still go to the old source.
  REQUIRE(srv.s.send(id, DATA, pattern(40, 8)).ok());
  REQUIRE(rig.run_until([&] { return a.count_type(DATA) == 1; }));
  rig.run_for(100ms);
  CHECK(elsewhere.got.empty());
}

TEST_CASE("adopt_path() moves the session: replies go to the new source, which is no candidate any more",
          "[transport_udp][roaming]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), moved(rig.io());
  const std::uint32_t ia = hello_welcome(rig, srv, a);
  const SessionId id = srv.s.session();

  moved.send_to(encode_indexed(DATA, pattern(40, 1), ia), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 1; }));
  const std::uint32_t token = srv.s.sink.frames_.back().path;
  REQUIRE(token != 0);
  CHECK_FALSE(srv.s.t().adopt_path(id + 100, token));  // no such session
  const auto now = srv.s.t().adopt_path(id, token);
  REQUIRE(now);
  CHECK(now->address == "127.0.0.1");
  CHECK(now->port == moved.port());
  CHECK(srv.s.counter("paths_adopted") == 1);
  CHECK_FALSE(srv.s.t().adopt_path(id, token));  // the same token again: already there, nothing changes
  CHECK(srv.s.counter("paths_stale") == 0);

  REQUIRE(srv.s.send(id, DATA, pattern(40, 2)).ok());
  REQUIRE(rig.run_until([&] { return moved.count_type(DATA) == 1; }));
  CHECK(moved.got.back() == encode_indexed(DATA, pattern(40, 2), ia));
  rig.run_for(100ms);
  CHECK(a.count_type(DATA) == 0);

  // From the new source its datagrams are the session's own now: unmarked,
  // even without the index.
  moved.send_to(encode(DATA, pattern(40, 3)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 2; }));
  CHECK(srv.s.sink.frames_.back().path == 0);
  CHECK(srv.s.sink.frames_.back().id == id);
  // The old source is a stranger now.
  a.send_to(encode(DATA, pattern(40, 4)), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("unknown_peer") == 1; }));
  // And the old source with the index is a candidate again, nothing more.
  a.send_to(encode_indexed(DATA, pattern(40, 5), ia), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 3; }));
  CHECK(srv.s.sink.frames_.back().path != 0);
  CHECK(srv.s.sink.frames_.back().path != token);
}

TEST_CASE("a token older than the latest candidate is stale: adopt_path() changes nothing", "[transport_udp][roaming]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), first(rig.io()), second(rig.io());
  const std::uint32_t ia = hello_welcome(rig, srv, a);
  const SessionId id = srv.s.session();
  first.send_to(encode_indexed(DATA, pattern(40, 1), ia), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 1; }));
  const std::uint32_t t1 = srv.s.sink.frames_.back().path;
  second.send_to(encode_indexed(DATA, pattern(40, 2), ia), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 2; }));
  const std::uint32_t t2 = srv.s.sink.frames_.back().path;
  REQUIRE(t1 != 0);
  REQUIRE(t2 != 0);
  CHECK(t1 != t2);

  CHECK_FALSE(srv.s.t().adopt_path(id, t1));
  CHECK_FALSE(srv.s.t().adopt_path(id, 0));
  CHECK(srv.s.counter("paths_stale") == 1);
  CHECK(srv.s.counter("paths_adopted") == 0);
  REQUIRE(srv.s.send(id, DATA, pattern(40, 3)).ok());
  REQUIRE(rig.run_until([&] { return a.count_type(DATA) == 1; }));

  const auto now = srv.s.t().adopt_path(id, t2);
  REQUIRE(now);
  CHECK(now->port == second.port());
}

TEST_CASE("an unknown index from an unknown source opens nothing but by HELLO, like a datagram without one",
          "[transport_udp][roaming]") {
  Rig rig;
  Server srv(rig);
  RawPeer a(rig.io()), stranger(rig.io());
  const std::uint32_t ia = hello_welcome(rig, srv, a);
  stranger.send_to(encode_indexed(DATA, pattern(40, 1), ia + 1), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("unknown_peer") == 1; }));
  CHECK(srv.s.counter("path_candidates") == 0);
  stranger.send_to(encode_indexed(HELLO, pattern(12, 2), ia + 1), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.sink.opened_.size() == 2; }));
  CHECK(srv.s.sink.opened_.back().peer.port == stranger.port());
  // Bad flags are still bad.
  Bytes bad = encode_indexed(DATA, pattern(40, 3), ia);
  bad[3] = std::byte(3);
  stranger.send_to(bad, srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("bad_datagrams") == 1; }));
  // A length that counts the index is wrong.
  stranger.send_to(encode(DATA, pattern(44, 4), 1, 44), srv.port);
  REQUIRE(rig.run_until([&] { return srv.s.counter("bad_datagrams") == 2; }));
}

TEST_CASE("a plugin client learns its index from the server and echoes it", "[transport_udp][roaming]") {
  Rig rig;
  RawPeer server(rig.io());
  Instance& c = rig.client(server.port(), {{"cookies", false}});  // no cookie field: the datagrams as before
  REQUIRE(c.plugin != nullptr);
  c.sink.on_opened = [&](const vpnsdk::SessionInfo& i) {
    std::vector<PacketPtr> v;
    v.push_back(c.frame(HELLO, pattern(12, 1)));
    c.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
  };
  REQUIRE(c.start().ok());
  REQUIRE(rig.run_until([&] { return server.count_type(HELLO) == 1; }));
  CHECK(server.got.back() == encode_indexed(HELLO, pattern(12, 1), 0));
  server.reply(encode_indexed(WELCOME, pattern(24, 2), 0x12345678));
  REQUIRE(rig.run_until([&] { return c.sink.count_type(WELCOME) == 1; }));
  CHECK(c.sink.frames_.back().body == pattern(24, 2));
  CHECK(c.sink.frames_.back().path == 0);  // a client never marks
  REQUIRE(c.send(c.session(), DATA, pattern(40, 3)).ok());
  REQUIRE(rig.run_until([&] { return server.count_type(DATA) == 1; }));
  CHECK(server.got.back() == encode_indexed(DATA, pattern(40, 3), 0x12345678));
}

TEST_CASE("plugin client and server: the index round trip, end to end", "[transport_udp][roaming]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& server = rig.server(port);  // cookies on: the client proves its address first
  REQUIRE(server.start().ok());
  struct {
    std::uint16_t port;
    Instance& s;
  } srv{port, server};
  Instance& c = rig.client(srv.port);
  REQUIRE(c.plugin != nullptr);
  c.sink.on_opened = [&](const vpnsdk::SessionInfo& i) {
    std::vector<PacketPtr> v;
    v.push_back(c.frame(HELLO, pattern(12, 1)));
    c.t().send(i.id, vpnsdk::Batch(v.data(), v.size()));
  };
  REQUIRE(c.start().ok());
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(HELLO) == 1; }));
  REQUIRE(srv.s.send(srv.s.session(), WELCOME, pattern(24, 2)).ok());
  REQUIRE(rig.run_until([&] { return c.sink.count_type(WELCOME) == 1; }));
  REQUIRE(c.send(c.session(), DATA, pattern(40, 3)).ok());
  REQUIRE(rig.run_until([&] { return srv.s.sink.count_type(DATA) == 1; }));
  CHECK(srv.s.sink.frames_.back().body == pattern(40, 3));
  CHECK(srv.s.sink.frames_.back().path == 0);
  CHECK(srv.s.counter("bytes_in") == (8 + 12) + (8 + 40));
}
