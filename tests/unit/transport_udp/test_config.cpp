// Options: the schema, defaults, and clear errors for bad values.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace udptest;

namespace {

std::string error_of(Rig& rig, const std::map<std::string, vpnsdk::OptionValue>& given) {
  Instance& i = rig.make(given);
  REQUIRE(i.plugin == nullptr);
  CHECK(i.create_status.code == Code::config);
  return i.create_status.message;
}

}  // namespace

TEST_CASE("the descriptor names the plugin, its stage and every option", "[transport_udp][config]") {
  Rig rig;
  const auto& d = rig.descriptor();
  CHECK(std::string(d.name) == "transport_udp");
  CHECK(d.stage == vpnsdk::Stage::transport);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < d.option_count; ++i) names.emplace_back(d.options[i].name);
  for (const char* want : {"listen", "connect", "port", "max_queue_frames", "recv_batch", "send_batch", "sndbuf",
                           "rcvbuf", "connect_timeout", "close_timeout_ms", "retransmit_ms", "retransmit_attempts",
                           "keepalive", "max_sessions", "new_sessions_per_second", "open_on"})
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
}

TEST_CASE("listen and connect: exactly one", "[transport_udp][config]") {
  Rig rig;
  CHECK_THAT(error_of(rig, {}), Catch::Contains("exactly one of the options 'listen'"));
  CHECK_THAT(error_of(rig, {{"listen", std::string("127.0.0.1")}, {"connect", std::string("127.0.0.1")}}),
             Catch::Contains("exactly one of the options 'listen'"));
  CHECK_THAT(error_of(rig, {{"listen", std::string("example.org")}}),
             Catch::Contains("option 'listen'") && Catch::Contains("numeric"));
  Instance& ok = rig.make({{"listen", std::string("::")}});
  CHECK(ok.plugin != nullptr);
}

TEST_CASE("numeric options are range-checked and name the option", "[transport_udp][config]") {
  Rig rig;
  const std::map<std::string, vpnsdk::OptionValue> base{{"listen", std::string("127.0.0.1")}};
  for (auto [name, bad] : std::vector<std::pair<std::string, std::int64_t>>{{"port", 0},
                                                                             {"port", 70000},
                                                                             {"recv_batch", 0},
                                                                             {"recv_batch", 5000},
                                                                             {"send_batch", 0},
                                                                             {"max_queue_frames", 0},
                                                                             {"retransmit_ms", -1},
                                                                             {"keepalive", -5},
                                                                             {"max_sessions", 0}}) {
    auto given = base;
    given[name] = bad;
    INFO(name << " = " << bad);
    CHECK_THAT(error_of(rig, given), Catch::Contains("option '" + name + "'") && Catch::Contains("must be in"));
  }
}

TEST_CASE("open_on accepts hello, handshake and any only", "[transport_udp][config]") {
  Rig rig;
  CHECK_THAT(error_of(rig, {{"listen", std::string("127.0.0.1")},
                            {"open_on", std::vector<std::string>{"hello", "data"}}}),
             Catch::Contains("option 'open_on'") && Catch::Contains("\"data\""));
  CHECK_THAT(error_of(rig, {{"listen", std::string("127.0.0.1")}, {"open_on", std::vector<std::string>{}}}),
             Catch::Contains("at least one"));
  CHECK(rig.make({{"listen", std::string("127.0.0.1")}, {"open_on", std::vector<std::string>{"any"}}}).plugin !=
        nullptr);
}

TEST_CASE("start fails cleanly when the port is taken", "[transport_udp][config]") {
  Rig rig;
  RawPeer squatter(rig.io());
  Instance& s = rig.server(squatter.port());
  REQUIRE(s.plugin != nullptr);
  const Status st = s.start();
  CHECK(st.code == Code::io);
  CHECK_THAT(st.message, Catch::Contains("cannot listen on udp 127.0.0.1:" + std::to_string(squatter.port())));
  CHECK(s.sink.callbacks() == 0);
}
