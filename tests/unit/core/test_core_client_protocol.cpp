// The session protocol, client side, in process (kit/rig.hpp, with the
// stock router_client): HELLO, WELCOME, REJECT and BYE from the server, the
// reconnect backoff and how a client ends. docs/protocol.md §4.2, §4.5,
// §4.6, §5.1 (the client's state machine), §6.
#include <catch2/catch.hpp>

#include <regex>

#include "ipv4_builder.hpp"
#include "kit/rig.hpp"
#include "vpnhost/mtu.hpp"

using namespace coretest;

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

vpnhost::SessionLimits client_limits(bool reconnect = true, bool exit_on_server_bye = true) {
  vpnhost::SessionLimits l;
  l.reconnect = reconnect;
  l.exit_on_server_bye = exit_on_server_bye;
  return l;
}

struct Reconnect {
  double seconds;
  int attempt;
};
// Every "reconnecting in N s (attempt K)" line of the log, in order.
std::vector<Reconnect> reconnect_lines(const std::string& log) {
  static const std::regex line(R"(reconnecting in ([0-9.]+) s \(attempt ([0-9]+)\))");
  std::vector<Reconnect> out;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it)
    out.push_back({std::stod((*it)[1]), std::stoi((*it)[2])});
  return out;
}

}  // namespace

// §5.1: "As soon as the TCP connection is up ... the client sends HELLO with version 1, flags 0, max_body 9216,
// requested_mtu its derived tunnel MTU".
TEST_CASE("client: a new session says HELLO at once with version 1, max_body 9216 and its derived MTU",
          "[core][protocol][client]") {
  Rig rig({.client = true});
  rig.open_client();
  auto h = rig.hello_sent();
  REQUIRE(h);
  CHECK(h->version == 1);
  CHECK(h->max_body == 9216);
  CHECK(h->requested_mtu == vpnhost::mtu::tunnel_mtu(0, 8, 1));
  CHECK(rig.state() == "hello_sent");
  CHECK(rig.moved() == Moved{{"host.sessions_opened", 1}});
}

// §5.1: "HELLO_SENT | WELCOME, valid | configure the TUN device ...; adopt keepalive_s and timeout_s as they are".
TEST_CASE("client: WELCOME starts the device with the assignment and the client adopts the server's keepalive and "
          "timeout",
          "[core][protocol][client]") {
  Rig rig({.client = true, .device = true});
  CHECK(rig.device.starts.empty());  // a client knows its address only from WELCOME
  rig.mark();
  rig.establish_client(Rig::assignment(3, 0));
  REQUIRE(rig.device.starts.size() == 1);
  const auto& a = rig.device.starts[0];
  CHECK(a.address == Rig::kFirst);
  CHECK(a.prefix_len == 24);
  CHECK(a.server == Rig::kServer);
  CHECK(a.mtu == 1400);
  CHECK(rig.core.limits().keepalive == seconds(3));
  CHECK(rig.core.limits().session_timeout == seconds(0));  // 0 included: off
  CHECK(rig.address() == "10.10.0.2");
  CHECK(rig.log.contains("assigned 10.10.0.2/24 (server 10.10.0.1, mtu 1400)"));
  CHECK(rig.moved() == Moved{{"host.sessions_opened", 1}, {"router_client.assignments", 1}});
}

// §4.2: the version check is the last of the WELCOME table: a violation, the client reconnects.
TEST_CASE("client: a WELCOME of another protocol version is a violation: the session ends and the client reconnects",
          "[core][protocol][client]") {
  Rig rig({.client = true, .device = true});
  rig.open_client();
  rig.mark();
  proto::Welcome w;
  w.version = 2;
  w.assignment = Rig::assignment();
  rig.receive_bytes(FrameType::welcome, proto::encode(w));
  CHECK(rig.closes_of() == 1);
  CHECK(rig.device.starts.empty());
  CHECK(rig.log.contains("WELCOME for protocol version 2; this client speaks 1"));
  rig.core.poll();
  CHECK_FALSE(rig.core.finished);
  CHECK(rig.moved() == Moved{{"host.protocol_errors", 1},
                             {"drop.protocol_violation", 1},
                             {"host.sessions_closed", 1},
                             {"host.reconnects", 1}});
}

