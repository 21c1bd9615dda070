// A Pipeline with fake stages, for the core's unit tests (roaming,
// unauthenticated input, pool shares): the transport records what the host
// sends and closes, the cipher opens everything but a body that starts with
// kForged, authenticates its peer or nobody (as cipher_xor), and has a
// handshake or none (then HANDSHAKE frames fail, as with cipher_xor).
#pragma once
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vpnhost/pipeline.hpp"
#include "vpnhost/protocol.hpp"

namespace coretest {

using vpnsdk::Code;
using vpnsdk::Status;
using vpnsdk::wire::FrameType;

constexpr std::byte kForged{0xee};  // a body starting with this fails open() and handshake()

struct FakeTransport final : vpnsdk::Transport {
  vpnsdk::TransportSink* sink = nullptr;
  std::vector<std::pair<vpnsdk::SessionId, std::uint32_t>> adopt_calls;
  std::optional<vpnsdk::Endpoint> adopt_answer{vpnsdk::Endpoint{"172.31.9.9", 40000}};
  bool throw_in_adopt = false;
  std::vector<std::pair<vpnsdk::SessionId, std::uint8_t>> sent;  // (session, frame type)
  std::vector<std::pair<vpnsdk::SessionId, std::string>> closes;
  bool keep_sent = false;  // hold sent frames (their pool buffers) in `held`
  std::vector<vpnsdk::PacketPtr> held;

  vpnsdk::Overhead overhead() const override { return {8, 0}; }
  Status start(vpnsdk::TransportSink& s) override {
    sink = &s;
    return {};
  }
  Status send(vpnsdk::SessionId id, vpnsdk::Batch frames) override {
    for (auto& f : frames) {
      if (!f) continue;
      sent.emplace_back(id, f->meta.frame_type);
      if (keep_sent) held.push_back(std::move(f));
      f.reset();
    }
    return {};
  }
  void close(vpnsdk::SessionId id, const Status& why) override { closes.emplace_back(id, why.message); }
  std::optional<vpnsdk::Endpoint> adopt_path(vpnsdk::SessionId id, std::uint32_t path) override {
    adopt_calls.emplace_back(id, path);
    if (throw_in_adopt) throw std::runtime_error("adopt_path exploded");
    return adopt_answer;
  }
  void stop() override {}
  std::size_t sent_of(FrameType t) const {
    std::size_t n = 0;
    for (const auto& [id, type] : sent)
      if (type == static_cast<std::uint8_t>(t)) ++n;
    return n;
  }
};

struct CipherBehaviour {
  bool authenticates = true;  // peer() names someone (false: as cipher_xor)
  bool has_handshake = false; // false: the SDK's default handshake() (session_fatal), as cipher_xor
  bool starts_established = true;  // false: established once handshake() accepted a message
  int handshake_calls = 0;
};

struct FakeCipherSession final : vpnsdk::CipherSession {
  CipherBehaviour& b;
  bool done;
  explicit FakeCipherSession(CipherBehaviour& behaviour) : b(behaviour), done(behaviour.starts_established) {}
  Status handshake(std::span<const std::byte> in, vpnsdk::HandshakeMessages& out) override {
    ++b.handshake_calls;
    if (!b.has_handshake) return CipherSession::handshake(in, out);
    if (in.empty() || in[0] == kForged) return Status::error(Code::session_fatal, "initiation does not authenticate");
    done = true;
    return {};
  }
  bool established() const override { return done; }
  Status seal(vpnsdk::PacketBuffer&) override { return {}; }
  Status open(vpnsdk::PacketBuffer& buf) override {
    if (!buf.empty() && buf.bytes()[0] == kForged) return Status::error(Code::drop_auth, "bad tag");
    return {};
  }
  std::optional<vpnsdk::PeerIdentity> peer() const override {
    if (!b.authenticates) return std::nullopt;
    return vpnsdk::PeerIdentity{"alice", {1, 2, 3}, std::nullopt};
  }
};

struct FakeCipher final : vpnsdk::Cipher {
  CipherBehaviour behaviour;
  vpnsdk::Overhead overhead() const override { return {0, 0}; }
  Status new_session(const vpnsdk::SessionInfo&, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    out = std::make_unique<FakeCipherSession>(behaviour);
    return {};
  }
};

struct FakeRouter final : vpnsdk::Router {
  std::uint32_t next = 0x0a000002;  // 10.0.0.2
  Status assigned_answer;           // client side: what assigned() says
  Status assigned(vpnsdk::SessionId, const vpnsdk::Assignment&) override { return assigned_answer; }
  Status assign(const vpnsdk::SessionInfo&, const vpnsdk::PeerIdentity*, vpnsdk::Assignment& out) override {
    out.address = next++;
    out.prefix_len = 24;
    out.server = 0x0a000001;
    return {};
  }
  std::optional<vpnsdk::Assignment> local() const override { return std::nullopt; }
  vpnsdk::RouteDecision route(const vpnsdk::PacketBuffer&, vpnsdk::SessionId) override {
    return vpnsdk::RouteDecision::drop("test");
  }
};

inline std::unique_ptr<vpnhost::StageInstance> stage(const char* name, vpnsdk::Plugin* p) {
  auto s = std::make_unique<vpnhost::StageInstance>();
  s->name = name;
  s->object = p;  // destroy stays nullptr: the test owns the object
  return s;
}

struct PipelineRig {
  boost::asio::io_context io;
  vpnsdk::PacketPool pool;
  vpnhost::CounterRegistry counters;
  FakeTransport transport;
  FakeCipher cipher;
  FakeRouter router;
  vpnhost::Stages stages;
  std::unique_ptr<vpnhost::Pipeline> pipeline;
  static constexpr vpnsdk::SessionId kId = 7;

