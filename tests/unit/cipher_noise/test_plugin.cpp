// cipher_noise.so through the SDK test harness: options and their errors
// (key files, authorized_clients, roles, timers), and a whole session
// between a server instance and a client instance of the built plugin.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "plugin_fixture.hpp"
#include "support.hpp"
#include "vpnsdk/testkit/memory.hpp"
#include "vpnsdk/wire.hpp"

using namespace noise_test;
using cipher_noise::DhKeyPair;
using cipher_noise::to_base64;
using vpnsdk::Code;

namespace {

std::string refusal(const Opts& o, const std::string& base = ".") {
  auto h = load(o, base);
  REQUIRE_FALSE(h->status().ok());
  CHECK(h->status().code == Code::config);
  return h->status().message;
}

// A server and two clients' keys in one directory.
struct Keys {
  TempDir dir;
  DhKeyPair server = dir.key("server.key");
  DhKeyPair alice = dir.key("alice.key");
  DhKeyPair bob = dir.key("bob.key");
  std::string clients = dir.write("authorized_clients", "# test\n" + to_base64(alice.pub) + " alice 10.10.0.7\n" +
                                                            to_base64(bob.pub) + " bob\n", 0644);
  Opts server_opts() const { return {{"private_key_file", dir.at("server.key")}, {"authorized_clients", clients}}; }
  Opts client_opts(const std::string& who) const {
    return {{"private_key_file", dir.at(who + ".key")}, {"server_public_key", to_base64(server.pub)}};
  }
};

std::unique_ptr<vpnsdk::CipherSession> session(vpnsdk::testkit::Harness& h, vpnsdk::Role role, vpnsdk::SessionId id,
                                               vpnsdk::Status* status = nullptr) {
  std::unique_ptr<vpnsdk::CipherSession> s;
  auto st = new_session(h, role, id, s);
  if (status != nullptr) *status = st;
  return s;
}

vpnsdk::PacketPtr frame(vpnsdk::testkit::Harness& h, const Bytes& b, vpnsdk::wire::FrameType t) {
  auto p = h.packet(std::as_bytes(std::span<const std::uint8_t>(b)));
  p->meta.frame_type = static_cast<std::uint8_t>(t);
  return p;
}

// authorized_clients with alice and `more` other clients; its path.
std::string many_clients(const Keys& k, int more) {
  std::string list = to_base64(k.alice.pub) + " alice\n";
  for (int i = 0; i < more; ++i) list += to_base64(cipher_noise::generate_keypair().pub) + " c" + std::to_string(i) + "\n";
  return k.dir.write("clients-" + std::to_string(more), list, 0644);
}

Bytes contents(const vpnsdk::PacketBuffer& p) {
  const auto* d = reinterpret_cast<const std::uint8_t*>(p.data());
  return Bytes(d, d + p.size());
}

}  // namespace

TEST_CASE("plugin: descriptor, options and overhead", "[cipher_noise][plugin]") {
  Keys k;
  auto h = load(k.server_opts());
  REQUIRE(h->status().ok());
  CHECK(std::string(h->descriptor().name) == "cipher_noise");
  CHECK(h->descriptor().stage == vpnsdk::Stage::cipher);
  auto& c = h->get<vpnsdk::Cipher>();
  CHECK(c.overhead().head == 9);
  CHECK(c.overhead().tail == 16);
  std::map<std::string, std::string> defaults;
  for (std::size_t i = 0; i < h->descriptor().option_count; ++i) {
    const auto& o = h->descriptor().options[i];
    defaults[o.name] = o.default_value != nullptr ? o.default_value : "(required)";
  }
  CHECK(defaults["private_key_file"] == "(required)");
  CHECK(defaults["rekey_after_seconds"] == "120");
  CHECK(defaults["reject_after_seconds"] == "180");
  CHECK(defaults.count("server_public_key") == 1);
  CHECK(defaults.count("authorized_clients") == 1);
  CHECK(defaults.count("psk_file") == 1);
}

