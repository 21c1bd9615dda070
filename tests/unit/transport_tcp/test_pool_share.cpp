// transport_tcp under packet-pool pressure (issue 15, item 3): sessions whose
// peers stopped reading cannot take the buffers every other session needs.
// While at least half the pool's usable buffers are in use, a session queues
// at most its fair share of DATA frames (usable / (4 * sessions)); control
// frames are not held to it; a session that stays full at its share for
// stall_timeout is dropped and counted (stalled_over_share).
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace tcptest;

namespace {

constexpr std::uint8_t DATA = 3, KEEPALIVE = 4;

// Three raw peers that never read, connected to one plugin server.
struct ThreeSilentPeers {
  explicit ThreeSilentPeers(Rig& rig, std::map<std::string, vpnsdk::OptionValue> opts = {})
      : port(free_port()), server(rig.server(port, opts)), a(rig.io()), b(rig.io()), c(rig.io()) {
    REQUIRE(server.create_status.ok());
    REQUIRE(server.start().ok());
    for (RawConn* r : {&a, &b, &c}) {
      r->sock.open(tcp::v4());
      r->sock.set_option(boost::asio::socket_base::receive_buffer_size(4096));  // little kernel buffering
      r->connect(port);
    }
    REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == 3; }));
    ida = session_for_port(server.sink, a.local_port());
    idb = session_for_port(server.sink, b.local_port());
    REQUIRE(ida != 0);
    REQUIRE(idb != 0);
  }
  std::uint16_t port;
  Instance& server;
  RawConn a, b, c;
  SessionId ida = 0, idb = 0;
};

// Sends 9000-byte DATA frames to `id` until `drops` were refused (bounded in time).
std::uint64_t flood(Rig& rig, Instance& s, SessionId id, std::uint64_t drops) {
  std::uint64_t refused = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (refused < drops && std::chrono::steady_clock::now() < deadline) {
    PacketPtr f = rig.frame(DATA, pattern(9000, 1));
    REQUIRE(f);  // the pool never runs dry for the sender
    if (s.send(id, std::move(f)).code == Code::drop_overflow) ++refused;
    rig.poll();
  }
  return refused;
}

}  // namespace

TEST_CASE("under pool pressure a session that does not read is held to its fair share, others still queue",
          "[transport_tcp][pool]") {
  // 64 buffers, 8 of them the control reserve: usable 56, pressure from 28 in use;
  // three sessions: a fair share of 56 / 12 = 4 frames each.
  Rig rig(vpnsdk::PoolConfig{128, 9216, 64, 64, 8});
  ThreeSilentPeers p(rig);
  REQUIRE(flood(rig, p.server, p.ida, 20) == 20);
  INFO("in use after the flood: " << rig.pool().in_use());
  CHECK(rig.pool().in_use() <= 28 + 1);  // half the usable buffers, not all 56 (max_queue_frames is 512)
  CHECK(p.server.counter("share_drops") >= 1);
  CHECK(rig.pool().exhausted() == 0);
  // The other silent peer still gets its share of DATA, and control frames get through to both.
  for (int i = 0; i < 4; ++i) CHECK(p.server.send(p.idb, rig.frame(DATA, pattern(100, 2))).ok());
  PacketPtr k = rig.pool().acquire_control();
  REQUIRE(k);
  k->meta.frame_type = KEEPALIVE;
  CHECK(p.server.send(p.ida, std::move(k)).ok());
  CHECK(p.server.sink.closed_.empty());
}

TEST_CASE("a session full at its fair share for stall_timeout is dropped and counted", "[transport_tcp][pool]") {
  Rig rig(vpnsdk::PoolConfig{128, 9216, 64, 64, 8});
  ThreeSilentPeers p(rig, {{"stall_timeout", std::int64_t{1}}});
  REQUIRE(flood(rig, p.server, p.ida, 1) == 1);
  rig.run_for(1100ms);
  CHECK(p.server.send(p.ida, rig.frame(DATA, pattern(9000, 3))).code == Code::drop_overflow);
  REQUIRE(rig.run_until([&] { return p.server.sink.closed_count(p.ida) == 1; }));
  const Status* why = p.server.sink.closed_status(p.ida);
  REQUIRE(why != nullptr);
  CHECK(why->message.find("fair share of the packet pool") != std::string::npos);
  CHECK(p.server.counter("stalled") == 1);
  CHECK(p.server.counter("stalled_over_share") == 1);
  CHECK(p.server.sink.closed_count(p.idb) == 0);
  REQUIRE(rig.run_until([&] { return rig.pool().in_use() == 0; }));  // its buffers went back
}

TEST_CASE("without pool pressure a session may queue up to max_queue_frames", "[transport_tcp][pool]") {
  Rig rig(vpnsdk::PoolConfig{128, 9216, 64, 8192, 1024});
  ThreeSilentPeers p(rig, {{"max_queue_frames", std::int64_t{40}}});
  REQUIRE(flood(rig, p.server, p.ida, 1) == 1);
  CHECK(p.server.counter("share_drops") == 0);
  CHECK(rig.pool().in_use() >= 40);
}