// §4.6, §5.1: lasting REJECTs end the client with status 3, transient ones reconnect (exit 2 without reconnect).
TEST_CASE("client: a lasting REJECT ends the client with status 3, a transient one makes it reconnect",
          "[core][protocol][client]") {
  using C = proto::RejectCode;
  for (C code : {C::version, C::auth, C::protocol}) {
    INFO("code " << int(code));
    Rig rig({.client = true});
    rig.open_client();
    rig.receive_bytes(FrameType::reject, proto::encode(proto::Reject{code, "no"}));
    CHECK(rig.closes_of() == 1);
    CHECK(rig.log.contains("rejected by server: no"));
    REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
    CHECK(rig.core.exit_code == 3);
    CHECK(rig.counter("host.reconnects") == 0);
  }
  for (C code : {C::pool_full, C::busy, static_cast<C>(9)}) {
    INFO("code " << int(code));
    Rig rig({.client = true});
    rig.open_client();
    rig.receive_bytes(FrameType::reject, proto::encode(proto::Reject{code, ""}));
    rig.core.poll();
    CHECK_FALSE(rig.core.finished);
    CHECK(rig.counter("host.reconnects") == 1);
  }
  Rig once({.limits = client_limits(false), .client = true});
  once.open_client();
  once.receive_bytes(FrameType::reject, proto::encode(proto::Reject{C::busy, "server busy: session limit reached"}));
  REQUIRE(once.core.run_until([&] { return once.core.finished; }));
  CHECK(once.core.exit_code == 2);
  CHECK(once.log.contains("rejected by server: server busy: session limit reached"));
}

// §4.5: "for reason 0 (shutdown) it exits with status 0, and for any other reason it reconnects";
// on_server_bye = "reconnect" and reconnect = false change that.
TEST_CASE("client: BYE shutdown from the server ends the client with status 0, other reasons make it reconnect",
          "[core][protocol][client]") {
  using R = proto::ByeReason;
  {
    Rig rig({.client = true});
    rig.establish_client(Rig::assignment());
    rig.mark();
    rig.bye(Rig::kId, R::shutdown, "SIGTERM");
    CHECK(rig.log.contains("server said goodbye (shutdown: SIGTERM)"));
    REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
    CHECK(rig.core.exit_code == 0);
    CHECK(rig.transport.frames_to(Rig::kId, FrameType::bye).empty());  // no BYE back
    CHECK(rig.moved() == Moved{{"host.sessions_closed", 1}});
  }
  for (R reason : {R::restart, R::timeout, static_cast<R>(7)}) {
    INFO("reason " << int(reason));
    Rig rig({.client = true});
    rig.establish_client(Rig::assignment());
    rig.bye(Rig::kId, reason, "later");
    rig.core.poll();
    CHECK_FALSE(rig.core.finished);
    CHECK(rig.counter("host.reconnects") == 1);
  }
  {
    Rig rig({.limits = client_limits(true, false), .client = true});  // on_server_bye = "reconnect"
    rig.establish_client(Rig::assignment());
    rig.bye(Rig::kId, R::shutdown, "SIGTERM");
    rig.core.poll();
    CHECK_FALSE(rig.core.finished);
    CHECK(rig.counter("host.reconnects") == 1);
  }
  {
    Rig rig({.limits = client_limits(false), .client = true});  // reconnect = false
    rig.establish_client(Rig::assignment());
    rig.bye(Rig::kId, R::restart, "");
    REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
    CHECK(rig.core.exit_code == 0);
    CHECK(rig.counter("host.reconnects") == 0);
  }
}

// §5.1: "the step starts at reconnect_min, doubles with every attempt and stops growing at reconnect_max; the
// actual wait is drawn at random between half the step and the full step ... The attempt count starts again at
// 0 after each WELCOME."
TEST_CASE("client: each reconnect wait lies in [step/2, step], the step doubling from reconnect_min up to "
          "reconnect_max, and a WELCOME starts the count again",
          "[core][protocol][client][reconnect]") {
  vpnhost::SessionLimits limits = client_limits();
  limits.reconnect_min = milliseconds(1000);
  limits.reconnect_max = milliseconds(4000);
  Rig rig({.limits = limits, .client = true});
  // Each failure arms the timer anew: the drawn waits are logged at once, nothing waits for them.
  for (int i = 0; i < 8; ++i) rig.transport.fail("connection refused");
  auto lines = reconnect_lines(rig.log.text());
  REQUIRE(lines.size() == 8);
  const double steps[8] = {1, 2, 4, 4, 4, 4, 4, 4};
  for (int i = 0; i < 8; ++i) {
    INFO("attempt " << i + 1 << ": " << lines[i].seconds << " s");
    CHECK(lines[i].attempt == i + 1);
    CHECK(lines[i].seconds >= steps[i] / 2 - 0.05);  // logged with one decimal
    CHECK(lines[i].seconds <= steps[i] + 0.05);
  }
  CHECK(rig.counter("host.reconnects") == 8);
  CHECK(rig.log.contains("[transport] fake_transport: connection refused"));
  CHECK(rig.transport.reconnect_calls.empty());

  rig.establish_client(Rig::assignment());
  rig.transport.peer_closes(Rig::kId);
  CHECK(rig.log.contains("lost connection to server: peer closed the connection"));
  lines = reconnect_lines(rig.log.text());
  REQUIRE(lines.size() == 9);
  CHECK(lines[8].attempt == 1);
  CHECK(lines[8].seconds >= 0.5 - 0.05);
  CHECK(lines[8].seconds <= 1.0 + 0.05);
}

