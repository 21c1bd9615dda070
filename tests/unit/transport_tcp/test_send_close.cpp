// transport_tcp send queue bounds, close() with flush, peer close, stop()
// and destruction, and the no-re-entrancy rule.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace tcptest;

namespace {
// A plugin client connected to a raw server socket.
struct RawServerSetup {
  explicit RawServerSetup(Rig& rig, std::map<std::string, vpnsdk::OptionValue> opts = {})
      : raw(rig.io()), client(rig.client(raw.port(), opts)) {
    REQUIRE(client.create_status.ok());
    REQUIRE(client.start().ok());
    REQUIRE(rig.run_until([&] { return raw.accepted && client.sink.opened_.size() == 1; }));
    id = client.session();
  }
  RawServer raw;
  Instance& client;
  SessionId id = 0;
};

// Sends 9000-byte frames one at a time until `drops` of them were refused;
// the peer does not read, so the kernel buffers and then the queue fill up.
std::uint64_t fill_until_drops(Rig& rig, Instance& c, SessionId id, std::uint64_t drops) {
  std::uint64_t refused = 0;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (refused < drops && std::chrono::steady_clock::now() < deadline) {
    Status st = c.send(id, rig.frame(3, pattern(9000, 1)));
    if (st.code == Code::drop_overflow) ++refused;
    else REQUIRE(st.ok());
    rig.poll();
  }
  return refused;
}
}  // namespace

TEST_CASE("the send queue is bounded in frames and bytes", "[transport_tcp]") {
  SECTION("frames") {
    Rig rig;
    RawServerSetup s(rig, {{"max_queue_frames", std::int64_t{2}}});
    s.raw.conn.start_reading();
    std::vector<PacketPtr> batch;
    for (unsigned i = 0; i < 3; ++i) batch.push_back(rig.frame(3, pattern(10, i)));
    Status st = s.client.send(s.id, batch);
    CHECK(st.code == Code::drop_overflow);
    CHECK(s.client.counter("queue_drops") == 1);
    for (auto& f : batch) CHECK(!f);
    CHECK(rig.pool().in_use() == 2);  // the dropped frame went back to the pool at once
    REQUIRE(rig.run_until([&] { return s.raw.conn.data.size() == 2 * 14; }));
    auto frames = split(s.raw.conn.data);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].body == pattern(10, 0));
    CHECK(frames[1].body == pattern(10, 1));
  }
  SECTION("bytes") {
    Rig rig;
    RawServerSetup s(rig, {{"max_queue_bytes", std::int64_t{20000}}});
    std::vector<PacketPtr> batch;
    for (unsigned i = 0; i < 3; ++i) batch.push_back(rig.frame(3, pattern(9000, i)));
    CHECK(s.client.send(s.id, batch).code == Code::drop_overflow);
    CHECK(s.client.counter("queue_drops") == 1);
  }
}

TEST_CASE("a peer that does not read makes the queue overflow and drops are counted", "[transport_tcp]") {
  Rig rig;
  RawServerSetup s(rig, {{"max_queue_frames", std::int64_t{16}}});
  const std::uint64_t refused = fill_until_drops(rig, s.client, s.id, 50);
  REQUIRE(refused == 50);
  CHECK(s.client.counter("queue_drops") == 50);
  CHECK(s.client.counter("frames_out") > 0);  // it overflowed because the peer stopped taking data
  INFO("frames written before the queue filled: " << s.client.counter("frames_out"));
  CHECK(s.client.sink.closed_.empty());  // a full queue is not an error of the session
  CHECK(s.client.sink.violations.empty());
}

TEST_CASE("a peer whose queue stays full for stall_timeout is dropped", "[transport_tcp]") {
  Rig rig;
  RawServerSetup s(rig, {{"max_queue_frames", std::int64_t{16}}, {"stall_timeout", std::int64_t{1}}});
  REQUIRE(fill_until_drops(rig, s.client, s.id, 1) == 1);
  CHECK(s.client.sink.closed_.empty());  // full, but not for long yet
  rig.run_for(1100ms);                   // the stall clock runs on real time
  CHECK(s.client.send(s.id, rig.frame(3, pattern(9000, 2))).code == Code::drop_overflow);
  CHECK(s.client.sink.closed_.empty());  // never inside send()
  REQUIRE(rig.run_until([&] { return s.client.sink.closed_count(s.id) == 1; }));
  const Status* why = s.client.sink.closed_status(s.id);
  REQUIRE(why != nullptr);
  CHECK(why->message.find("peer stopped reading") != std::string::npos);
  CHECK(s.client.counter("stalled") == 1);
  CHECK(s.client.sink.violations.empty());
}

TEST_CASE("a queue that drains resets the stall clock", "[transport_tcp]") {
  Rig rig;
  RawServerSetup s(rig, {{"max_queue_frames", std::int64_t{16}}, {"stall_timeout", std::int64_t{1}}});
  REQUIRE(fill_until_drops(rig, s.client, s.id, 1) == 1);
  s.raw.conn.start_reading();  // the peer reads again: the queue drains
  REQUIRE(rig.run_until([&] { return s.client.counter("frames_out") > 16; }));
  rig.run_for(1100ms);
  CHECK(s.client.send(s.id, rig.frame(3, pattern(10, 3))).ok());
  rig.run_for(100ms);
  CHECK(s.client.sink.closed_.empty());
  CHECK(s.client.counter("stalled") == 0);
}