TEST_CASE("plugin: a whole session between a server and a client instance", "[cipher_noise][plugin]") {
  Keys k;
  auto srv = load(k.server_opts());
  auto cli = load(k.client_opts("alice"));
  REQUIRE(srv->status().ok());
  REQUIRE(cli->status().ok());
  auto s = session(*srv, vpnsdk::Role::responder, 1);
  auto c = session(*cli, vpnsdk::Role::initiator, 1);
  REQUIRE(s);
  REQUIRE(c);
  vpnsdk::HandshakeMessages m1, m2, m3;
  REQUIRE(c->start(m1).ok());
  REQUIRE(m1.size() == 1);
  REQUIRE(s->handshake(m1[0], m2).ok());
  REQUIRE(m2.size() == 1);
  REQUIRE(c->handshake(m2[0], m3).ok());
  CHECK(m3.empty());
  REQUIRE(c->established());
  REQUIRE(s->established());
  CHECK_FALSE(s->peer());  // not before a frame from the client confirmed the keys
  REQUIRE(first_frame(*c, *s));

  auto who = s->peer();
  REQUIRE(who);
  CHECK(who->name == "alice");
  CHECK(who->public_key == Bytes(k.alice.pub.begin(), k.alice.pub.end()));
  REQUIRE(who->fixed_address);
  CHECK(*who->fixed_address == 0x0a0a0007u);

  const Bytes hello = text_bytes("VPNH hello body");
  auto p = frame(*cli, hello, vpnsdk::wire::FrameType::hello);
  REQUIRE(c->seal(*p).ok());
  CHECK(p->size() == hello.size() + 25);
  auto q = frame(*srv, contents(*p), vpnsdk::wire::FrameType::hello);
  REQUIRE(s->open(*q).ok());
  CHECK(contents(*q) == hello);

  // Tampering: one flipped bit is drop_auth and counted, the session stays.
  auto r = frame(*cli, hello, vpnsdk::wire::FrameType::data);
  REQUIRE(c->seal(*r).ok());
  Bytes wire = contents(*r);
  wire[12] ^= 0x10;
  auto t = frame(*srv, wire, vpnsdk::wire::FrameType::data);
  CHECK(s->open(*t).code == Code::drop_auth);
  CHECK(srv->counters().value("bad_tag") == 1);
  wire[12] ^= 0x10;
  auto u = frame(*srv, wire, vpnsdk::wire::FrameType::data);
  REQUIRE(s->open(*u).ok());
  // Replay of the same frame: dropped and counted.
  auto v = frame(*srv, wire, vpnsdk::wire::FrameType::data);
  CHECK(s->open(*v).code == Code::drop_malformed);
  CHECK(srv->counters().value("replayed") == 1);

  // A replayed initiation on a second connection: refused at once (as an
  // unknown key is), no reply.
  auto s2 = session(*srv, vpnsdk::Role::responder, 2);
  vpnsdk::HandshakeMessages none;
  CHECK(s2->handshake(m1[0], none).code == Code::session_fatal);
  CHECK(none.empty());
  CHECK(srv->counters().value("replayed_initiation") == 1);
  CHECK(srv->counters().value("client.alice.sessions") == 1);
}

TEST_CASE("plugin: wrong role options are refused per session", "[cipher_noise][plugin]") {
  Keys k;
  auto srv = load(k.server_opts());
  vpnsdk::Status st;
  auto c = session(*srv, vpnsdk::Role::initiator, 1, &st);
  CHECK(st.code == Code::config);
  CHECK_THAT(st.message, Catch::Contains("needs server_public_key"));
  auto cli = load(k.client_opts("bob"));
  auto s = session(*cli, vpnsdk::Role::responder, 1, &st);
  CHECK(st.code == Code::config);
  CHECK_THAT(st.message, Catch::Contains("needs authorized_clients"));
}

TEST_CASE("plugin: private key file checks", "[cipher_noise][plugin]") {
  Keys k;
  Opts o = k.server_opts();
  o["private_key_file"] = k.dir.at("missing.key");
  CHECK(refusal(o) == "option private_key_file at test: cannot read key file " + k.dir.at("missing.key") +
                          ": No such file or directory");
  o["private_key_file"] = k.dir.write("loose.key", to_base64(k.server.priv.view()) + "\n", 0640);
  CHECK(refusal(o) == "option private_key_file at test: key file " + k.dir.at("loose.key") +
                          " is accessible by group/others (mode 0640); a private key must be readable by its owner "
                          "only: run chmod 600 " + k.dir.at("loose.key"));
  o["private_key_file"] = k.dir.write("world.key", to_base64(k.server.priv.view()) + "\n", 0604);
  CHECK_THAT(refusal(o), Catch::Contains("(mode 0604)"));
  o["private_key_file"] = k.dir.write("short.key", "AAAA\n");
  CHECK_THAT(refusal(o), Catch::Contains("does not hold a 32-byte key in standard base64"));
  o["private_key_file"] = k.dir.write("empty.key", "\n");
  CHECK_THAT(refusal(o), Catch::Contains("is empty"));
  o["private_key_file"] = k.dir.at("");
  CHECK_THAT(refusal(o), Catch::Contains("is not a regular file"));
  // Relative paths are resolved against the manifest's directory.
  o["private_key_file"] = std::string("server.key");
  auto h = load(o, k.dir.path().string());
  CHECK(h->status().ok());
}

