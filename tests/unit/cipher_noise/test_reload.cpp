// cipher_noise live reload (Plugin::reload through the built .so): a key
// removed from authorized_clients revokes its sessions, a new key can
// connect, a broken file is refused and the old list kept, and key changes
// need a restart.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "plugin_fixture.hpp"

using namespace noise_test;
using cipher_noise::DhKeyPair;
using cipher_noise::to_base64;
using vpnsdk::Code;

namespace {

struct Lab {
  TempDir dir;
  DhKeyPair server = dir.key("server.key");
  DhKeyPair alice = dir.key("alice.key");
  DhKeyPair bob = dir.key("bob.key");
  DhKeyPair carol = dir.key("carol.key");
  std::string clients = dir.write("authorized_clients", line(alice, "alice") + line(bob, "bob"));
  Opts server_opts = {{"private_key_file", dir.at("server.key")}, {"authorized_clients", clients}};
  std::unique_ptr<vpnsdk::testkit::Harness> srv = load(server_opts);
  vpnsdk::SessionId next_id = 1;

  static std::string line(const DhKeyPair& k, const std::string& name) { return to_base64(k.pub) + " " + name + "\n"; }
  std::unique_ptr<vpnsdk::testkit::Harness> load(const Opts& o) const {
    auto h = noise_test::load(o);
    REQUIRE(h->status().ok());
    return h;
  }
  vpnsdk::Status reload(const Opts& o, bool changed = false) {
    return srv->get<vpnsdk::Cipher>().reload(vpnsdk::testkit::options_from(srv->descriptor(), o), changed);
  }

  // One client instance and a server session with it after the handshake.
  struct Pair {
    std::unique_ptr<vpnsdk::testkit::Harness> cli;
    std::unique_ptr<vpnsdk::CipherSession> c, s;
    vpnsdk::Status status;  // of the server's handshake step
  };
  Pair connect(const std::string& who) {
    Pair p;
    p.cli = load({{"private_key_file", dir.at(who + ".key")}, {"server_public_key", to_base64(server.pub)}});
    const vpnsdk::SessionId id = next_id++;
    REQUIRE(new_session(*p.cli, vpnsdk::Role::initiator, id, p.c).ok());
    REQUIRE(new_session(*srv, vpnsdk::Role::responder, id, p.s).ok());
    vpnsdk::HandshakeMessages m1, m2, m3;
    REQUIRE(p.c->start(m1).ok());
    REQUIRE(m1.size() == 1);
    p.status = p.s->handshake(m1[0], m2);
    if (p.status.ok()) {
      REQUIRE(m2.size() == 1);
      REQUIRE(p.c->handshake(m2[0], m3).ok());
      REQUIRE(first_frame(*p.c, *p.s));  // the server trusts the session from here on
    }
    return p;
  }
};

}  // namespace

TEST_CASE("reload: a removed key's session is revoked, the others are not, a new key can connect", "[cipher_noise][reload]") {
  Lab lab;
  auto alice = lab.connect("alice");
  auto bob = lab.connect("bob");
  REQUIRE(alice.status.ok());
  REQUIRE(bob.status.ok());
  CHECK_FALSE(alice.s->revoked());
  CHECK_FALSE(bob.s->revoked());
  CHECK(lab.connect("carol").status.code == Code::session_fatal);  // not listed yet
  CHECK(lab.srv->counters().value("unknown_client") == 1);

  // Unchanged options, changed file: re-read.
  lab.dir.write("authorized_clients", Lab::line(lab.bob, "bob") + Lab::line(lab.carol, "carol"));
  REQUIRE(lab.reload(lab.server_opts).ok());
  CHECK(alice.s->revoked());
  CHECK_FALSE(bob.s->revoked());
  CHECK_FALSE(alice.c->revoked());  // the client side never is
  // The revoked session still names who it was (for the log and status).
  REQUIRE(alice.s->peer());
  CHECK(alice.s->peer()->name == "alice");

  auto carol = lab.connect("carol");
  CHECK(carol.status.ok());
  CHECK(lab.srv->counters().value("client.carol.sessions") == 1);
  CHECK_FALSE(carol.s->revoked());
  CHECK(lab.connect("alice").status.code == Code::session_fatal);
  CHECK(lab.srv->counters().value("unknown_client") == 2);

  // A later reload that lists alice again: her old session is no longer revoked.
  lab.dir.write("authorized_clients", Lab::line(lab.alice, "alice") + Lab::line(lab.bob, "bob"));
  REQUIRE(lab.reload(lab.server_opts).ok());
  CHECK_FALSE(alice.s->revoked());
  CHECK(carol.s->revoked());
}