TEST_CASE("close() flushes queued frames, then the peer sees EOF", "[transport_tcp]") {
  Rig rig;
  RawServerSetup s(rig);
  s.raw.conn.start_reading();
  constexpr unsigned kCount = 200;
  for (unsigned i = 0; i < kCount; ++i) REQUIRE(s.client.send(s.id, rig.frame(3, pattern(1000, i))).ok());
  s.client.close(s.id, Status::error(Code::refused, "test says bye"));
  CHECK(s.client.sink.closed_.empty());  // never inside close()
  // After close(), the session takes nothing more.
  CHECK(s.client.send(s.id, rig.frame(3, pattern(5, 5))).code == Code::drop_no_route);
  s.client.close(s.id, Status::error(Code::io, "second close is ignored"));

  REQUIRE(rig.run_until([&] { return s.raw.conn.eof; }));
  CHECK(s.raw.conn.error == boost::asio::error::eof);
  std::size_t rest = 1;
  auto frames = split(s.raw.conn.data, &rest);
  CHECK(rest == 0);
  REQUIRE(frames.size() == kCount);
  for (unsigned i = 0; i < kCount; ++i) REQUIRE(frames[i].body == pattern(1000, i));
  REQUIRE(rig.run_until([&] { return !s.client.sink.closed_.empty(); }));
  rig.run_for(30ms);
  REQUIRE(s.client.sink.closed_count(s.id) == 1);
  CHECK(s.client.sink.closed_status(s.id)->code == Code::refused);
  CHECK(s.client.sink.closed_status(s.id)->message == "test says bye");
  CHECK(s.client.counter("frames_out") == kCount);
  CHECK(s.client.counter("sessions_closed") == 1);
  CHECK(s.client.counter("close_drops") == 0);
  CHECK(s.client.sink.violations.empty());
  CHECK(rig.pool().in_use() == 0);
}

TEST_CASE("close() with an empty queue reports closed() later, once", "[transport_tcp]") {
  Rig rig;
  RawServerSetup s(rig);
  s.raw.conn.start_reading();
  s.client.close(s.id, Status::error(Code::session_fatal, "done"));
  CHECK(s.client.sink.closed_.empty());
  REQUIRE(rig.run_until([&] { return s.raw.conn.eof && !s.client.sink.closed_.empty(); }));
  rig.run_for(30ms);
  CHECK(s.client.sink.closed_count(s.id) == 1);
  CHECK(s.client.sink.violations.empty());
}

TEST_CASE("close() gives up after close_timeout_ms when the peer does not read", "[transport_tcp]") {
  Rig rig;
  RawServerSetup s(rig, {{"max_queue_frames", std::int64_t{16}}, {"close_timeout_ms", std::int64_t{100}}});
  REQUIRE(fill_until_drops(rig, s.client, s.id, 1) == 1);
  const auto t0 = std::chrono::steady_clock::now();
  s.client.close(s.id, Status::error(Code::session_fatal, "bye"));
  REQUIRE(rig.run_until([&] { return !s.client.sink.closed_.empty(); }, 3000ms));
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 90ms);
  CHECK(waited < 2000ms);
  rig.run_for(30ms);
  CHECK(s.client.sink.closed_count(s.id) == 1);
  CHECK(s.client.sink.closed_status(s.id)->message == "bye");
  CHECK(s.client.counter("close_drops") > 0);
  CHECK(rig.pool().in_use() == 0);
}

TEST_CASE("the peer closing or resetting ends the session once", "[transport_tcp]") {
  SECTION("orderly close by the other transport") {
    Rig rig;
    const std::uint16_t port = free_port();
    Instance& server = rig.server(port);
    Instance& client = rig.client(port);
    REQUIRE(server.start().ok());
    REQUIRE(client.start().ok());
    REQUIRE(rig.run_until([&] { return !server.sink.opened_.empty() && !client.sink.opened_.empty(); }));
    client.close(client.session(), Status::error(Code::session_fatal, "client leaves"));
    REQUIRE(rig.run_until([&] { return !server.sink.closed_.empty() && !client.sink.closed_.empty(); }));
    rig.run_for(30ms);
    CHECK(server.sink.closed_count(server.session()) == 1);
    CHECK(client.sink.closed_count(client.session()) == 1);
    CHECK(server.sink.closed_status(server.session())->code == Code::session_fatal);
    CHECK(server.sink.closed_status(server.session())->message == "peer closed the connection");
    CHECK(client.sink.closed_status(client.session())->message == "client leaves");
    CHECK(server.counter("sessions_closed") == 1);
    CHECK(server.sink.violations.empty());
    CHECK(client.sink.violations.empty());
  }
  SECTION("reset by a raw peer") {
    Rig rig;
    RawServerSetup s(rig);
    s.raw.conn.sock.set_option(boost::asio::socket_base::linger(true, 0));
    s.raw.conn.sock.close();  // RST
    REQUIRE(rig.run_until([&] { return !s.client.sink.closed_.empty(); }));
    const Status* why = s.client.sink.closed_status(s.id);
    REQUIRE(why != nullptr);
    CHECK(why->code == Code::io);
    CHECK_THAT(why->message, Catch::Contains("reset"));
    rig.run_for(30ms);
    CHECK(s.client.sink.closed_.size() == 1);
  }
}

