// A plugin client and a plugin server with a UDP proxy between them that
// drops, duplicates or holds back datagrams. Both sinks play the host's part
// of the handshake (optionally a cipher handshake first, then HELLO/WELCOME),
// and count what a real host would call a protocol violation.
#include <catch2/catch.hpp>

#include "rig.hpp"

using namespace udptest;

namespace {

constexpr std::uint8_t HELLO = 1, WELCOME = 2, DATA = 3, HANDSHAKE = 7;

// What the host does, reduced to the handshake: client opens -> (HANDSHAKE
// init -> HANDSHAKE resp ->) HELLO -> WELCOME (+ one DATA right after it).
struct MiniHosts {
  MiniHosts(Rig& rig, bool cipher_handshake)
      : port(free_port()), srv(rig.server(port)), handshake(cipher_handshake) {
    REQUIRE(srv.start().ok());
    srv.sink.on_received = [this](SessionId id, vpnsdk::Batch frames) {
      for (auto& f : frames) {
        if (!f) continue;
        const std::uint8_t t = f->meta.frame_type;
        if (t == HANDSHAKE) {
          ++srv_handshakes;
          reply(srv, id, HANDSHAKE, pattern(48, 2));
        } else if (t == HELLO) {
          if (++srv_hellos > 1) ++violations;  // "HELLO twice"
          reply(srv, id, WELCOME, pattern(30, 3));
          reply(srv, id, DATA, pattern(60, 4));  // DATA right after WELCOME: may overtake it
        } else if (t == DATA) {
          ++srv_data;
        }
      }
    };
  }
  void connect_via(Rig& rig, std::uint16_t proxy_port, std::map<std::string, vpnsdk::OptionValue> opts = {}) {
    opts["retransmit_ms"] = std::int64_t{50};
    cli = &rig.client(proxy_port, opts);
    REQUIRE(cli->plugin != nullptr);
    cli->sink.on_opened = [this](const vpnsdk::SessionInfo& i) {
      if (handshake)
        reply(*cli, i.id, HANDSHAKE, pattern(109, 1));
      else
        reply(*cli, i.id, HELLO, pattern(12, 1));
    };
    cli->sink.on_received = [this](SessionId id, vpnsdk::Batch frames) {
      for (auto& f : frames) {
        if (!f) continue;
        const std::uint8_t t = f->meta.frame_type;
        if (t == HANDSHAKE) {
          if (++cli_handshakes > 1) ++violations;  // a cipher would be confused by a second answer
          reply(*cli, id, HELLO, pattern(12, 1));
        } else if (t == WELCOME) {
          if (++cli_welcomes > 1) ++violations;  // "unexpected WELCOME"
        } else if (t == DATA) {
          if (cli_welcomes == 0) ++violations;  // "DATA before WELCOME"
          ++cli_data;
        }
      }
    };
    REQUIRE(cli->start().ok());
  }
  static void reply(Instance& i, SessionId id, std::uint8_t type, const Bytes& body) {
    std::vector<PacketPtr> v;
    v.push_back(i.frame(type, body));
    i.t().send(id, vpnsdk::Batch(v.data(), v.size()));
  }
  bool welcomed() const { return cli_welcomes >= 1; }
  // After WELCOME: a DATA from the server arrives (nobody resends a lost DATA, so send until one does).
  bool data_flows(Rig& rig) {
    for (int i = 0; i < 10 && cli_data == 0; ++i) {
      reply(srv, srv.session(), DATA, pattern(60, 5));
      rig.run_until([&] { return cli_data > 0; }, 200ms);
    }
    return cli_data > 0;
  }

  std::uint16_t port;
  Instance& srv;
  Instance* cli = nullptr;
  bool handshake;
  int srv_handshakes = 0, srv_hellos = 0, srv_data = 0;
  int cli_handshakes = 0, cli_welcomes = 0, cli_data = 0;
  int violations = 0;
};

// Counts datagrams of each type per direction, for rules like "drop the first WELCOME".
struct Seen {
  std::map<std::pair<bool, std::uint8_t>, int> n;
  int next(bool to_server, const Bytes& d) { return ++n[{to_server, type_of(d)}]; }
};

void check_clean(MiniHosts& h, bool with_handshake) {
  CHECK(h.violations == 0);
  CHECK(h.cli_welcomes == 1);
  CHECK(h.srv_hellos == 1);
  if (with_handshake) {
    CHECK(h.srv_handshakes == 1);
    CHECK(h.cli_handshakes == 1);
  }
  CHECK(h.srv.sink.opened_.size() == 1);
  CHECK(h.cli->sink.closed_.empty());
  CHECK(h.srv.sink.closed_.empty());
  CHECK(h.srv.sink.violations.empty());
  CHECK(h.cli->sink.violations.empty());
}

}  // namespace

