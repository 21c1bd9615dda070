// The stock plugins pass the SDK's conformance kits, loaded from their .so
// exactly as an out-of-tree author's tests load theirs.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "vpnsdk/testkit/cipher_conformance.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

namespace {

const std::string kPlugins = VPNHOST_TEST_PLUGIN_DIR;

// A private directory with key files written by `vpnhost keygen` (the way a
// user makes them).
struct KeyDir {
  KeyDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "conformance.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~KeyDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  // Writes <dir>/<name> and returns its path.
  std::string key(const std::string& name) const {
    const std::string path = dir + "/" + name;
    const std::string cmd = std::string(VPNHOST_BINARY) + " keygen " + path + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return path;
  }
  // The X25519 public key of a private key file (`vpnhost pubkey < FILE`).
  static std::string public_key(const std::string& file) {
    const std::string cmd = std::string(VPNHOST_BINARY) + " pubkey < " + file + " 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char line[256] = {};
    const bool got = std::fgets(line, sizeof line, p) != nullptr;
    REQUIRE(::pclose(p) == 0);
    REQUIRE(got);
    std::string out(line);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = dir + "/" + name;
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    return path;
  }
  std::string dir;
};

}  // namespace

TEST_CASE("cipher_xor passes the cipher conformance kit", "[conformance][cipher_xor]") {
  KeyDir keys;
  vpnsdk::testkit::Harness h(kPlugins + "/cipher_xor.so", {{"key_file", keys.key("xor.key")}});
  REQUIRE(h.status().ok());
  vpnsdk::testkit::CipherConformance c;
  c.integrity = false;  // XOR detects nothing: the kit must not ask it to
  const auto r = vpnsdk::testkit::check_cipher(h, c);
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 300);  // the kit really ran its round trips
  // Every seal and open went through the plugin.
  CHECK(h.counters().value("frames_sealed") > 100);
  CHECK(h.counters().value("frames_opened") > 100);
}

TEST_CASE("cipher_noise passes the cipher conformance kit, with integrity", "[conformance][cipher_noise]") {
  if (!std::filesystem::exists(kPlugins + "/cipher_noise.so")) {
    WARN("SKIPPED: cipher_noise.so is not built");
    return;
  }
  KeyDir keys;
  const std::string server_key = keys.key("server.key"), client_key = keys.key("client.key");
  const std::string clients = keys.write("authorized_clients", KeyDir::public_key(client_key) + " alice\n");
  vpnsdk::testkit::Harness server(kPlugins + "/cipher_noise.so",
                                  {{"private_key_file", server_key}, {"authorized_clients", clients}});
  vpnsdk::testkit::Harness client(kPlugins + "/cipher_noise.so", {{"private_key_file", client_key},
                                                                   {"server_public_key", KeyDir::public_key(server_key)}});
  REQUIRE(server.status().ok());
  REQUIRE(client.status().ok());
  vpnsdk::testkit::CipherConformance c;
  c.integrity = true;  // AEAD: every change, truncation and forgery must be dropped
  const auto r = vpnsdk::testkit::check_cipher(client.get<vpnsdk::Cipher>(), server.get<vpnsdk::Cipher>(),
                                               client.pool(), c);
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 500);
}

TEST_CASE("transport_tcp passes the transport loopback kit", "[conformance][transport_tcp]") {
  const auto port = vpnsdk::testkit::free_tcp_port();
  const auto r = vpnsdk::testkit::check_transport_loopback(
      kPlugins + "/transport_tcp.so",
      {{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}},
      {{"connect", std::string("127.0.0.1")}, {"port", std::int64_t{port}}});
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 400);
}

TEST_CASE("the loopback kit reports a transport that cannot start", "[conformance][transport_tcp]") {
  // Both instances listen: the "client" cannot connect anywhere and start()
  // of the second fails (port in use) or no session opens. Either way the
  // kit must say so instead of passing.
  const auto port = vpnsdk::testkit::free_tcp_port();
  vpnsdk::testkit::TransportLoopback c;
  c.timeout = std::chrono::milliseconds(500);
  const auto r = vpnsdk::testkit::check_transport_loopback(
      kPlugins + "/transport_tcp.so", {{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}},
      {{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}}, c);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(r.failed() >= 1);
}