TEST_CASE("stop() drops every session without callbacks", "[transport_tcp]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& server = rig.server(port);
  Instance& c1 = rig.client(port);
  Instance& c2 = rig.client(port);
  REQUIRE(server.start().ok());
  REQUIRE(c1.start().ok());
  REQUIRE(c2.start().ok());
  REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == 2 && c1.session() && c2.session(); }));
  // Something in flight in both directions when stop() comes.
  REQUIRE(server.send(1, rig.frame(3, pattern(9000, 1))).ok());
  REQUIRE(c1.send(c1.session(), rig.frame(3, pattern(9000, 2))).ok());
  const std::size_t before = server.sink.callbacks();
  server.stop();
  REQUIRE(rig.run_until([&] { return !c1.sink.closed_.empty() && !c2.sink.closed_.empty(); }));
  rig.run_for(50ms);
  CHECK(server.sink.callbacks() == before);
  CHECK(server.send(1, rig.frame(3, {})).code == Code::drop_no_route);
  server.close(2, Status::error(Code::io, "after stop"));  // harmless
  server.stop();                                           // twice is fine
  rig.run_for(20ms);
  CHECK(server.sink.callbacks() == before);
  // The listener is gone too.
  Instance& late = rig.client(port, {{"connect_timeout", std::int64_t{2}}});
  REQUIRE(late.start().ok());
  REQUIRE(rig.run_until([&] { return !late.sink.failed_.empty(); }));
  CHECK(late.sink.opened_.empty());
}

TEST_CASE("destruction without stop() is safe with sessions and queued frames", "[transport_tcp]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& server = rig.server(port);
  Instance& client = rig.client(port, {{"max_queue_frames", std::int64_t{64}}});
  REQUIRE(server.start().ok());
  REQUIRE(client.start().ok());
  REQUIRE(rig.run_until([&] { return !server.sink.opened_.empty() && !client.sink.opened_.empty(); }));
  for (unsigned i = 0; i < 64; ++i) (void)client.send(client.session(), rig.frame(3, pattern(9000, i)));
  REQUIRE(server.send(server.session(), rig.frame(3, pattern(100, 1))).ok());
  client.close(client.session(), Status::error(Code::io, "closing while destroyed"));
  const std::size_t before = client.sink.callbacks();
  rig.destroy(client);  // handlers are still pending on the io_context
  CHECK(rig.pool().in_use() <= 1);   // only the server's one frame: the client's queue went back at once...
  rig.run_for(100ms);                // ...and its pending handlers run harmlessly
  CHECK(client.sink.callbacks() == before);
  REQUIRE(rig.run_until([&] { return !server.sink.closed_.empty(); }));
  rig.destroy(server);
  rig.run_for(20ms);
  CHECK(rig.pool().in_use() == 0);
}

TEST_CASE("the sink may call send/close from its callbacks without re-entrant calls", "[transport_tcp]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& server = rig.server(port);
  Instance& client = rig.client(port);
  // The server echoes every frame from inside received(), and closes on a BYE.
  server.sink.on_received = [&](SessionId id, vpnsdk::Batch frames) {
    for (auto& f : frames) {
      if (f->meta.frame_type == 5) {
        server.t().close(id, Status::error(Code::session_fatal, "bye received"));
        return;
      }
    }
    CHECK(server.t().send(id, frames).ok());
  };
  // The client sends its first frame from inside opened().
  client.sink.on_opened = [&](const vpnsdk::SessionInfo& info) {
    std::vector<PacketPtr> first;
    first.push_back(rig.frame(3, pattern(64, 1)));
    CHECK(client.t().send(info.id, vpnsdk::Batch(first.data(), first.size())).ok());
  };
  REQUIRE(server.start().ok());
  REQUIRE(client.start().ok());
  REQUIRE(rig.run_until([&] { return client.sink.frames_.size() == 1; }));
  CHECK(client.sink.frames_[0].body == pattern(64, 1));
  std::vector<PacketPtr> tail;
  tail.push_back(rig.frame(3, pattern(10, 2)));
  tail.push_back(rig.frame(5, {}));
  tail.push_back(rig.frame(3, pattern(10, 3)));
  REQUIRE(client.send(client.session(), tail).ok());
  REQUIRE(rig.run_until([&] { return !server.sink.closed_.empty() && !client.sink.closed_.empty(); }));
  rig.run_for(30ms);
  CHECK(server.sink.closed_count(server.session()) == 1);
  CHECK(server.sink.closed_status(server.session())->message == "bye received");
  CHECK(server.sink.violations.empty());
  CHECK(client.sink.violations.empty());
}
