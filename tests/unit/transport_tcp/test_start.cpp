// transport_tcp start-up: option checks, listen and connect failures.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace tcptest;

namespace {
Status create_with(const std::map<std::string, vpnsdk::OptionValue>& opts) {
  vpnsdk::testkit::Harness h(plugin_path(), opts);
  return h.status();
}
}  // namespace

TEST_CASE("the descriptor declares the documented options", "[transport_tcp]") {
  vpnsdk::testkit::Harness h(plugin_path(), {{"listen", std::string("127.0.0.1")}});
  REQUIRE(h.status().ok());
  const auto& d = h.descriptor();
  CHECK(std::string(d.name) == "transport_tcp");
  CHECK(d.stage == vpnsdk::Stage::transport);
  std::map<std::string, std::string> defaults;
  for (std::size_t i = 0; i < d.option_count; ++i) defaults[d.options[i].name] = d.options[i].default_value;
  CHECK(defaults == std::map<std::string, std::string>{{"listen", ""},
                                                       {"connect", ""},
                                                       {"port", "5000"},
                                                       {"max_queue_frames", "512"},
                                                       {"max_queue_bytes", "1048576"},
                                                       {"connect_timeout", "10"},
                                                       {"close_timeout_ms", "1000"},
                                                       {"stall_timeout", "10"}});
}

TEST_CASE("bad options are refused with the option's name", "[transport_tcp]") {
  SECTION("neither listen nor connect") {
    Status st = create_with({});
    CHECK(st.code == Code::config);
    CHECK_THAT(st.message, Catch::Contains("'listen'") && Catch::Contains("'connect'"));
  }
  SECTION("both listen and connect") {
    Status st = create_with({{"listen", std::string("0.0.0.0")}, {"connect", std::string("example.org")}});
    CHECK(st.code == Code::config);
    CHECK_THAT(st.message, Catch::Contains("'listen'") && Catch::Contains("'connect'"));
  }
  SECTION("port 0 and 65536") {
    for (std::int64_t port : {std::int64_t{0}, std::int64_t{65536}, std::int64_t{-1}}) {
      Status st = create_with({{"listen", std::string("0.0.0.0")}, {"port", port}});
      CHECK(st.code == Code::config);
      CHECK_THAT(st.message, Catch::Contains("'port'") && Catch::Contains("(test)"));
    }
  }
  SECTION("listen is not an address") {
    Status st = create_with({{"listen", std::string("my-host")}});
    CHECK(st.code == Code::config);
    CHECK_THAT(st.message, Catch::Contains("'listen'"));
  }
  SECTION("queue bounds and timeouts") {
    for (const char* name : {"max_queue_frames", "max_queue_bytes", "connect_timeout"}) {
      Status st = create_with({{"connect", std::string("localhost")}, {name, std::int64_t{0}}});
      CHECK(st.code == Code::config);
      CHECK_THAT(st.message, Catch::Contains(std::string("'") + name + "'"));
    }
    Status st = create_with({{"connect", std::string("localhost")}, {"close_timeout_ms", std::int64_t{-5}}});
    CHECK_THAT(st.message, Catch::Contains("'close_timeout_ms'"));
  }
  SECTION("valid ones") {
    CHECK(create_with({{"listen", std::string("::")}, {"port", std::int64_t{65535}}}).ok());
    CHECK(create_with({{"connect", std::string("localhost")}, {"port", std::int64_t{1}}}).ok());
  }
}

TEST_CASE("listening on a port in use fails in start()", "[transport_tcp]") {
  Rig rig;
  tcp::acceptor taken(rig.io(), tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t port = taken.local_endpoint().port();
  Instance& server = rig.server(port);
  REQUIRE(server.create_status.ok());
  Status st = server.start();
  CHECK(st.code == Code::io);
  CHECK_THAT(st.message, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(port)) &&
                             Catch::Contains("Address already in use"));
  rig.run_for(20ms);
  CHECK(server.sink.callbacks() == 0);
}

TEST_CASE("connecting to a closed port calls failed()", "[transport_tcp]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& client = rig.client(port);
  REQUIRE(client.start().ok());
  CHECK(client.sink.callbacks() == 0);  // never inside start()
  REQUIRE(rig.run_until([&] { return !client.sink.failed_.empty(); }));
  const Status& why = client.sink.failed_[0];
  CHECK(why.code == Code::io);
  CHECK_THAT(why.message, Catch::Contains("cannot connect to 127.0.0.1:" + std::to_string(port) + ": ") &&
                              Catch::Contains("refused"));
  rig.run_for(50ms);
  CHECK(client.sink.failed_.size() == 1);
  CHECK(client.sink.opened_.empty());
  CHECK(client.sink.violations.empty());
  CHECK(client.start().code == Code::internal);  // start() only once
}

TEST_CASE("a host name that does not resolve calls failed()", "[transport_tcp]") {
  Rig rig;
  Instance& client =
      rig.make({{"connect", std::string("no-such-host.invalid")}, {"connect_timeout", std::int64_t{3}}});
  REQUIRE(client.start().ok());
  REQUIRE(rig.run_until([&] { return !client.sink.failed_.empty(); }, 6000ms));
  CHECK(client.sink.failed_[0].code == Code::io);
  CHECK_THAT(client.sink.failed_[0].message, Catch::StartsWith("cannot connect to no-such-host.invalid:5000: "));
  CHECK(client.sink.failed_.size() == 1);
}

TEST_CASE("a host name that resolves is connected to", "[transport_tcp]") {
  Rig rig;
  const std::uint16_t port = free_port();
  Instance& server = rig.make({{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}});
  Instance& client = rig.make({{"connect", std::string("localhost")}, {"port", std::int64_t{port}}});
  REQUIRE(server.start().ok());
  REQUIRE(client.start().ok());
  // localhost may resolve to ::1 first: async_connect then tries 127.0.0.1.
  REQUIRE(rig.run_until([&] { return !client.sink.opened_.empty(); }));
  CHECK(client.sink.opened_[0].peer.address == "127.0.0.1");
  CHECK(client.sink.failed_.empty());
}

TEST_CASE("a connect that gets no answer fails after connect_timeout", "[transport_tcp]") {
  Rig rig;
  // A listener with a full accept queue: Linux drops further SYNs, so a
  // connect neither succeeds nor fails (loopback only).
  tcp::acceptor full(rig.io());
  full.open(tcp::v4());
  full.bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  full.listen(0);
  const tcp::endpoint ep = full.local_endpoint();
  std::vector<std::unique_ptr<tcp::socket>> fillers;
  int connected = 0;
  for (int i = 0; i < 3; ++i) {
    fillers.push_back(std::make_unique<tcp::socket>(rig.io()));
    fillers.back()->async_connect(ep, [&](const boost::system::error_code& ec) { connected += ec ? 0 : 1; });
  }
  rig.run_for(100ms);
  Instance& client = rig.client(ep.port(), {{"connect_timeout", std::int64_t{1}}});
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(client.start().ok());
  REQUIRE(rig.run_until([&] { return !client.sink.failed_.empty() || !client.sink.opened_.empty(); }, 5000ms));
  if (!client.sink.opened_.empty()) {
    WARN("SKIPPED: this kernel accepted a connection beyond the backlog");
    return;
  }
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(client.sink.failed_[0].code == Code::io);
  CHECK(client.sink.failed_[0].message ==
        "cannot connect to 127.0.0.1:" + std::to_string(ep.port()) + ": timed out after 1 s");
  CHECK(waited >= 900ms);
  CHECK(waited < 3000ms);
  rig.run_for(50ms);
  CHECK(client.sink.failed_.size() == 1);
}
