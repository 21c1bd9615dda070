// Containment, in process (kit/rig.hpp): a stage that throws or returns an
// error ends at most the one session it happened on, is counted, and never
// ends the host; a frame that fails to authenticate changes no session.
// DESIGN.md ("An exception that escapes a plugin call is caught by the core,
// logged with the plugin's name, and ends the one session it happened on"),
// docs/limits.md ("a plugin throws | that session ends, the host goes on"),
// docs/protocol.md §5.2, §5.3, §7.
#include <catch2/catch.hpp>

#include "ipv4_builder.hpp"
#include "kit/rig.hpp"

using namespace coretest;

namespace {

using Bytes = std::vector<std::byte>;

constexpr std::uint32_t kA = Rig::kFirst, kB = Rig::kFirst + 1, kC = Rig::kFirst + 2;

Bytes udp(std::uint32_t src, std::uint32_t dst) {
  PacketSpec s;
  s.src = src;
  s.dst = dst;
  return make_ipv4(s);
}
long long n(const Bytes& p) { return static_cast<long long>(p.size()); }

// Sessions 1, 2, 3 hold 10.10.0.2, .3, .4.
struct ThreeClients : Rig {
  explicit ThreeClients(RigConfig c = {}) : Rig(std::move(c)) {
    for (vpnsdk::SessionId id : {1, 2, 3}) establish(id);
    mark();
  }
  // Session `from` still reaches session `to`: the host goes on.
  void check_served(vpnsdk::SessionId from, vpnsdk::SessionId to) {
    const std::uint32_t base = Rig::kFirst - 1;
    const Bytes p = udp(base + static_cast<std::uint32_t>(from), base + static_cast<std::uint32_t>(to));
    const auto before = sent(to, FrameType::data).size();
    send_packet(from, p);
    CHECK(sent(to, FrameType::data).size() == before + 1);
  }
};

}  // namespace

TEST_CASE("a cipher that throws in open() ends that session only, counted and logged with the plugin's name",
          "[core][containment]") {
  ThreeClients rig;
  rig.cipher.behaviour.faults.throw_in("open", 1);
  rig.send_packet(1, udp(kA, kB));
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.sent(2, FrameType::data).empty());
  CHECK(rig.log.contains("[fake_cipher] threw in open: fake throws in open on purpose"));
  CHECK(rig.moved() == Moved{{"host.plugin_exceptions", 1}});
  rig.core.poll();
  CHECK(rig.core.session_count() == 2);
  rig.check_served(2, 3);
}

TEST_CASE("a cipher that throws in seal() ends the destination's session, not the sender's", "[core][containment]") {
  ThreeClients rig;
  rig.cipher.behaviour.faults.throw_in("seal", 2);
  const Bytes p = udp(kA, kB);
  rig.send_packet(1, p);
  CHECK(rig.closes_of(2) == 1);
  CHECK(rig.closes_of(1) == 0);
  CHECK(rig.transport.count(FrameType::data) == 0);
  CHECK(rig.moved() == Moved{{"host.rx_packets", 1}, {"host.rx_bytes", n(p)}, {"host.plugin_exceptions", 1}});
  const Bytes q = udp(kA, kC);
  rig.send_packet(1, q);
  CHECK(rig.sent(3, FrameType::data) == std::vector<Bytes>{q});
}

TEST_CASE("a transport that throws in send() ends the destination's session and counts nothing as sent",
          "[core][containment]") {
  ThreeClients rig;
  rig.transport.faults.throw_in("send", 2);
  const Bytes p = udp(kA, kB);
  rig.send_packet(1, p);
  CHECK(rig.closes_of(2) == 1);
  CHECK(rig.closes_of(1) == 0);
  CHECK(rig.log.contains("[fake_transport] threw in send: fake throws in send on purpose"));
  CHECK(rig.moved() == Moved{{"host.rx_packets", 1}, {"host.rx_bytes", n(p)}, {"host.plugin_exceptions", 1}});
  rig.core.poll();
  rig.check_served(1, 3);
}