// OpenSSH's StrictModes: whoever can replace a key file or authorized_clients
// (its owner, or anyone who can write a directory above it) could make this
// host trust their key; such a file is refused with the command that fixes it.
TEST_CASE("plugin: key files and authorized_clients that another user could replace are refused", "[cipher_noise][plugin]") {
  Keys k;
  const std::string dir = k.dir.path().string();
  const std::string psk = k.dir.write("psk", to_base64(k.bob.priv.view()) + "\n", 0600);
  Opts o = k.server_opts();
  o["psk_file"] = psk;
  REQUIRE(load(o)->status().ok());
  struct File {
    std::string option, path, what;
  };
  for (const File& f : {File{"private_key_file", k.dir.at("server.key"), "key file"}, File{"psk_file", psk, "key file"},
                        File{"authorized_clients", k.clients, "authorized_clients"}}) {
    INFO(f.option);
    REQUIRE(::chown(f.path.c_str(), 65534, 65534) == 0);
    CHECK_THAT(refusal(o), Catch::Contains(f.what + " " + f.path +
                                           " is owned by uid 65534, not by root or by the user vpnhost runs as "
                                           "(root), so that user can change it: run chown root " + f.path));
    REQUIRE(::chown(f.path.c_str(), 0, 0) == 0);
    REQUIRE(load(o)->status().ok());
  }
  // A group-writable parent directory, without the sticky bit.
  REQUIRE(::chmod(dir.c_str(), 0770) == 0);
  CHECK_THAT(refusal(o), Catch::Contains("key file " + k.dir.at("server.key") + ": directory " + dir +
                                         " is writable by group/others (mode 0770), so they can replace the file: "
                                         "run chmod go-w " + dir));
  // A directory owned by another user.
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
  CHECK_THAT(refusal(o), Catch::Contains("directory " + dir + " is owned by uid 65534") &&
                             Catch::Contains("run chown root " + dir));
  REQUIRE(::chown(dir.c_str(), 0, 0) == 0);
  // World-writable with the sticky bit (as /tmp) is fine: nobody can replace another's file there.
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);
  CHECK(load(o)->status().ok());
  REQUIRE(::chmod(dir.c_str(), 0700) == 0);
  CHECK(load(o)->status().ok());
}

TEST_CASE("plugin: role options", "[cipher_noise][plugin]") {
  Keys k;
  CHECK(refusal({{"private_key_file", k.dir.at("server.key")}}) ==
        "give server_public_key (on a client: the server's public key) or authorized_clients (on a "
        "server: the file of client public keys)");
  Opts both = k.server_opts();
  both["server_public_key"] = to_base64(k.server.pub);
  CHECK_THAT(refusal(both), Catch::Contains("give either server_public_key (a client) or authorized_clients (a server), not both"));
  Opts bad = k.client_opts("alice");
  bad["server_public_key"] = std::string("not-a-key");
  CHECK(refusal(bad) == "option server_public_key (test): 'not-a-key' is not a public key: expected 44 "
                        "characters of standard base64 (32 bytes), as printed by vpnhost pubkey < the server's private "
                        "key file");
  Opts self = k.client_opts("alice");
  self["server_public_key"] = to_base64(k.alice.pub);
  CHECK_THAT(refusal(self), Catch::Contains("is this host's own public key"));
}

TEST_CASE("plugin: authorized_clients file checks", "[cipher_noise][plugin]") {
  Keys k;
  Opts o = k.server_opts();
  o["authorized_clients"] = k.dir.write("dup", to_base64(k.alice.pub) + " alice\n" + to_base64(k.alice.pub) + " again\n");
  CHECK(refusal(o) == "option authorized_clients (test): " + k.dir.at("dup") +
                          ":2: duplicate public key (already listed on line 1 for 'alice')");
  o["authorized_clients"] = k.dir.write("writable", to_base64(k.alice.pub) + " alice\n", 0666);
  CHECK_THAT(refusal(o), Catch::Contains("is writable by group/others; anyone who can write it can authorize a key"));
  o["authorized_clients"] = k.dir.at("nope");
  CHECK_THAT(refusal(o), Catch::Contains("cannot read " + k.dir.at("nope") + ": No such file or directory"));
  o["authorized_clients"] = k.dir.write("self", to_base64(k.server.pub) + " me\n");
  CHECK_THAT(refusal(o), Catch::Contains(":1: 'me' has this server's own public key"));
}

