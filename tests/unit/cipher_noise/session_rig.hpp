// A server context and a client context of cipher_noise, built from the
// plugin's own sources with a fake clock, and helpers to run handshakes and
// move frames between their sessions in memory.
#pragma once
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <optional>

#include "../../../plugins/cipher_noise/key_files.hpp"
#include "../../../plugins/cipher_noise/noise_session.hpp"
#include "support.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/wire.hpp"

namespace noise_test {

using namespace cipher_noise;
using vpnsdk::Code;
using vpnsdk::HandshakeMessages;

struct FakeTime {
  SteadyClock::time_point steady = SteadyClock::time_point{} + std::chrono::hours(1000);
  std::chrono::system_clock::time_point wall = std::chrono::system_clock::time_point{} + std::chrono::seconds(1700000000);
  void advance(std::chrono::milliseconds d) {
    steady += d;
    wall += d;
  }
};

struct Side {
  FakeTime& time;
  vpnsdk::testkit::SimpleCounters counters;
  std::shared_ptr<NoiseContext> ctx;
  std::uint64_t value(const std::string& name) const { return counters.value(name); }
};

inline void attach_clock(Side& s) {
  FakeTime* t = &s.time;
  s.ctx->now = [t] { return t->steady; };
  s.ctx->wall = [t] { return t->wall; };
}

struct Rig {
  FakeTime time;
  DhKeyPair server_key = generate_keypair();
  DhKeyPair alice_key = generate_keypair();
  DhKeyPair bob_key = generate_keypair();
  DhKeyPair stranger_key = generate_keypair();
  vpnsdk::PacketPool pool;

  std::unique_ptr<Side> server;

  explicit Rig(std::optional<Key> psk = std::nullopt, int burst = 20) {
    NoiseConfig c;
    c.self = server_key.clone();
    c.clients = AuthorizedClients::parse(to_base64(alice_key.pub) + " alice 10.10.0.5\n" + to_base64(bob_key.pub) + " bob\n",
                                         "authorized_clients");
    c.psk = std::move(psk);
    c.handshake_burst = burst;
    c.handshakes_per_second = 1;
    server = std::make_unique<Side>(Side{time, {}, nullptr});
    server->ctx = std::make_shared<NoiseContext>(std::move(c), server->counters, nullptr);
    attach_clock(*server);
  }

  std::unique_ptr<Side> client(const DhKeyPair& key, std::optional<PublicKey> server_pub = std::nullopt,
                               std::optional<Key> psk = std::nullopt) {
    NoiseConfig c;
    c.self = key.clone();
    c.server = server_pub ? *server_pub : server_key.pub;
    c.psk = std::move(psk);
    auto side = std::make_unique<Side>(Side{time, {}, nullptr});
    side->ctx = std::make_shared<NoiseContext>(std::move(c), side->counters, nullptr);
    attach_clock(*side);
    return side;
  }

  static std::unique_ptr<NoiseSession> session(Side& s, vpnsdk::Role role, vpnsdk::SessionId id = 1,
                                               const std::string& peer = "172.31.1.2") {
    vpnsdk::SessionInfo info;
    info.id = id;
    info.role = role;
    info.peer = {peer, 40000};
    return std::make_unique<NoiseSession>(s.ctx, info);
  }

  vpnsdk::PacketPtr packet(const Bytes& b, vpnsdk::wire::FrameType t = vpnsdk::wire::FrameType::data) {
    vpnsdk::PacketPtr p = pool.acquire();
    REQUIRE(p);
    REQUIRE(p->append(std::as_bytes(std::span<const std::uint8_t>(b))));
    p->meta.frame_type = static_cast<std::uint8_t>(t);
    return p;
  }
};

inline Bytes bytes_of(const vpnsdk::PacketBuffer& p) {
  const auto* d = reinterpret_cast<const std::uint8_t*>(p.data());
  return Bytes(d, d + p.size());
}
inline Bytes bytes_of(const std::vector<std::byte>& v) {
  const auto* d = reinterpret_cast<const std::uint8_t*>(v.data());
  return Bytes(d, d + v.size());
}

// Delivers every message of `msgs` to `to`; returns what `to` answered.
inline HandshakeMessages deliver(NoiseSession& to, const HandshakeMessages& msgs, Code expect = Code::ok) {
  HandshakeMessages out;
  for (const auto& m : msgs) {
    auto st = to.handshake(m, out);
    INFO(st.message);
    CHECK(st.code == expect);
  }
  return out;
}

// The client's first frame (its HELLO; empty here) to the server: what
// confirms the handshake's keys there. The status of the server's open().
inline vpnsdk::Status first_frame(Rig& rig, NoiseSession& client, NoiseSession& server) {
  auto p = rig.packet({}, vpnsdk::wire::FrameType::hello);
  REQUIRE(client.seal(*p).ok());
  return server.open(*p);
}

// start() on the client, the initiation to the server, the response back;
// the server's session is not confirmed yet.
inline void handshake_only(NoiseSession& client, NoiseSession& server) {
  HandshakeMessages m1;
  REQUIRE(client.start(m1).ok());
  REQUIRE(m1.size() == 1);
  CHECK(m1[0].size() == kInitiationSize);
  auto m2 = deliver(server, m1);
  REQUIRE(m2.size() == 1);
  CHECK(m2[0].size() == kResponseSize);
  REQUIRE(server.established());
  auto none = deliver(client, m2);
  CHECK(none.empty());
  REQUIRE(client.established());
}

// handshake_only(), then the client's first frame, as a real client's HELLO.
inline void connect(Rig& rig, NoiseSession& client, NoiseSession& server) {
  handshake_only(client, server);
  CHECK_FALSE(server.confirmed());
  REQUIRE(first_frame(rig, client, server).ok());
  REQUIRE(server.confirmed());
}

// Seals `plain` on `from` and opens it on `to`; returns the opened bytes.
inline Bytes roundtrip(Rig& rig, NoiseSession& from, NoiseSession& to, const Bytes& plain) {
  auto p = rig.packet(plain);
  REQUIRE(from.seal(*p).ok());
  CHECK(p->size() == plain.size() + kFrameOverhead);
  auto st = to.open(*p);
  INFO(st.message);
  REQUIRE(st.ok());
  return bytes_of(*p);
}

}  // namespace noise_test