TEST_CASE("a router that throws in route() ends the session the packet came from", "[core][containment]") {
  ThreeClients rig;
  rig.router->faults.throw_in("route", 1);
  const Bytes p = udp(kA, kB);
  rig.send_packet(1, p);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.log.contains("[router_hub] threw in route: fake throws in route on purpose"));
  CHECK(rig.moved() == Moved{{"host.rx_packets", 1}, {"host.rx_bytes", n(p)}, {"host.plugin_exceptions", 1}});
  rig.core.poll();
  CHECK(rig.router->releases == std::vector<vpnsdk::SessionId>{1});  // its address went back
  rig.check_served(2, 3);
}

// tests/plugins/fixture_throwing_responder.cpp, loaded from its .so as the host loads it (the lab test
// test_containment.sh does the same with fixture_crashy_responder against a running server).
TEST_CASE("a responder plugin that throws (fixture_throwing_responder) ends the session the packet came from, "
          "counted, and the host serves the others",
          "[core][containment][responder]") {
  ThreeClients rig({.responders = {"fixture_throwing_responder"}});
  const Bytes ping = icmp_echo_request([] {
    PacketSpec s;
    s.src = kA;
    s.dst = Rig::kServer;
    return s;
  }());
  rig.send_packet(1, ping);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.log.contains(
      "[fixture_throwing_responder] threw in handle: fixture_throwing_responder: handle() throws on purpose"));
  CHECK(rig.moved() == Moved{{"host.rx_packets", 1},
                             {"host.rx_bytes", n(ping)},
                             {"host.plugin_exceptions", 1},
                             {"drop.responder_failed", 1}});
  rig.core.poll();
  rig.check_served(2, 3);
}

TEST_CASE("a cipher that throws in new_session() ends that session before anything is sent", "[core][containment]") {
  Rig rig;
  rig.cipher.behaviour.faults.throw_in("new_session", 1);
  rig.open(1);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.transport.sent.empty());
  rig.core.poll();
  CHECK(rig.moved() == Moved{{"host.sessions_opened", 1}, {"host.plugin_exceptions", 1}, {"host.sessions_closed", 1}});
  rig.establish(2);
}

TEST_CASE("a router that throws in assign() ends the session that said HELLO", "[core][containment]") {
  Rig rig;
  rig.router->faults.throw_in("assign", 1);
  rig.open(1);
  rig.mark();
  rig.send_hello(1);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.transport.sent.empty());
  CHECK(rig.moved() == Moved{{"host.plugin_exceptions", 1}});
  rig.establish(2);
  CHECK(rig.address(2) == "10.10.0.2");
}

TEST_CASE("a device that throws in write() is counted and ends no session", "[core][containment][device]") {
  ThreeClients rig({.device = true});
  rig.device.faults.throw_in("write");
  const Bytes p = udp(kA, 0xc6336401);  // to 198.51.100.1: the device
  rig.send_packet(1, p);
  CHECK(rig.transport.closes.empty());
  CHECK(rig.log.contains("[fake_device] threw in write: fake throws in write on purpose"));
  CHECK(rig.moved() == Moved{{"host.rx_packets", 1}, {"host.rx_bytes", n(p)}, {"host.plugin_exceptions", 1}});
  CHECK(rig.core.pool.in_use() == 0);
}

// A cipher's error Status (not an exception): Code::drop_* drops the frame (counted drop.<code>); session_fatal
// ends the session (vpnsdk/cipher.hpp).
TEST_CASE("a seal() that returns an error drops the frame as drop.<code>, an open() that returns session_fatal ends "
          "the session",
          "[core][containment]") {
  ThreeClients rig;
  rig.cipher.behaviour.seal_answer = vpnsdk::Status::error(vpnsdk::Code::drop_overflow, "nonce space exhausted");
  const Bytes p = udp(kA, kB);
  rig.send_packet(1, p);
  CHECK(rig.transport.count(FrameType::data) == 0);
  CHECK(rig.transport.closes.empty());
  CHECK(rig.moved() == Moved{{"host.rx_packets", 1}, {"host.rx_bytes", n(p)}, {"drop.overflow", 1}});
  CHECK(rig.snapshot(2)->drops == 1);
  rig.cipher.behaviour.seal_answer = {};

  rig.cipher.behaviour.open_answer = vpnsdk::Status::error(vpnsdk::Code::session_fatal, "keys too old");
  rig.mark();
  rig.send_packet(1, p);
  CHECK(rig.closes_of(1) == 1);
  CHECK(rig.transport.closes.back().second == "cipher: keys too old");
  rig.core.poll();
  CHECK(rig.moved() == Moved{{"host.sessions_closed", 1}, {"router_hub.released", 1}});
}