TEST_CASE("HELLO/WELCOME survive the loss of the first HELLO and the first WELCOME", "[transport_udp][loss]") {
  Rig rig;
  MiniHosts h(rig, false);
  Seen seen;
  Proxy proxy(rig.io(), h.port, [&](bool to_server, const Bytes& d) {
    const int k = seen.next(to_server, d);
    return (type_of(d) == HELLO || type_of(d) == WELCOME) && k == 1 ? 0 : 1;
  });
  h.connect_via(rig, proxy.port());
  REQUIRE(rig.run_until([&] { return h.welcomed(); }, 3000ms));
  REQUIRE(h.data_flows(rig));
  check_clean(h, false);
  CHECK(proxy.dropped == 2);
  CHECK(h.cli->counter("retransmits") >= 2);
  CHECK(h.srv.counter("replies_resent") >= 1);
  // The DATA sent right after the lost WELCOME came first: dropped, not a violation.
  CHECK(h.cli->counter("early_frames") == 1);
}

TEST_CASE("every datagram duplicated: each side's host sees each control frame once", "[transport_udp][loss]") {
  Rig rig;
  for (bool with_handshake : {false, true}) {
    INFO("cipher handshake: " << with_handshake);
    MiniHosts h(rig, with_handshake);
    Proxy proxy(rig.io(), h.port, [](bool, const Bytes&) { return 2; });
    h.connect_via(rig, proxy.port());
    REQUIRE(rig.run_until([&] { return h.welcomed(); }, 3000ms));
    REQUIRE(h.data_flows(rig));
    rig.run_for(200ms);  // let every copy arrive
    check_clean(h, with_handshake);
    CHECK(h.cli->counter("retransmits") == 0);
    CHECK(h.srv.counter("duplicates") >= 1);
    CHECK(h.cli->counter("duplicates") >= 1);
  }
}

TEST_CASE("a cipher handshake survives the loss of its first initiation and response, then of HELLO and WELCOME",
          "[transport_udp][loss]") {
  Rig rig;
  MiniHosts h(rig, true);
  Seen seen;
  Proxy proxy(rig.io(), h.port, [&](bool to_server, const Bytes& d) {
    return seen.next(to_server, d) == 1 ? 0 : 1;  // the first datagram of every type in each direction
  });
  h.connect_via(rig, proxy.port());
  REQUIRE(rig.run_until([&] { return h.welcomed(); }, 4000ms));
  REQUIRE(h.data_flows(rig));
  check_clean(h, true);
  CHECK(proxy.dropped == 6);  // init, COOKIE, response, HELLO, WELCOME, first DATA
  CHECK(h.srv.counter("cookies_sent") == 2);  // the first one lost: the retransmitted init fetched another
  CHECK(h.cli->counter("cookie_resends") == 1);
  CHECK(h.srv.counter("replies_resent") >= 2);
}

TEST_CASE("every second datagram lost in each direction: the handshake still completes", "[transport_udp][loss]") {
  Rig rig;
  for (bool with_handshake : {false, true}) {
    INFO("cipher handshake: " << with_handshake);
    MiniHosts h(rig, with_handshake);
    int up = 0, down = 0;
    Proxy proxy(rig.io(), h.port, [&](bool to_server, const Bytes&) { return (to_server ? up++ : down++) % 2 == 0 ? 0 : 1; });
    h.connect_via(rig, proxy.port());
    // The first DATA after WELCOME may be lost for good (nobody resends DATA): wait for WELCOME.
    REQUIRE(rig.run_until([&] { return h.welcomed(); }, 5000ms));
    REQUIRE(h.data_flows(rig));
    rig.run_for(300ms);
    CHECK(h.violations == 0);
    CHECK(h.srv_hellos == 1);
    CHECK(h.srv.sink.opened_.size() == 1);
    CHECK(h.cli->sink.closed_.empty());
    CHECK(proxy.dropped >= 3);
  }
}
