// Pipeline roaming (core/src/roaming.cpp) with fake stages: a frame marked
// with meta.path moves its session only after the cipher opened it and only
// if the cipher authenticates its peer; otherwise nothing moves.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "vpnhost/pipeline.hpp"

namespace {

using vpnsdk::Code;
using vpnsdk::Status;

constexpr std::uint8_t KEEPALIVE = 4;
constexpr std::byte kForged{0xee};  // a body starting with this fails to open

struct FakeTransport final : vpnsdk::Transport {
  vpnsdk::TransportSink* sink = nullptr;
  std::vector<std::pair<vpnsdk::SessionId, std::uint32_t>> adopt_calls;
  std::optional<vpnsdk::Endpoint> adopt_answer{vpnsdk::Endpoint{"172.31.9.9", 40000}};
  bool throw_in_adopt = false;

  vpnsdk::Overhead overhead() const override { return {8, 0}; }
  Status start(vpnsdk::TransportSink& s) override {
    sink = &s;
    return {};
  }
  Status send(vpnsdk::SessionId, vpnsdk::Batch frames) override {
    for (auto& f : frames) f.reset();
    return {};
  }
  void close(vpnsdk::SessionId, const Status&) override {}
  std::optional<vpnsdk::Endpoint> adopt_path(vpnsdk::SessionId id, std::uint32_t path) override {
    adopt_calls.emplace_back(id, path);
    if (throw_in_adopt) throw std::runtime_error("adopt_path exploded");
    return adopt_answer;
  }
  void stop() override {}
};

struct FakeCipherSession final : vpnsdk::CipherSession {
  bool authenticates;
  explicit FakeCipherSession(bool a) : authenticates(a) {}
  Status seal(vpnsdk::PacketBuffer&) override { return {}; }
  Status open(vpnsdk::PacketBuffer& b) override {
    if (!b.empty() && b.bytes()[0] == kForged) return Status::error(Code::drop_auth, "bad tag");
    return {};
  }
  std::optional<vpnsdk::PeerIdentity> peer() const override {
    if (!authenticates) return std::nullopt;
    return vpnsdk::PeerIdentity{"alice", {1, 2, 3}, std::nullopt};
  }
};

struct FakeCipher final : vpnsdk::Cipher {
  bool authenticates = true;
  vpnsdk::Overhead overhead() const override { return {0, 0}; }
  Status new_session(const vpnsdk::SessionInfo&, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    out = std::make_unique<FakeCipherSession>(authenticates);
    return {};
  }
};

struct FakeRouter final : vpnsdk::Router {
  std::optional<vpnsdk::Assignment> local() const override { return std::nullopt; }
  vpnsdk::RouteDecision route(const vpnsdk::PacketBuffer&, vpnsdk::SessionId) override {
    return vpnsdk::RouteDecision::drop("test");
  }
};

std::unique_ptr<vpnhost::StageInstance> stage(const char* name, vpnsdk::Plugin* p) {
  auto s = std::make_unique<vpnhost::StageInstance>();
  s->name = name;
  s->object = p;  // destroy stays nullptr: the test owns the object
  return s;
}

struct Fixture {
  boost::asio::io_context io;
  vpnsdk::PacketPool pool;
  vpnhost::CounterRegistry counters;
  FakeTransport transport;
  FakeCipher cipher;
  FakeRouter router;
  vpnhost::Stages stages;
  std::unique_ptr<vpnhost::Pipeline> pipeline;
  static constexpr vpnsdk::SessionId kId = 7;

  explicit Fixture(bool authenticates) {
    cipher.authenticates = authenticates;
    stages.transport = stage("fake_transport", &transport);
    stages.cipher = stage("fake_cipher", &cipher);
    stages.router = stage("fake_router", &router);
    pipeline = std::make_unique<vpnhost::Pipeline>(io, pool, counters, stages, vpnhost::SessionLimits{});
    REQUIRE(pipeline->start().ok());
    transport.sink->opened({kId, vpnsdk::Role::responder, {"172.31.1.2", 33333}});
  }
  void receive(std::uint32_t path, std::byte first = std::byte{0}) {
    vpnsdk::PacketPtr p = pool.acquire();
    const std::byte body[4] = {first, std::byte{1}, std::byte{2}, std::byte{3}};
    REQUIRE(p->append(body));
    p->meta.frame_type = KEEPALIVE;
    p->meta.session = kId;
    p->meta.path = path;
    transport.sink->received(kId, vpnsdk::Batch(&p, 1));
  }
  std::string peer_shown() const {
    for (const auto& s : pipeline->session_snapshots())
      if (s.id == kId) return s.peer;
    return "(no session)";
  }
};

}  // namespace

TEST_CASE("an authenticated frame from a new path moves the session: status shows the new endpoint",
          "[core][roaming]") {
  Fixture fx(true);
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  fx.receive(0);  // from the current endpoint: nothing to do
  CHECK(fx.transport.adopt_calls.empty());
  fx.receive(42);
  REQUIRE(fx.transport.adopt_calls.size() == 1);
  CHECK(fx.transport.adopt_calls[0] == std::make_pair(Fixture::kId, std::uint32_t{42}));
  CHECK(fx.peer_shown() == "172.31.9.9:40000");
  CHECK(fx.counters.value("host.roams") == 1);
  CHECK(fx.pipeline->session_count() == 1);

  // A stale token (the transport answers nullopt): nothing moves, the frame still counts.
  fx.transport.adopt_answer.reset();
  fx.receive(41);
  CHECK(fx.transport.adopt_calls.size() == 2);
  CHECK(fx.peer_shown() == "172.31.9.9:40000");
  CHECK(fx.counters.value("host.roams") == 1);
  CHECK(fx.counters.value("drop.roaming_unauthenticated") == 0);
}

TEST_CASE("a frame from a new path that fails to open moves nothing", "[core][roaming]") {
  Fixture fx(true);
  fx.receive(42, kForged);
  CHECK(fx.transport.adopt_calls.empty());
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  CHECK(fx.counters.value("host.roams") == 0);
  CHECK(fx.counters.value("drop.auth") == 1);
  CHECK(fx.pipeline->session_count() == 1);
}

TEST_CASE("with a cipher that authenticates nobody a frame from a new path is dropped and counted",
          "[core][roaming]") {
  Fixture fx(false);
  fx.receive(42);
  CHECK(fx.transport.adopt_calls.empty());
  CHECK(fx.peer_shown() == "172.31.1.2:33333");
  CHECK(fx.counters.value("drop.roaming_unauthenticated") == 1);
  CHECK(fx.counters.value("host.roams") == 0);
  CHECK(fx.pipeline->session_count() == 1);  // dropped, not ended
  fx.receive(0);  // from its own endpoint it is fine
  CHECK(fx.counters.value("drop.roaming_unauthenticated") == 1);
}

TEST_CASE("a transport that throws in adopt_path() is contained: counted, that session ends", "[core][roaming]") {
  Fixture fx(true);
  fx.transport.throw_in_adopt = true;
  fx.receive(42);
  CHECK(fx.counters.value("host.plugin_exceptions") == 1);
  CHECK(fx.counters.value("host.roams") == 0);
}
