// The fixture of the core's in-process tests: a CoreUnderTest on fake
// stages — FakeTransport, FakeCipher, the stock router (router_hub on a
// server, router_client on a client) behind a FaultyRouter, optionally a
// FakeDevice and responders (stock or fixture plugins, or the
// FakeResponder) — plus the frames and packets tests send it.
//
//   Rig rig({.device = true});
//   rig.establish(1);                       // HELLO/WELCOME: 10.10.0.2
//   rig.mark();
//   rig.send_packet(1, make_ipv4(...));     // a sealed DATA frame from session 1
//   CHECK(rig.moved() == Moved{{"drop.no_route", 1}, ...});
#pragma once
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core_under_test.hpp"
#include "counter_diff.hpp"
#include "fake_cipher.hpp"
#include "fake_device.hpp"
#include "fake_responder.hpp"
#include "fake_transport.hpp"
#include "faulty_router.hpp"
#include "log_capture.hpp"
#include "plugin_stage.hpp"
#include "vpnhost/protocol.hpp"

namespace coretest {

namespace proto = vpnhost::protocol;

struct RigConfig {
  vpnhost::SessionLimits limits{};
  CipherBehaviour cipher{};
  vpnsdk::PoolConfig pool{};
  bool client = false;  // router_client (sessions: Role::initiator) instead of router_hub
  bool device = false;
  // In order: plugin names (stock or fixture .so), or "fake" for the FakeResponder.
  std::vector<std::string> responders{};
  std::map<std::string, vpnsdk::OptionValue> router_options{};
};

// A stage entry for a fake the test owns (the core must not destroy it).
inline std::unique_ptr<vpnhost::StageInstance> stage(const char* name, vpnsdk::Plugin* p) {
  auto s = std::make_unique<vpnhost::StageInstance>();
  s->name = name;
  s->table = name;
  s->object = p;  // destroy stays nullptr
  return s;
}

class Rig {
 public:
  static constexpr vpnsdk::SessionId kId = 7;  // the default session
  static constexpr std::uint32_t kServer = 0x0a0a0001;  // router_hub's defaults: 10.10.0.1,
  static constexpr std::uint32_t kFirst = 0x0a0a0002;   // the pool from 10.10.0.2

  LogCapture log;  // first: the core and plugin loggers are made from it
  CoreUnderTest core;
  FakeTransport transport{core.io};
  FakeCipher cipher;
  FakeDevice device;
  FakeResponder responder;
  std::unique_ptr<FaultyRouter> router;
  CounterDiff diff{core.counters};

  explicit Rig(RigConfig c = {}) : core(c.pool) {
    cipher.behaviour = c.cipher;
    const char* stock_router = c.client ? "router_client" : "router_hub";
    router = std::make_unique<FaultyRouter>(
        plugin_stage(stock_router, "router", core.io, core.pool, core.counters, c.router_options));
    core.stages.transport = stage("fake_transport", &transport);
    core.stages.cipher = stage("fake_cipher", &cipher);
    core.stages.router = stage(stock_router, router.get());
    if (c.device) core.stages.device = stage("fake_device", &device);
    for (std::size_t i = 0; i < c.responders.size(); ++i) {
      const std::string table = "responder #" + std::to_string(i + 1);
      if (c.responders[i] == "fake")
        core.stages.responders.push_back(stage("fake_responder", &responder));
      else
        core.stages.responders.push_back(responder_stage(c.responders[i], table));
    }
    core.build(c.limits);
    REQUIRE(core.start().ok());
    diff.mark();
  }
  ~Rig() { core.teardown(); }  // the core before the fakes it points to
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  std::unique_ptr<vpnhost::StageInstance> responder_stage(const std::string& plugin,
                                                          const std::string& table = "responder #1") {
    return plugin_stage(plugin, table, core.io, core.pool, core.counters);
  }