  explicit PipelineRig(CipherBehaviour b = {}, vpnsdk::PoolConfig pc = {}) : pool(pc) {
    cipher.behaviour = b;
    stages.transport = stage("fake_transport", &transport);
    stages.cipher = stage("fake_cipher", &cipher);
    stages.router = stage("fake_router", &router);
    pipeline = std::make_unique<vpnhost::Pipeline>(io, pool, counters, stages, vpnhost::SessionLimits{});
    REQUIRE(pipeline->start().ok());
  }
  // A server-side session from a client.
  void open(vpnsdk::SessionId id = kId) { transport.sink->opened({id, vpnsdk::Role::responder, {"172.31.1.2", 33333}}); }
  // A client-side session to a server (the pipeline sends HELLO at once).
  void open_client(vpnsdk::SessionId id = kId) {
    transport.sink->opened({id, vpnsdk::Role::initiator, {"172.31.1.1", 5000}});
  }

  vpnsdk::PacketPtr frame(FrameType type, std::span<const std::byte> body, std::uint32_t path = 0,
                          vpnsdk::SessionId id = kId) {
    vpnsdk::PacketPtr p = pool.acquire();
    REQUIRE(p);
    REQUIRE(p->append(body));
    p->meta.frame_type = static_cast<std::uint8_t>(type);
    p->meta.session = id;
    p->meta.path = path;
    return p;
  }
  void receive(FrameType type, std::span<const std::byte> body, std::uint32_t path = 0, vpnsdk::SessionId id = kId) {
    vpnsdk::PacketPtr p = frame(type, body, path, id);
    transport.sink->received(id, vpnsdk::Batch(&p, 1));
  }
  void receive_bytes(FrameType type, const vpnhost::protocol::Bytes& body, vpnsdk::SessionId id = kId) {
    receive(type, std::span<const std::byte>(body.data(), body.size()), 0, id);
  }
  // Opens session `id` and runs HELLO/WELCOME: it is established.
  void establish(vpnsdk::SessionId id = kId) {
    open(id);
    if (!cipher.behaviour.starts_established) {
      const std::byte init[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
      receive(FrameType::handshake, init, 0, id);
    }
    receive_bytes(FrameType::hello, vpnhost::protocol::encode(vpnhost::protocol::Hello{}), id);
    REQUIRE(state(id) == "established");
  }
  std::optional<vpnhost::SessionSnapshot> snapshot(vpnsdk::SessionId id = kId) const {
    for (const auto& s : pipeline->session_snapshots())
      if (s.id == id) return s;
    return std::nullopt;
  }
  std::string state(vpnsdk::SessionId id = kId) const {
    auto s = snapshot(id);
    return s ? s->state : "(no session)";
  }
  std::string peer_shown(vpnsdk::SessionId id = kId) const {
    auto s = snapshot(id);
    return s ? s->peer : "(no session)";
  }
  std::size_t closes_of(vpnsdk::SessionId id = kId) const {
    std::size_t n = 0;
    for (const auto& c : transport.closes)
      if (c.first == id) ++n;
    return n;
  }
};

}  // namespace coretest