TEST_CASE("reload: a broken authorized_clients is refused and the old list kept", "[cipher_noise][reload]") {
  Lab lab;
  auto alice = lab.connect("alice");
  REQUIRE(alice.status.ok());
  lab.dir.write("authorized_clients", Lab::line(lab.bob, "bob") + "not-a-key carol\n");
  auto st = lab.reload(lab.server_opts);
  CHECK(st.code == Code::config);
  CHECK_THAT(st.message, Catch::Contains(lab.clients + ":2: 'not-a-key' is not a public key"));
  CHECK_FALSE(alice.s->revoked());
  // A second initiation of alice must carry a later timestamp than her first
  // (replay protection); TAI64N here has a granularity of 2^24 ns.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(lab.connect("alice").status.ok());
  CHECK(lab.connect("carol").status.code == Code::session_fatal);
  // Group-writable is refused as at start.
  lab.dir.write("authorized_clients", Lab::line(lab.bob, "bob"), 0664);
  CHECK_THAT(lab.reload(lab.server_opts).message, Catch::Contains("is writable by group/others"));
  CHECK_FALSE(alice.s->revoked());
  // Owned by another user (who could authorize keys): refused as at start.
  lab.dir.write("authorized_clients", Lab::line(lab.bob, "bob"), 0644);
  REQUIRE(::chown(lab.clients.c_str(), 65534, 65534) == 0);
  CHECK_THAT(lab.reload(lab.server_opts).message,
             Catch::Contains("authorized_clients " + lab.clients + " is owned by uid 65534") &&
                 Catch::Contains("run chown root " + lab.clients));
  CHECK_FALSE(alice.s->revoked());
  REQUIRE(::chown(lab.clients.c_str(), 0, 0) == 0);
  // In a directory others can write: refused as at start.
  REQUIRE(::chmod(lab.dir.path().c_str(), 0777) == 0);
  CHECK_THAT(lab.reload(lab.server_opts).message,
             Catch::Contains("run chmod go-w " + lab.dir.path().string()));
  CHECK_FALSE(alice.s->revoked());
  REQUIRE(::chmod(lab.dir.path().c_str(), 0700) == 0);
  // A file that is gone, too.
  std::filesystem::remove(lab.clients);
  CHECK_THAT(lab.reload(lab.server_opts).message, Catch::Contains("No such file or directory"));
  CHECK_FALSE(alice.s->revoked());
}

TEST_CASE("reload: another private key, psk or role needs a restart, timers and the clients file may change", "[cipher_noise][reload]") {
  Lab lab;
  Opts o = lab.server_opts;
  o["private_key_file"] = lab.dir.at("carol.key");
  CHECK(lab.reload(o, true).message ==
        "this host's private key (private_key_file) changed: that needs a restart (the running configuration is kept)");
  // The same file with a new key in it.
  lab.dir.key("server.key");
  CHECK(lab.reload(lab.server_opts).message ==
        "this host's private key (private_key_file) changed: that needs a restart (the running configuration is kept)");
  lab.dir.write("server.key", to_base64(lab.server.priv.view()) + "\n");
  REQUIRE(lab.reload(lab.server_opts).ok());

  o = lab.server_opts;
  o["psk_file"] = lab.dir.write("psk", to_base64(lab.bob.priv.view()) + "\n");
  CHECK(lab.reload(o, true).message ==
        "the pre-shared key (psk_file) changed: that needs a restart (the running configuration is kept)");
  o = {{"private_key_file", lab.dir.at("server.key")}, {"server_public_key", to_base64(lab.alice.pub)}};
  CHECK(lab.reload(o, true).message == "server_public_key changed: that needs a restart (the running configuration is kept)");

  o = lab.server_opts;
  o["rekey_after_seconds"] = std::int64_t{60};
  o["handshakes_per_second"] = std::int64_t{50};
  o["authorized_clients"] = lab.dir.write("other_clients", Lab::line(lab.carol, "carol"));
  REQUIRE(lab.reload(o, true).ok());
  CHECK(lab.connect("carol").status.ok());
  CHECK(lab.connect("alice").status.code == Code::session_fatal);
  // "Under load" from the first initiation on: the next one gets a cookie
  // reply (Code::again, 56 bytes) instead of a response.
  o["cookie_above_per_second"] = std::int64_t{0};
  REQUIRE(lab.reload(o, true).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto cookie = lab.connect("carol");
  CHECK(cookie.status.code == Code::again);
  CHECK_THAT(cookie.status.message, Catch::Contains("cookie reply"));
  // Options the reload itself refuses, as at start.
  o["reject_after_seconds"] = std::int64_t{20};
  CHECK_THAT(lab.reload(o, true).message, Catch::Contains("leaves no time to rekey"));
}
