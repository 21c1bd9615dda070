// vpnsdk/secret_file.hpp: the one reader for key files. The stock plugins'
// own tests (cipher_xor, cipher_noise) check their messages through it;
// these check the reader itself: its base64 against libsodium's, the
// checks in order, the templates, and where the key ends up.
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "temp_dir.hpp"
#include "vpnsdk/secret_file.hpp"
#include "vpnsdk/testkit/memory.hpp"

using Catch::Contains;
using vpnsdk::SecretBytes;

namespace {

using sdk_test::Dir;

std::string b64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string text_of(const SecretBytes& s) { return std::string(reinterpret_cast<const char*>(s.data()), s.size()); }

// "" and the key, or the message.
std::string read(const std::string& path, SecretBytes& out, const vpnsdk::SecretFileFormat& f = {}) {
  return vpnsdk::read_secret_file("key_file", path, "", "m.manifest:3:1", out, f);
}

}  // namespace

TEST_CASE("secret file: base64 is exactly libsodium's strict standard base64", "[secret_file]") {
  REQUIRE(sodium_init() >= 0);
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> rfc[] = {
      {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}};
  for (const auto& [text, plain] : rfc) {
    SecretBytes out;
    REQUIRE(vpnsdk::decode_base64(text, out));
    CHECK(text_of(out) == plain);
  }
  for (const char* bad : {"", "Zg", "Zg=", "Zh==", "Zm9=", "Zm-v", "Zm_v", "Z===", "====", "Zg==Zg==", "Zm9v\n", " Zm9v"}) {
    INFO(bad);
    SecretBytes out;
    CHECK_FALSE(vpnsdk::decode_base64(bad, out));
    CHECK(out.empty());
  }
  // Random strings over the alphabet, '=', the URL-safe characters and a blank.
  const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ ";
  std::mt19937 rng(16);
  int agreed_ok = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string s(rng() % 13, 'A');
    for (char& c : s) c = chars[rng() % (i % 3 == 0 ? chars.size() : 64)];
    if (i % 5 == 0 && s.size() >= 2) s[s.size() - 1] = '=';
    if (i % 10 == 0 && s.size() >= 3) s[s.size() - 2] = '=';
    unsigned char bin[16];
    std::size_t len = 0;
    const char* end = nullptr;
    const bool sodium_ok = sodium_base642bin(bin, sizeof bin, s.data(), s.size(), nullptr, &len, &end,
                                             sodium_base64_VARIANT_ORIGINAL) == 0 &&
                           end == s.data() + s.size() && !s.empty();
    SecretBytes out;
    const bool ours = vpnsdk::decode_base64(s, out);
    INFO(s);
    REQUIRE(ours == sodium_ok);
    if (ours) {
      ++agreed_ok;
      CHECK(std::string(reinterpret_cast<const char*>(bin), len) == text_of(out));
    }
  }
  CHECK(agreed_ok > 1000);
}

TEST_CASE("secret file: the key is read into locked memory, blanks around it ignored", "[secret_file]") {
  Dir d;
  const std::string key(32, '\x42');
  SecretBytes out;
  CHECK(read(d.write("k", " \t\n" + b64(key) + "\r\n\n"), out) == "");
  CHECK(text_of(out) == key);
  const auto f = vpnsdk::testkit::mapping_flags(out.data());
  CHECK(f.locked);
  CHECK(f.no_dump);
  // Relative to the manifest's directory.
  d.write("rel.key", b64(key) + "\n");
  SecretBytes rel;
  CHECK(vpnsdk::read_secret_file("key_file", "rel.key", d.path.string(), "x", rel) == "");
  CHECK(text_of(rel) == key);
}

TEST_CASE("secret file: every refusal names the option, where it was given and the file", "[secret_file]") {
  Dir d;
  const std::string prefix = "option key_file at m.manifest:3:1: ";
  const std::string good = b64(std::string(32, 'k')) + "\n";
  SecretBytes out;
  CHECK(read("", out) ==
        prefix + "key_file is empty; give the path of a key file (make one with: vpnhost keygen FILE)");
  const std::string missing = (d.path / "none").string();
  CHECK(read(missing, out) == prefix + "cannot read key file " + missing + ": No such file or directory");
  CHECK(read(d.path.string(), out) == prefix + "key file " + d.path.string() + " is not a regular file");
  std::string p = d.write("g", good, 0640);
  CHECK(read(p, out) == prefix + "key file " + p + " is readable by group/others (mode 0640); run: chmod 600 " + p);
  p = d.write("w", good, 0602);
  CHECK_THAT(read(p, out), Contains("is writable by group/others (mode 0602)"));
  p = d.write("rw", good, 0666);
  CHECK_THAT(read(p, out), Contains("is readable and writable by group/others (mode 0666)"));
  p = d.write("big", std::string(4097, 'A'));
  CHECK(read(p, out) == prefix + "key file " + p + " is too large (4097 bytes; a key file holds one line of base64)");
  p = d.write("empty", " \n");
  CHECK(read(p, out) == prefix + "key file " + p +
                            " is empty (make a new key with: vpnhost keygen NEWFILE, then point key_file at it)");
  p = d.write("junk", "not base64!\n");
  CHECK(read(p, out) == prefix + "key file " + p +
                            " is not valid base64 (expected one line of standard base64, as written by vpnhost keygen)");
  p = d.write("short", b64(std::string(16, 's')) + "\n");
  CHECK(read(p, out) == prefix + "key file " + p +
                            " holds a 16-byte key; at least 32 bytes are needed (make a new key with: vpnhost keygen "
                            "NEWFILE)");
  // The trust check is trust_problem's, exactly.
  p = d.write("theirs", good);
  REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK(read(p, out) == prefix + vpnsdk::trust_problem("key file", p, st));
  CHECK_THAT(read(p, out), Contains("is owned by uid 65534"));
  CHECK(out.empty());
}

TEST_CASE("secret file: a plugin's own wording through the templates", "[secret_file]") {
  Dir d;
  vpnsdk::SecretFileFormat f;
  f.min_bytes = f.max_bytes = 32;
  f.group_access = "{option}: {path} is {access} ({mode}), {unknown} kept";
  f.wrong_length = "{path}: {bytes} bytes, not {min}..{max}";
  SecretBytes out;
  std::string p = d.write("g", b64(std::string(32, 'k')), 0604);
  CHECK(read(p, out, f) == "option key_file at m.manifest:3:1: key_file: " + p + " is readable (0604), {unknown} kept");
  p = d.write("long", b64(std::string(33, 'k')));
  CHECK(read(p, out, f) == "option key_file at m.manifest:3:1: " + p + ": 33 bytes, not 32..32");
  p = d.write("ok", b64(std::string(32, 'k')));
  CHECK(read(p, out, f) == "");
  CHECK(out.size() == 32);
}
