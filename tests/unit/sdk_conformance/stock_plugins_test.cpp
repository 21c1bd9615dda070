// The stock plugins pass the SDK's conformance kits, loaded from their .so
// exactly as an out-of-tree author's tests load theirs.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "vpnsdk/testkit/cipher_conformance.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

namespace {

const std::string kPlugins = VPNHOST_TEST_PLUGIN_DIR;

// A fresh key file written by `vpnhost keygen` (the way a user makes one).
struct KeyFile {
  KeyFile() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "conformance.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    path = dir + "/xor.key";
    const std::string cmd = std::string(VPNHOST_BINARY) + " keygen " + path + " >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
  }
  ~KeyFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir, path;
};

}  // namespace

TEST_CASE("cipher_xor passes the cipher conformance kit", "[conformance][cipher_xor]") {
  KeyFile key;
  vpnsdk::testkit::Harness h(kPlugins + "/cipher_xor.so", {{"key_file", key.path}});
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
