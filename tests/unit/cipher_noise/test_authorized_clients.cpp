// authorized_clients parsing: the format, comments, and every refusal with
// its file:line.
#include <catch2/catch.hpp>

#include "../../../plugins/cipher_noise/authorized_clients.hpp"
#include "../../../plugins/cipher_noise/key_files.hpp"
#include "support.hpp"

using namespace cipher_noise;
using namespace noise_test;

namespace {

std::string key_b64(std::uint8_t fill) {
  PublicKey k{};
  k.fill(fill);
  return to_base64(k);
}

std::string refusal(const std::string& text) {
  try {
    AuthorizedClients::parse(text, "ac");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("authorized_clients: keys, names, fixed addresses, comments", "[cipher_noise][authorized]") {
  const std::string text = "# the team\n\n" + key_b64(1) + " alice 10.10.0.5\n   " + key_b64(2) +
                           "\tbob   # no fixed address\n" + key_b64(3) + " carol@laptop 10.10.0.6 # trailing\n";
  const auto ac = AuthorizedClients::parse(text, "ac");
  REQUIRE(ac.size() == 3);
  PublicKey k1{};
  k1.fill(1);
  const AuthorizedClient* a = ac.find(k1);
  REQUIRE(a != nullptr);
  CHECK(a->name == "alice");
  REQUIRE(a->fixed_address);
  CHECK(*a->fixed_address == 0x0a0a0005u);
  CHECK(a->line == 3);
  PublicKey k2{};
  k2.fill(2);
  REQUIRE(ac.find(k2) != nullptr);
  CHECK(ac.find(k2)->name == "bob");
  CHECK_FALSE(ac.find(k2)->fixed_address);
  PublicKey k9{};
  k9.fill(9);
  CHECK(ac.find(k9) == nullptr);
  CHECK(ac.all()[2].name == "carol@laptop");
}

TEST_CASE("authorized_clients: an empty file authorizes nobody", "[cipher_noise][authorized]") {
  CHECK(AuthorizedClients::parse("", "ac").size() == 0);
  CHECK(AuthorizedClients::parse("# nobody yet\n\n", "ac").size() == 0);
}

TEST_CASE("authorized_clients: refusals name file and line", "[cipher_noise][authorized]") {
  const std::string a = key_b64(1), b = key_b64(2);
  CHECK(refusal("# x\n" + a + "\n") == "ac:2: expected '<base64 public key> <name> [fixed address]', got only one field");
  CHECK(refusal(a + " alice 10.10.0.5 extra\n") ==
        "ac:1: expected '<base64 public key> <name> [fixed address]', got 4 fields (a comment starts with #)");
  CHECK(refusal("notbase64! alice\n") ==
        "ac:1: 'notbase64!' is not a public key (standard base64 of 32 bytes, as printed by vpnhost pubkey)");
  CHECK(refusal("AAAA alice\n") ==
        "ac:1: 'AAAA' is not a public key (standard base64 of 32 bytes, as printed by vpnhost pubkey)");
  CHECK(refusal(key_b64(0) + " zero\n") == "ac:1: the all-zero public key is not a valid key");
  CHECK(refusal(a + " al/ice\n") == "ac:1: client name 'al/ice' is not valid (1-64 characters: letters, digits, . _ @ -)");
  CHECK(refusal(a + " " + std::string(65, 'x') + "\n").find("is not valid") != std::string::npos);
  CHECK(refusal(a + " alice 10.10.0.300\n") == "ac:1: fixed address '10.10.0.300' is not an IPv4 address such as 10.10.0.5");
  CHECK(refusal(a + " alice\n\n" + a + " bob\n") == "ac:3: duplicate public key (already listed on line 1 for 'alice')");
  CHECK(refusal(a + " alice\n" + b + " alice\n") == "ac:2: duplicate client name 'alice' (already on line 1)");
  CHECK(refusal(a + " alice 10.10.0.5\n" + b + " bob 10.10.0.5\n") ==
        "ac:2: fixed address 10.10.0.5 is already given to the client on line 1");
}

TEST_CASE("public keys: base64 of exactly 32 bytes", "[cipher_noise][keys]") {
  const std::string a = key_b64(7);
  REQUIRE(a.size() == 44);
  auto k = parse_public_key("  " + a + "\n");
  REQUIRE(k);
  CHECK((*k)[0] == 7);
  CHECK_FALSE(parse_public_key(""));
  CHECK_FALSE(parse_public_key(a.substr(0, 40)));
  CHECK_FALSE(parse_public_key(a + "AAAA"));
  CHECK_FALSE(parse_public_key("-" + a.substr(1)));
}