TEST_CASE("client: the reconnect timer calls the transport's reconnect() no earlier than half of reconnect_min",
          "[core][protocol][client][reconnect]") {
  vpnhost::SessionLimits limits = client_limits();
  limits.reconnect_min = milliseconds(40);
  limits.reconnect_max = milliseconds(40);
  Rig rig({.limits = limits, .client = true});
  const auto t0 = std::chrono::steady_clock::now();
  rig.transport.fail("connection refused");
  REQUIRE(rig.core.run_until([&] { return !rig.transport.reconnect_calls.empty(); }));
  CHECK(rig.transport.reconnect_calls[0] - t0 >= milliseconds(20));
  CHECK(rig.transport.reconnect_calls.size() == 1);
  // A transport that cannot connect again ends the client.
  rig.transport.reconnect_answer = vpnsdk::Status::error(vpnsdk::Code::io, "no route to host");
  rig.transport.fail("connection refused");
  REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
  CHECK(rig.core.exit_code == 1);
  CHECK(rig.log.contains("[transport] fake_transport cannot reconnect: no route to host"));
}

// §5.1: "any | the server closes the connection without BYE | ... | WAITING | exit 1"; while waiting, packets
// into the TUN device are dropped (drop.not_connected).
TEST_CASE("client: a lost connection makes it reconnect, or exit 1 without reconnect, and meanwhile the device's "
          "packets are dropped as not_connected",
          "[core][protocol][client]") {
  PacketSpec out;
  out.src = Rig::kFirst;
  out.dst = Rig::kServer;
  {
    Rig rig({.client = true, .device = true});
    rig.establish_client(Rig::assignment());
    rig.transport.peer_closes(Rig::kId);
    CHECK_FALSE(rig.core.finished);
    CHECK(rig.counter("host.reconnects") == 1);
    rig.mark();
    rig.from_device(make_ipv4(out));
    CHECK(rig.moved() == Moved{{"host.device_rx_packets", 1}, {"drop.not_connected", 1}});
  }
  {
    Rig rig({.limits = client_limits(false), .client = true, .device = true});
    rig.establish_client(Rig::assignment());
    rig.transport.peer_closes(Rig::kId);
    REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
    CHECK(rig.core.exit_code == 1);
    CHECK(rig.device.stopped);
  }
}

// §5.1: "any | SIGINT, SIGTERM, end of stdin | in ESTABLISHED send BYE (3, leaving, text = cause); close | exit 0".
TEST_CASE("client: at shutdown an established client says BYE leaving with the cause, and exits 0",
          "[core][protocol][client]") {
  Rig rig({.client = true, .device = true});
  rig.establish_client(Rig::assignment());
  rig.core.shutdown(0, "SIGINT");
  CHECK(rig.bye_sent() == proto::Bye{proto::ByeReason::leaving, "SIGINT"});
  REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
  CHECK(rig.core.exit_code == 0);
  CHECK(rig.device.stopped);
  CHECK(rig.counter("host.reconnects") == 0);
}

// §5.1: "HELLO_SENT | the TUN device cannot be created or configured | log `[device] device_tun: ...`, close | exit 1".
TEST_CASE("client: a device that cannot start on WELCOME ends the client with status 1", "[core][protocol][client]") {
  Rig rig({.client = true, .device = true});
  rig.device.start_answer = vpnsdk::Status::error(vpnsdk::Code::io, "cannot create tun0");
  rig.open_client();
  rig.receive_bytes(FrameType::welcome, Rig::welcome_body(Rig::assignment()));
  CHECK(rig.log.contains("[device] fake_device: cannot create tun0"));
  CHECK(rig.transport.frames_to(Rig::kId, FrameType::bye).empty());  // not established: no BYE
  REQUIRE(rig.core.run_until([&] { return rig.core.finished; }));
  CHECK(rig.core.exit_code == 1);
  CHECK(rig.counter("host.reconnects") == 0);
}

// §5.1: "ESTABLISHED | WELCOME | violation `unexpected WELCOME` (cipher_xor: dropped, 5.3)".
TEST_CASE("client: a second WELCOME ends an authenticated session, and is dropped by one that authenticates nobody",
          "[core][protocol][client]") {
  Rig rig({.client = true});
  rig.establish_client(Rig::assignment());
  rig.mark();
  rig.receive_bytes(FrameType::welcome, Rig::welcome_body(Rig::assignment()));
  CHECK(rig.closes_of() == 1);
  CHECK(rig.moved() == Moved{{"host.protocol_errors", 1}, {"drop.protocol_violation", 1}});

  Rig xor_like({.cipher = {.authenticates = false}, .client = true});
  xor_like.establish_client(Rig::assignment());
  xor_like.mark();
  xor_like.receive_bytes(FrameType::welcome, Rig::welcome_body(Rig::assignment()));
  CHECK(xor_like.closes_of() == 0);
  CHECK(xor_like.state() == "established");
  CHECK(xor_like.moved() == Moved{{"host.protocol_errors", 1}, {"drop.violation_unauthenticated", 1}});
}
