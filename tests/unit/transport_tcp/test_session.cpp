// transport_tcp: sessions open with the right roles and frames round-trip.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace tcptest;

namespace {
// A connected server/client pair on a fresh port.
struct Pair {
  explicit Pair(Rig& rig, std::map<std::string, vpnsdk::OptionValue> server_opts = {},
                std::map<std::string, vpnsdk::OptionValue> client_opts = {})
      : port(free_port()), server(rig.server(port, server_opts)), client(rig.client(port, client_opts)) {
    REQUIRE(server.create_status.ok());
    REQUIRE(client.create_status.ok());
    REQUIRE(server.start().ok());
    REQUIRE(client.start().ok());
    REQUIRE(rig.run_until([&] { return !server.sink.opened_.empty() && !client.sink.opened_.empty(); }));
  }
  std::uint16_t port;
  Instance& server;
  Instance& client;
};
}  // namespace

TEST_CASE("connect opens one session on each side with the right roles", "[transport_tcp]") {
  Rig rig;
  Pair p(rig);
  REQUIRE(p.server.sink.opened_.size() == 1);
  REQUIRE(p.client.sink.opened_.size() == 1);
  const auto& s = p.server.sink.opened_[0];
  const auto& c = p.client.sink.opened_[0];
  CHECK(s.id == 1);
  CHECK(c.id == 1);
  CHECK(s.role == vpnsdk::Role::responder);
  CHECK(c.role == vpnsdk::Role::initiator);
  CHECK(c.peer.address == "127.0.0.1");
  CHECK(c.peer.port == p.port);
  CHECK(s.peer.address == "127.0.0.1");
  CHECK(s.peer.port != 0);
  CHECK(s.peer.port != p.port);
  CHECK(p.server.counter("sessions_opened") == 1);
  CHECK(p.client.counter("sessions_opened") == 1);
  CHECK(p.server.t().overhead().head == 4);
  CHECK(p.server.t().overhead().tail == 0);
  CHECK(p.server.sink.violations.empty());
  CHECK(p.client.sink.violations.empty());

  // A second client gets the next id on the server.
  Instance& c2 = rig.client(p.port);
  REQUIRE(c2.start().ok());
  REQUIRE(rig.run_until([&] { return p.server.sink.opened_.size() == 2 && !c2.sink.opened_.empty(); }));
  CHECK(p.server.sink.opened_[1].id == 2);
  CHECK(p.server.sink.opened_[1].role == vpnsdk::Role::responder);
}

TEST_CASE("frames of 0, 1, 1400 and 9000 bytes round-trip with their type", "[transport_tcp]") {
  Rig rig;
  Pair p(rig);
  const std::vector<std::size_t> sizes{0, 1, 1400, 9000};
  const std::vector<std::uint8_t> types{4, 1, 3, 7};

  auto send_all = [&](Instance& from, unsigned seed) {
    std::vector<PacketPtr> batch;
    for (std::size_t i = 0; i < sizes.size(); ++i) batch.push_back(rig.frame(types[i], pattern(sizes[i], seed + i)));
    REQUIRE(from.send(from.session(), batch).ok());
    for (auto& f : batch) CHECK(!f);  // the transport took every frame
  };
  auto check_all = [&](Instance& to, unsigned seed) {
    REQUIRE(rig.run_until([&] { return to.sink.frames_.size() == sizes.size(); }));
    std::uint64_t wire = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const Frame& f = to.sink.frames_[i];
      CHECK(f.type == types[i]);
      CHECK(f.body == pattern(sizes[i], seed + i));
      CHECK(f.id == to.session());
      CHECK(f.meta_session == to.session());
      wire += sizes[i] + 4;
    }
    CHECK(to.counter("frames_in") == sizes.size());
    CHECK(to.counter("bytes_in") == wire);
  };

  send_all(p.client, 10);
  check_all(p.server, 10);
  send_all(p.server, 20);
  check_all(p.client, 20);
  CHECK(p.client.counter("frames_out") == sizes.size());
  CHECK(p.server.counter("frames_out") == sizes.size());
  CHECK(p.client.counter("bytes_out") == 0 + 1 + 1400 + 9000 + 16);
  CHECK(p.server.sink.violations.empty());
  CHECK(p.client.sink.violations.empty());
  CHECK(p.server.sink.null_frames == 0);
}

TEST_CASE("1000 frames arrive complete and in order", "[transport_tcp]") {
  Rig rig;
  Pair p(rig, {}, {{"max_queue_frames", std::int64_t{1000}}});
  constexpr std::uint32_t kCount = 1000;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    std::vector<std::byte> body = pattern(4 + (i * 37) % 1500, i);
    vpnsdk::ipv4::store32(body.data(), i);
    REQUIRE(p.client.send(p.client.session(), rig.frame(3, body)).ok());
  }
  REQUIRE(rig.run_until([&] {
    return p.server.sink.frames_.size() == kCount && p.client.counter("frames_out") == kCount;
  }));
  for (std::uint32_t i = 0; i < kCount; ++i) {
    const Frame& f = p.server.sink.frames_[i];
    REQUIRE(f.body.size() == 4 + (i * 37) % 1500);
    REQUIRE(vpnsdk::ipv4::load32(f.body.data()) == i);
    std::vector<std::byte> want = pattern(f.body.size(), i);
    vpnsdk::ipv4::store32(want.data(), i);
    REQUIRE(f.body == want);
  }
  for (std::size_t n : p.server.sink.batch_sizes) CHECK(n <= 128);
  CHECK(p.client.counter("queue_drops") == 0);
  CHECK(p.server.counter("frames_in") == kCount);
  CHECK(p.server.sink.batch_sizes.size() < kCount);  // reads and deliveries were batched
  CHECK(rig.pool().in_use() == 0);  // every buffer went back to the pool
}

TEST_CASE("IPv6 loopback works and reports the peer address", "[transport_tcp]") {
  {
    boost::asio::io_context probe;
    boost::system::error_code ec;
    tcp::acceptor a(probe);
    a.open(tcp::v6(), ec);
    if (!ec) a.bind(tcp::endpoint(boost::asio::ip::make_address("::1"), 0), ec);
    if (ec) {
      WARN("SKIPPED: no IPv6 loopback here: " << ec.message());
      return;
    }
  }
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& server = rig.make({{"listen", std::string("::1")}, {"port", std::int64_t{port}}});
  Instance& client = rig.make({{"connect", std::string("::1")}, {"port", std::int64_t{port}}});
  REQUIRE(server.start().ok());
  REQUIRE(client.start().ok());
  REQUIRE(rig.run_until([&] { return !server.sink.opened_.empty() && !client.sink.opened_.empty(); }));
  CHECK(server.sink.opened_[0].peer.address == "::1");
  CHECK(client.sink.opened_[0].peer.address == "::1");
  REQUIRE(client.send(client.session(), rig.frame(3, pattern(100, 1))).ok());
  REQUIRE(rig.run_until([&] { return server.sink.frames_.size() == 1; }));
  CHECK(server.sink.frames_[0].body == pattern(100, 1));
}