  // --- sessions ---
  // A server-side session from a client; a client-side one to a server (it says HELLO at once).
  void open(vpnsdk::SessionId id = kId, vpnsdk::Endpoint peer = {"172.31.1.2", 33333}) {
    transport.open(id, vpnsdk::Role::responder, std::move(peer));
  }
  void open_client(vpnsdk::SessionId id = kId) { transport.open(id, vpnsdk::Role::initiator, {"172.31.1.1", 5000}); }
  // Opens session `id` and runs HELLO/WELCOME (after the cipher's handshake, if it has one).
  void establish(vpnsdk::SessionId id = kId, const proto::Hello& hello = {}) {
    open(id);
    if (!cipher.behaviour.starts_established) {
      const std::byte init[4] = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
      receive(FrameType::handshake, init, 0, id);
    }
    send_hello(id, hello);
    REQUIRE(state(id) == "established");
  }
  // A HELLO from the client of session `id`.
  void send_hello(vpnsdk::SessionId id = kId, const proto::Hello& hello = {}) {
    receive_bytes(FrameType::hello, proto::encode(hello), id);
  }
  // A client session that got `a` in its WELCOME.
  void establish_client(const vpnsdk::Assignment& a, vpnsdk::SessionId id = kId) {
    open_client(id);
    receive_bytes(FrameType::welcome, welcome_body(a), id);
    REQUIRE(state(id) == "established");
  }
  static proto::Bytes welcome_body(const vpnsdk::Assignment& a) {
    proto::Welcome w;
    w.max_body = 9216;
    w.assignment = a;
    return proto::encode(w);
  }
  // What a server assigns a client: 10.10.0.2/24, server 10.10.0.1, MTU 1400.
  static vpnsdk::Assignment assignment(std::uint16_t keepalive_s = 10, std::uint16_t timeout_s = 60) {
    vpnsdk::Assignment a;
    a.address = kFirst;
    a.prefix_len = 24;
    a.server = kServer;
    a.mtu = 1400;
    a.keepalive_s = keepalive_s;
    a.timeout_s = timeout_s;
    return a;
  }

  // --- frames to the core ---
  // A frame as the peer sends it: sealed by the fake cipher (HANDSHAKE
  // messages are not sealed), or `forged` (not sealed: it fails to authenticate).
  vpnsdk::PacketPtr frame(FrameType type, std::span<const std::byte> body, vpnsdk::SessionId id = kId,
                          std::uint32_t path = 0, bool forged = false) {
    vpnsdk::PacketPtr p = core.pool.acquire();
    REQUIRE(p);
    const bool seal = type != FrameType::handshake && !forged;
    const std::vector<std::byte> wire = seal ? sealed(body) : std::vector<std::byte>(body.begin(), body.end());
    REQUIRE(p->append(wire));
    p->meta.frame_type = static_cast<std::uint8_t>(type);
    p->meta.session = id;
    p->meta.path = path;
    return p;
  }
  void receive(FrameType type, std::span<const std::byte> body, std::uint32_t path = 0, vpnsdk::SessionId id = kId) {
    deliver(frame(type, body, id, path));
  }
  void receive_bytes(FrameType type, const proto::Bytes& body, vpnsdk::SessionId id = kId) {
    receive(type, std::span<const std::byte>(body.data(), body.size()), 0, id);
  }
  // A frame that does not authenticate (not sealed), e.g. from an attacker who knows the session id.
  void receive_forged(FrameType type, std::span<const std::byte> body, vpnsdk::SessionId id = kId,
                      std::uint32_t path = 0) {
    deliver(frame(type, body, id, path, true));
  }
  void deliver(vpnsdk::PacketPtr p) {
    std::vector<vpnsdk::PacketPtr> one;
    one.push_back(std::move(p));
    transport.deliver(std::move(one));
  }
  void send_packet(vpnsdk::SessionId from, const std::vector<std::byte>& ip) { receive(FrameType::data, ip, 0, from); }
  void bye(vpnsdk::SessionId id, proto::ByeReason r = proto::ByeReason::leaving, const std::string& text = "") {
    receive_bytes(FrameType::bye, proto::encode(proto::Bye{r, text}), id);
  }
  // A packet read from the device.
  void from_device(const std::vector<std::byte>& ip) {
    vpnsdk::PacketPtr p = core.pool.acquire();
    REQUIRE(p);
    REQUIRE(p->append(ip));
    std::vector<vpnsdk::PacketPtr> one;
    one.push_back(std::move(p));
    device.inject(std::move(one));
  }