TEST_CASE("plugin: psk file and timers", "[cipher_noise][plugin]") {
  Keys k;
  Opts o = k.server_opts();
  o["psk_file"] = k.dir.write("psk", to_base64(k.bob.priv.view()) + "\n", 0644);
  CHECK_THAT(refusal(o), Catch::Contains("option psk_file at test: key file"));
  o["psk_file"] = k.dir.write("psk", to_base64(k.bob.priv.view()) + "\n", 0600);
  CHECK(load(o)->status().ok());
  Opts t = k.server_opts();
  t["rekey_after_seconds"] = std::int64_t{0};
  CHECK(refusal(t) == "option rekey_after_seconds (test): 0 is outside 1..86400");
  t["rekey_after_seconds"] = std::int64_t{120};
  t["reject_after_seconds"] = std::int64_t{125};
  CHECK(refusal(t) == "option reject_after_seconds (test): 125 leaves no time to rekey: it must be at "
                      "least rekey_after_seconds (120) + 10");
  t["rekey_after_seconds"] = std::int64_t{2};
  t["reject_after_seconds"] = std::int64_t{180};
  CHECK(load(t)->status().ok());
}

// vpnsdk/secret.hpp through the built plugin: an instance maps and locks at
// start the key memory it will need, sized from its authorized clients, and
// says how much; the process's VmLck grows by exactly that.
TEST_CASE("plugin: an instance holds its keys in locked memory and says how much", "[cipher_noise][plugin][locked]") {
  Keys k;
  Opts o = k.server_opts();
  o["authorized_clients"] = many_clients(k, 100);
  std::ostringstream text;
  auto log = std::make_shared<spdlog::logger>("cipher_noise", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  const bool fresh = !vpnsdk::testkit::loaded_already(plugin_path());  // ctest: one process per test case
  const std::size_t before = vpnsdk::testkit::locked_kib();
  auto h = std::make_unique<vpnsdk::testkit::Harness>(plugin_path(), o, vpnsdk::PoolConfig{}, ".", log);
  REQUIRE(h->status().ok());
  const std::size_t after = vpnsdk::testkit::locked_kib();
  INFO(text.str());
  const long logged = vpnsdk::testkit::locked_kib_logged(text.str());
  REQUIRE(logged > 0);
  CHECK(after >= static_cast<std::size_t>(logged));
  if (fresh) CHECK(after - before == static_cast<std::size_t>(logged));
  // Two key epochs of two 32-byte keys for each of the 101 clients, at least.
  CHECK(static_cast<std::size_t>(logged) * 1024 >= 101 * 4 * 32);
  CHECK(text.str().find("[warning]") == std::string::npos);
  // Sessions and their handshakes fit in what was locked at start.
  auto cli = load(k.client_opts("alice"));
  REQUIRE(cli->status().ok());
  auto c = session(*cli, vpnsdk::Role::initiator, 1);
  auto s = session(*h, vpnsdk::Role::responder, 1);
  vpnsdk::HandshakeMessages to_server, to_client;
  REQUIRE(c->start(to_server).ok());
  REQUIRE(s->handshake(to_server.at(0), to_client).ok());
  REQUIRE(c->handshake(to_client.at(0), to_server).ok());
  REQUIRE(first_frame(*c, *s));
  CHECK(text.str().find("[warning]") == std::string::npos);
}

// The arena is sized so that a full /24 of clients fits under the 64 KiB
// RLIMIT_MEMLOCK that systemd before 253 gives a service: no warning, and
// the handshake of a session locks nothing more.
TEST_CASE("plugin: 253 authorized clients fit under a 64 KiB RLIMIT_MEMLOCK", "[cipher_noise][plugin][locked]") {
  Keys k;
  Opts o = k.server_opts();
  o["authorized_clients"] = many_clients(k, 252);
  const bool fresh = !vpnsdk::testkit::loaded_already(plugin_path());
  const std::string r = vpnsdk::testkit::in_child_with_memlock_limit(64 * 1024, [&]() -> std::string {
    std::ostringstream text;
    auto log = std::make_shared<spdlog::logger>("cipher_noise", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
    vpnsdk::testkit::Harness srv(plugin_path(), o, vpnsdk::PoolConfig{}, ".", log);
    auto cli = load(k.client_opts("alice"));
    if (!srv.status().ok() || !cli->status().ok()) return "not created: " + srv.status().message;
    const long logged = vpnsdk::testkit::locked_kib_logged(text.str());
    if (fresh && logged != 56) return "expected 'keys in locked memory (56 KiB)': " + text.str();
    std::unique_ptr<vpnsdk::CipherSession> c, s;
    if (!new_session(*cli, vpnsdk::Role::initiator, 1, c).ok() || !new_session(srv, vpnsdk::Role::responder, 1, s).ok())
      return "no sessions";
    vpnsdk::HandshakeMessages to_server, to_client;
    if (!c->start(to_server).ok() || !s->handshake(to_server.at(0), to_client).ok() ||
        !c->handshake(to_client.at(0), to_server).ok() || !first_frame(*c, *s))
      return "no handshake";
    if (text.str().find("keys are not all in locked memory") != std::string::npos) return "warned: " + text.str();
    return {};
  });
  CHECK(r == "");
}
