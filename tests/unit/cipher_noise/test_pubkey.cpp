// `vpnhost pubkey < private` and the public key `vpnhost keygen` prints:
// both are the X25519 public key of the file's 32 bytes.
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../../../plugins/cipher_noise/key_files.hpp"
#include "support.hpp"
#include "vpnhost/keys.hpp"

using namespace noise_test;

namespace {

struct Run {
  int code = -1;
  std::string out;
};

// Runs a shell command line; stdout captured, stderr discarded.
Run shell(const std::string& cmd) {
  Run r;
  FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("noise-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("pubkey: the public key of a base64 private key", "[cipher_noise][pubkey]") {
  const cipher_noise::DhKeyPair kp = cipher_noise::generate_keypair();
  const std::string priv = cipher_noise::to_base64(kp.priv.view());
  CHECK(vpnhost::public_key_from_private(priv + "\n") == cipher_noise::to_base64(kp.pub));
  CHECK_THROWS_AS(vpnhost::public_key_from_private("AAAA"), vpnhost::KeyFileError);
  CHECK_THROWS_AS(vpnhost::public_key_from_private(""), vpnhost::KeyFileError);
  CHECK_THROWS_AS(vpnhost::public_key_from_private(priv + "AAAA"), vpnhost::KeyFileError);
}

TEST_CASE("pubkey: vpnhost keygen prints, vpnhost pubkey derives the same key", "[cipher_noise][pubkey][binary]") {
  const std::string key = temp_path("k.key");
  std::filesystem::remove(key);
  const Run gen = shell(std::string(VPNHOST_BINARY) + " keygen " + key);
  REQUIRE(gen.code == 0);
  const std::string printed = gen.out.substr(0, gen.out.find('\n'));
  REQUIRE(printed.size() == 44);
  const Run pub = shell(std::string(VPNHOST_BINARY) + " pubkey < " + key);
  CHECK(pub.code == 0);
  CHECK(pub.out == printed + "\n");
  // Independently: X25519 of the file's bytes.
  auto priv = cipher_noise::parse_public_key(read_file(key));  // any 32 bytes of base64
  REQUIRE(priv);
  const auto kp = cipher_noise::keypair_from_private(View(priv->data(), priv->size()));
  CHECK(cipher_noise::to_base64(kp.pub) == printed);
  std::filesystem::remove(key);

  const std::string bad = temp_path("bad.key");
  { std::ofstream(bad) << "not a key\n"; }
  const Run refused = shell(std::string(VPNHOST_BINARY) + " pubkey < " + bad);
  CHECK(refused.code == 1);
  CHECK(refused.out.empty());
  std::filesystem::remove(bad);
}