// §4.1, §7: "no address for the client | REJECT 1, session closed | drop.assign_refused, and router_hub.pool_full";
// "the router failed to assign (an internal error) | REJECT 1, session closed | drop.assign_failed".
TEST_CASE("a router that cannot assign an address gets the client REJECT 1: assign_refused for a full pool, "
          "assign_failed for an error",
          "[core][containment]") {
  Rig rig({.router_options = {{"pool_start", std::string("10.10.0.2")}, {"pool_end", std::string("10.10.0.2")}}});
  rig.establish(1);
  rig.open(2);
  rig.mark();
  rig.send_hello(2);
  CHECK(rig.reject_sent(2) == proto::Reject{proto::RejectCode::pool_full, "address pool full"});
  CHECK(rig.moved() == Moved{{"drop.assign_refused", 1}, {"router_hub.pool_full", 1}});

  rig.router->assign_answer = vpnsdk::Status::error(vpnsdk::Code::internal, "router_hub: assign failed");
  rig.open(3);
  rig.mark();
  rig.send_hello(3);
  CHECK(rig.reject_sent(3) == proto::Reject{proto::RejectCode::pool_full, "router_hub: assign failed"});
  CHECK(rig.moved() == Moved{{"drop.assign_failed", 1}});
  CHECK(rig.state(1) == "established");
}

// §5.2: "any | a frame the cipher cannot open | dropped (drop.<code>, e.g. drop.auth) | same": also before WELCOME.
TEST_CASE("forged frames on a session awaiting HELLO change nothing: a forged HELLO or BYE is dropped, the real HELLO "
          "is then welcomed",
          "[core][containment][unauthenticated]") {
  Rig rig;
  rig.open(1);
  rig.mark();
  const auto hello = proto::encode(proto::Hello{});
  const auto bye = proto::encode(proto::Bye{proto::ByeReason::leaving, ""});
  rig.receive_forged(FrameType::hello, hello, 1);
  rig.receive_forged(FrameType::bye, bye, 1);
  CHECK(rig.state(1) == "awaiting_hello");
  CHECK(rig.closes_of(1) == 0);
  CHECK(rig.transport.sent.empty());
  CHECK(rig.moved() == Moved{{"drop.auth", 2}});
  rig.receive_bytes(FrameType::hello, hello, 1);
  CHECK(rig.state(1) == "established");
  CHECK(rig.address(1) == "10.10.0.2");
}

// §5.3: on an established session a frame that fails to authenticate "is dropped and counted" and changes nothing.
TEST_CASE("a forged DATA frame on an established session is neither counted as received nor routed",
          "[core][containment][unauthenticated]") {
  ThreeClients rig;
  const Bytes p = udp(kA, kB);
  rig.receive_forged(FrameType::data, p, 1);
  rig.cipher.behaviour.refuse_all = true;  // the "fails to authenticate" switch: sealed frames too
  rig.send_packet(1, p);
  rig.bye(1);
  CHECK(rig.transport.count(FrameType::data) == 0);
  CHECK(rig.closes_of(1) == 0);
  CHECK(rig.state(1) == "established");
  CHECK(rig.snapshot(1)->rx_packets == 0);
  CHECK(rig.snapshot(1)->drops == 3);
  CHECK(rig.moved() == Moved{{"drop.auth", 3}});
}
