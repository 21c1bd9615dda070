// transport_tcp receive path: reassembly across reads, batching, pool
// exhaustion, and protocol errors that end only the offending session.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace tcptest;

namespace {
// A listening transport plus a raw socket connected to it.
struct RawClientSetup {
  explicit RawClientSetup(Rig& rig, std::map<std::string, vpnsdk::OptionValue> opts = {})
      : port(free_port()), server(rig.server(port, opts)), raw(rig.io()) {
    REQUIRE(server.create_status.ok());
    REQUIRE(server.start().ok());
    raw.connect(port);
    REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == 1; }));
    id = server.sink.opened_[0].id;
  }
  std::uint16_t port;
  Instance& server;
  RawConn raw;
  SessionId id = 0;
};
}  // namespace

TEST_CASE("a frame written one byte at a time is reassembled", "[transport_tcp]") {
  Rig rig;
  RawClientSetup s(rig);
  std::vector<std::byte> stream = encode(3, pattern(1400, 5));
  const auto second = encode(4, {});
  const auto third = encode(1, pattern(37, 9));
  stream.insert(stream.end(), second.begin(), second.end());
  stream.insert(stream.end(), third.begin(), third.end());

  const std::size_t first_len = 4 + 1400;
  for (std::size_t i = 0; i < stream.size(); ++i) {
    s.raw.write({stream[i]});
    rig.poll();
    rig.poll();
    if (i + 1 < first_len) REQUIRE(s.server.sink.frames_.empty());  // nothing before the frame is complete
  }
  REQUIRE(rig.run_until([&] { return s.server.sink.frames_.size() == 3; }));
  CHECK(s.server.sink.frames_[0].type == 3);
  CHECK(s.server.sink.frames_[0].body == pattern(1400, 5));
  CHECK(s.server.sink.frames_[1].type == 4);
  CHECK(s.server.sink.frames_[1].body.empty());
  CHECK(s.server.sink.frames_[2].type == 1);
  CHECK(s.server.sink.frames_[2].body == pattern(37, 9));
  CHECK(s.server.sink.batch_sizes.size() == 3);  // one delivery per completed frame
  CHECK(s.server.counter("protocol_errors") == 0);
}