  // --- frames from the core ---
  // The plaintext bodies of the frames of `type` sent to session `id`; each must have been sealed.
  std::vector<std::vector<std::byte>> sent(vpnsdk::SessionId id, FrameType type) const {
    std::vector<std::vector<std::byte>> out;
    for (const SentFrame* f : transport.frames_to(id, type)) {
      auto body = unsealed(f->wire);
      REQUIRE(body);  // the core sent a frame its cipher did not seal
      out.push_back(*body);
    }
    return out;
  }
  // The last frame of `type` sent to session `id`, decoded (nullopt: none was sent).
  template <class Body>
  std::optional<Body> last_sent(vpnsdk::SessionId id, FrameType type) const {
    auto bodies = sent(id, type);
    if (bodies.empty()) return std::nullopt;
    Body b;
    REQUIRE(proto::decode(bodies.back(), b).empty());
    return b;
  }
  std::optional<proto::Hello> hello_sent(vpnsdk::SessionId id = kId) const {
    return last_sent<proto::Hello>(id, FrameType::hello);
  }
  std::optional<proto::Welcome> welcome_sent(vpnsdk::SessionId id = kId) const {
    return last_sent<proto::Welcome>(id, FrameType::welcome);
  }
  std::optional<proto::Reject> reject_sent(vpnsdk::SessionId id = kId) const {
    return last_sent<proto::Reject>(id, FrameType::reject);
  }
  std::optional<proto::Bye> bye_sent(vpnsdk::SessionId id = kId) const {
    return last_sent<proto::Bye>(id, FrameType::bye);
  }

  // --- state ---
  std::optional<vpnhost::SessionSnapshot> snapshot(vpnsdk::SessionId id = kId) const { return core.session(id); }
  std::string state(vpnsdk::SessionId id = kId) const {
    auto s = snapshot(id);
    return s ? s->state : "(no session)";
  }
  std::string peer_shown(vpnsdk::SessionId id = kId) const {
    auto s = snapshot(id);
    return s ? s->peer : "(no session)";
  }
  std::string address(vpnsdk::SessionId id = kId) const {
    auto s = snapshot(id);
    return s ? s->address : "(no session)";
  }
  std::size_t closes_of(vpnsdk::SessionId id = kId) const { return transport.closes_of(id); }
  // Counters that moved since the rig started, or since the last mark().
  Moved moved() const { return diff.moved(); }
  void mark() { diff.mark(); }
  std::uint64_t counter(const std::string& name) const { return core.counters.value(name); }
};

}  // namespace coretest

// CHECK(rig.bye_sent(1) == proto::Bye{proto::ByeReason::timeout, "idle timeout"}), and the same for REJECT.
namespace vpnhost::protocol {
inline bool operator==(const Bye& a, const Bye& b) { return a.reason == b.reason && a.text == b.text; }
inline bool operator==(const Reject& a, const Reject& b) { return a.code == b.code && a.reason == b.reason; }
}  // namespace vpnhost::protocol

template <>
struct Catch::StringMaker<vpnhost::protocol::Bye> {
  static std::string convert(const vpnhost::protocol::Bye& b) {
    return "BYE " + std::to_string(int(b.reason)) + " \"" + b.text + "\"";
  }
};
template <>
struct Catch::StringMaker<vpnhost::protocol::Reject> {
  static std::string convert(const vpnhost::protocol::Reject& r) {
    return "REJECT " + std::to_string(int(r.code)) + " \"" + r.reason + "\"";
  }
};