TEST_CASE("two and a half frames in one write, the rest later", "[transport_tcp]") {
  Rig rig;
  RawClientSetup s(rig);
  std::vector<std::byte> stream;
  for (unsigned i = 0; i < 3; ++i) {
    auto f = encode(3, pattern(3000, i));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  const std::size_t cut = 2 * 3004 + 1000;
  s.raw.write({stream.begin(), stream.begin() + cut});
  REQUIRE(rig.run_until([&] { return s.server.sink.frames_.size() == 2; }));
  rig.run_for(20ms);
  CHECK(s.server.sink.frames_.size() == 2);
  s.raw.write({stream.begin() + cut, stream.end()});
  REQUIRE(rig.run_until([&] { return s.server.sink.frames_.size() == 3; }));
  for (unsigned i = 0; i < 3; ++i) CHECK(s.server.sink.frames_[i].body == pattern(3000, i));
}

TEST_CASE("a read with many frames is delivered in batches of at most 128", "[transport_tcp]") {
  Rig rig;
  RawClientSetup s(rig);
  std::vector<std::byte> stream;
  for (unsigned i = 0; i < 300; ++i) {
    auto f = encode(4, {std::byte(i & 0xff)});
    stream.insert(stream.end(), f.begin(), f.end());
  }
  s.raw.write(stream);  // 1500 bytes: one segment, one read
  REQUIRE(rig.run_until([&] { return s.server.sink.frames_.size() == 300; }));
  for (unsigned i = 0; i < 300; ++i) REQUIRE(s.server.sink.frames_[i].body == std::vector<std::byte>{std::byte(i & 0xff)});
  std::size_t total = 0;
  for (std::size_t n : s.server.sink.batch_sizes) {
    CHECK(n >= 1);
    CHECK(n <= 128);
    total += n;
  }
  CHECK(total == 300);
  CHECK(s.server.sink.batch_sizes.size() >= 3);
  CHECK(s.server.sink.violations.empty());
}

TEST_CASE("without pool buffers frames are dropped and counted, the session lives on", "[transport_tcp]") {
  vpnsdk::PoolConfig pc;
  pc.max_buffers = 3;
  Rig rig(pc);
  RawClientSetup s(rig);
  std::vector<std::byte> stream;
  for (unsigned i = 0; i < 5; ++i) {
    auto f = encode(3, pattern(10, i));
    stream.insert(stream.end(), f.begin(), f.end());
  }
  s.raw.write(stream);
  REQUIRE(rig.run_until([&] { return s.server.counter("pool_exhausted") == 2; }));
  REQUIRE(rig.run_until([&] { return s.server.sink.frames_.size() == 3; }));
  CHECK(s.server.sink.frames_[2].body == pattern(10, 2));
  CHECK(s.server.counter("frames_in") == 3);
  // Buffers came back after delivery: the next frame gets one.
  s.raw.write(encode(3, pattern(10, 9)));
  REQUIRE(rig.run_until([&] { return s.server.sink.frames_.size() == 4; }));
  CHECK(s.server.sink.frames_[3].body == pattern(10, 9));
  CHECK(s.server.sink.closed_.empty());
}

TEST_CASE("a protocol error ends only that session", "[transport_tcp]") {
  struct Case {
    const char* name;
    std::vector<std::byte> bad;
    const char* reason;
  };
  const std::vector<Case> cases{
      {"flags != 0", encode(3, pattern(20, 1), 0x01), "flags"},
      {"unknown type", encode(9, pattern(20, 1)), "unknown frame type 9"},
      {"type 0", encode(0, {}), "unknown frame type 0"},
      {"length above the pool's payload", encode(3, {}, 0, 9217), "frame length 9217 exceeds the maximum 9216"},
      {"length 65535", encode(3, {}, 0, 65535), "frame length 65535"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      Rig rig;
      const std::uint16_t port = free_port();
      Instance& server = rig.server(port);
      Instance& good = rig.client(port);
      REQUIRE(server.start().ok());
      REQUIRE(good.start().ok());
      REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == 1 && good.sink.opened_.size() == 1; }));
      RawConn raw(rig.io());
      raw.connect(port);
      REQUIRE(rig.run_until([&] { return server.sink.opened_.size() == 2; }));
      const SessionId bad_id = session_for_port(server.sink, raw.local_port());
      const SessionId good_id =
          server.sink.opened_[0].id == bad_id ? server.sink.opened_[1].id : server.sink.opened_[0].id;
      REQUIRE(bad_id != 0);
      raw.start_reading();

      // A good frame and the bad header in one write: the good one is delivered first.
      std::vector<std::byte> stream = encode(3, pattern(50, 3));
      stream.insert(stream.end(), c.bad.begin(), c.bad.end());
      raw.write(stream);
      REQUIRE(rig.run_until([&] { return server.sink.closed_count(bad_id) == 1; }));
      REQUIRE(server.sink.frames_.size() == 1);
      CHECK(server.sink.frames_[0].id == bad_id);
      CHECK(server.sink.frames_[0].body == pattern(50, 3));
      const Status* why = server.sink.closed_status(bad_id);
      REQUIRE(why != nullptr);
      CHECK(why->code == Code::session_fatal);
      CHECK_THAT(why->message, Catch::Contains(c.reason));
      CHECK(server.counter("protocol_errors") == 1);
      REQUIRE(rig.run_until([&] { return raw.eof; }));  // the socket was closed

      // The other session still works, both ways.
      REQUIRE(good.send(good.session(), rig.frame(3, pattern(700, 4))).ok());
      REQUIRE(rig.run_until([&] { return server.sink.frames_.size() == 2; }));
      CHECK(server.sink.frames_[1].id == good_id);
      CHECK(server.sink.frames_[1].body == pattern(700, 4));
      REQUIRE(server.send(good_id, rig.frame(3, pattern(800, 5))).ok());
      REQUIRE(rig.run_until([&] { return good.sink.frames_.size() == 1; }));
      CHECK(good.sink.frames_[0].body == pattern(800, 5));
      // The closed session is gone: sending to it is "no route".
      CHECK(server.send(bad_id, rig.frame(3, pattern(10, 1))).code == Code::drop_no_route);
      rig.run_for(20ms);
      CHECK(server.sink.closed_.size() == 1);
      CHECK(good.sink.closed_.empty());
      CHECK(server.counter("sessions_closed") == 1);
      CHECK(server.sink.violations.empty());
    }
  }
}
