// cipher_xor through the SDK test harness: key file checks, the XOR
// transform against an independent naive implementation, counters.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>

#include "key_files.hpp"
#include "vpnsdk/cipher.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/testkit/memory.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
using xor_test::TempDir;

std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/cipher_xor.so"; }

std::unique_ptr<vpnsdk::testkit::Harness> load(const std::string& key_file, const std::string& base_dir = ".") {
  return std::make_unique<vpnsdk::testkit::Harness>(
      plugin_path(), std::map<std::string, vpnsdk::OptionValue>{{"key_file", key_file}}, vpnsdk::PoolConfig{},
      base_dir);
}

std::unique_ptr<vpnsdk::CipherSession> session(vpnsdk::testkit::Harness& h, vpnsdk::SessionId id = 1) {
  std::unique_ptr<vpnsdk::CipherSession> s;
  vpnsdk::SessionInfo info;
  info.id = id;
  REQUIRE(h.get<vpnsdk::Cipher>().new_session(info, s).ok());
  REQUIRE(s != nullptr);
  return s;
}

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// The reference: byte i XOR key[i % key length], one byte at a time.
Bytes naive_xor(const Bytes& data, const Bytes& key) {
  Bytes out(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) out[i] = data[i] ^ key[i % key.size()];
  return out;
}

Bytes contents(const vpnsdk::PacketBuffer& p) {
  Bytes out(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) out[i] = std::to_integer<std::uint8_t>(p.data()[i]);
  return out;
}

vpnsdk::PacketPtr packet(vpnsdk::testkit::Harness& h, const Bytes& b) {
  return h.packet(std::as_bytes(std::span<const std::uint8_t>(b)));
}

// The error for a key file that should be refused.
std::string refusal(const std::string& key_file, const std::string& base_dir = ".") {
  auto h = load(key_file, base_dir);
  REQUIRE_FALSE(h->status().ok());
  CHECK(h->status().code == vpnsdk::Code::config);
  return h->status().message;
}

}  // namespace

TEST_CASE("descriptor and stage defaults", "[cipher_xor]") {
  TempDir dir;
  auto h = load(dir.write_key("k", Bytes(32, 7)));
  REQUIRE(h->status().ok());
  CHECK(std::string(h->descriptor().name) == "cipher_xor");
  CHECK(h->descriptor().stage == vpnsdk::Stage::cipher);
  auto& c = h->get<vpnsdk::Cipher>();
  CHECK(c.overhead().head == 0);
  CHECK(c.overhead().tail == 0);
  auto s = session(*h);
  CHECK(s->established());
  vpnsdk::HandshakeMessages msgs;
  CHECK(s->start(msgs).ok());
  CHECK(msgs.empty());
  CHECK_FALSE(s->peer().has_value());
}

TEST_CASE("key_file is a required option without default", "[cipher_xor]") {
  vpnsdk::testkit::Harness h(plugin_path());
  bool found = false;
  for (std::size_t i = 0; i < h.descriptor().option_count; ++i) {
    const auto& o = h.descriptor().options[i];
    if (std::string(o.name) != "key_file") continue;
    found = true;
    CHECK(o.required);
    CHECK(o.default_value == nullptr);
    CHECK(o.type == vpnsdk::OptionType::string);
  }
  CHECK(found);
  CHECK_FALSE(h.status().ok());  // created without it: refused, not a crash
}

TEST_CASE("known-answer vector", "[cipher_xor]") {
  // key "0123456789abcdef" (16 bytes); ciphertext computed outside the code
  // under test (python3: bytes(p[i] ^ k[i % 16] for i in range(len(p)))).
  TempDir dir;
  auto h = load(dir.write("k", "MDEyMzQ1Njc4OWFiY2RlZg==\n"));
  REQUIRE(h->status().ok());
  const std::string text = "hello, xor world! 0123456789";
  const Bytes plain(text.begin(), text.end());
  const Bytes expected{0x58, 0x54, 0x5e, 0x5f, 0x5b, 0x19, 0x16, 0x4f, 0x57, 0x4b, 0x41, 0x15, 0x0c, 0x16,
                       0x09, 0x02, 0x11, 0x11, 0x02, 0x02, 0x06, 0x06, 0x02, 0x02, 0x0e, 0x0e, 0x59, 0x5b};
  auto s = session(*h);
  auto p = packet(*h, plain);
  REQUIRE(s->seal(*p).ok());
  CHECK(contents(*p) == expected);
  CHECK(contents(*p) == naive_xor(plain, Bytes{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c',
                                                'd', 'e', 'f'}));
  REQUIRE(s->open(*p).ok());
  CHECK(contents(*p) == plain);
}

TEST_CASE("round trip and naive reference over sizes and key lengths", "[cipher_xor]") {
  std::mt19937_64 rng(0x5eed);
  TempDir dir;
  // 17 and 33 do not divide the expanded block; 5000 is longer than it.
  for (std::size_t key_len : {std::size_t{16}, std::size_t{17}, std::size_t{32}, std::size_t{33}, std::size_t{5000}}) {
    const Bytes key = random_bytes(rng, key_len);
    auto h = load(dir.write_key("k" + std::to_string(key_len), key));
    REQUIRE(h->status().ok());
    auto sender = session(*h, 1);
    auto receiver = session(*h, 2);
    for (std::size_t n : {0, 1, 7, 8, 9, 1399, 1400, 4095, 4096, 4097, 9000}) {
      INFO("key length " << key_len << ", frame size " << n);
      const Bytes plain = random_bytes(rng, n);
      auto p = packet(*h, plain);
      REQUIRE(sender->seal(*p).ok());
      const Bytes sealed = contents(*p);
      CHECK(sealed.size() == n);
      if (n > 0) CHECK(sealed != plain);
      CHECK(sealed == naive_xor(plain, key));
      REQUIRE(receiver->open(*p).ok());
      CHECK(contents(*p) == plain);
    }
  }
}

TEST_CASE("stateless per frame, position counted from the frame body start", "[cipher_xor]") {
  std::mt19937_64 rng(42);
  TempDir dir;
  const Bytes key = random_bytes(rng, 21);
  auto h = load(dir.write_key("k", key));
  REQUIRE(h->status().ok());
  auto s = session(*h);
  const Bytes plain = random_bytes(rng, 300);

  SECTION("sealing twice restores the frame") {
    auto p = packet(*h, plain);
    REQUIRE(s->seal(*p).ok());
    REQUIRE(s->seal(*p).ok());
    CHECK(contents(*p) == plain);
  }
  SECTION("the same frame seals the same way every time, in every session") {
    auto a = packet(*h, plain);
    auto b = packet(*h, plain);
    auto other = session(*h, 9);
    REQUIRE(s->seal(*a).ok());
    REQUIRE(other->seal(*b).ok());
    CHECK(contents(*a) == contents(*b));
  }
  SECTION("an unaligned body start (after pull) still starts at key byte 0") {
    for (std::size_t skip : {1, 3, 5, 7}) {
      Bytes framed(skip, 0xee);
      framed.insert(framed.end(), plain.begin(), plain.end());
      auto p = packet(*h, framed);
      REQUIRE(p->pull(skip));
      REQUIRE(s->seal(*p).ok());
      CHECK(contents(*p) == naive_xor(plain, key));
    }
  }
}

TEST_CASE("counters", "[cipher_xor]") {
  TempDir dir;
  auto h = load(dir.write_key("k", Bytes(32, 0x42)));
  REQUIRE(h->status().ok());
  auto s = session(*h);
  const auto& c = h->counters();
  CHECK(c.value("frames_sealed") == 0);
  for (std::size_t n : {10, 20, 0}) {
    auto p = packet(*h, Bytes(n, 1));
    REQUIRE(s->seal(*p).ok());
  }
  auto p = packet(*h, Bytes(1400, 1));
  REQUIRE(s->open(*p).ok());
  CHECK(c.value("frames_sealed") == 3);
  CHECK(c.value("bytes_sealed") == 30);
  CHECK(c.value("frames_opened") == 1);
  CHECK(c.value("bytes_opened") == 1400);
  // Sessions share the instance's counters.
  auto s2 = session(*h, 2);
  REQUIRE(s2->open(*p).ok());
  CHECK(c.value("frames_opened") == 2);
  CHECK(c.value("bytes_opened") == 2800);
}

TEST_CASE("key file accepted", "[cipher_xor]") {
  TempDir dir;
  const Bytes key(32, 0x11);
  SECTION("mode 0600, as keygen writes it") {
    auto h = load(dir.write_key("k", key));
    CHECK(h->status().ok());
  }
  SECTION("mode 0400") {
    auto h = load(dir.write("k", xor_test::base64(key) + "\n", 0400));
    CHECK(h->status().ok());
  }
  SECTION("surrounding whitespace and CRLF are trimmed") {
    auto h = load(dir.write("k", "  \n" + xor_test::base64(key) + "\r\n\n"));
    CHECK(h->status().ok());
  }
  SECTION("exactly 16 bytes") {
    auto h = load(dir.write_key("k", Bytes(16, 3)));
    CHECK(h->status().ok());
  }
  SECTION("a relative path is resolved against the manifest's directory") {
    std::filesystem::create_directories(dir.path() / "keys");
    dir.write_key("keys/xor.key", key);
    auto h = load("keys/xor.key", dir.path().string());
    CHECK(h->status().ok());
    // and the key really is the one in that file
    auto s = session(*h);
    auto p = packet(*h, Bytes(40, 0));
    REQUIRE(s->seal(*p).ok());
    CHECK(contents(*p) == Bytes(40, 0x11));
  }
}

TEST_CASE("key file refused with a message naming the file and the option", "[cipher_xor]") {
  TempDir dir;
  using Catch::Contains;
  SECTION("missing") {
    const std::string path = (dir.path() / "nope.key").string();
    const std::string msg = refusal(path);
    CHECK_THAT(msg, Contains("cannot read key file " + path + ": No such file or directory"));
    CHECK_THAT(msg, Contains("key_file at test"));
  }
  SECTION("missing relative path names the resolved path") {
    const std::string msg = refusal("sub/none.key", dir.path().string());
    CHECK_THAT(msg, Contains("cannot read key file " + (dir.path() / "sub/none.key").string() +
                             ": No such file or directory"));
    CHECK_THAT(msg, Contains("key_file at test"));
  }
  SECTION("empty") {
    const std::string path = dir.write("k", "");
    const std::string msg = refusal(path);
    CHECK_THAT(msg, Contains("key file " + path + " is empty"));
    CHECK_THAT(msg, Contains("key_file at test"));
  }
  SECTION("only whitespace") {
    const std::string path = dir.write("k", " \n\t\n");
    CHECK_THAT(refusal(path), Contains("key file " + path + " is empty"));
  }
  SECTION("not base64") {
    const std::string path = dir.write("k", "this is not base64 at all!\n");
    const std::string msg = refusal(path);
    CHECK_THAT(msg, Contains("key file " + path + " is not valid base64"));
    CHECK_THAT(msg, Contains("key_file at test"));
  }
  SECTION("base64 with trailing garbage") {
    const std::string path = dir.write("k", xor_test::base64(Bytes(32, 1)) + "$$\n");
    CHECK_THAT(refusal(path), Contains("is not valid base64"));
  }
  SECTION("url-safe alphabet is not standard base64") {
    // 0xfb 0xff -> standard "+/8=", url-safe "-_8="
    Bytes key(30, 0xfb);
    key.push_back(0xff);
    key.push_back(0xff);
    std::string text = xor_test::base64(key);
    for (auto& ch : text) {
      if (ch == '+') ch = '-';
      if (ch == '/') ch = '_';
    }
    REQUIRE(text.find_first_of("-_") != std::string::npos);
    const std::string path = dir.write("k", text + "\n");
    CHECK_THAT(refusal(path), Contains("is not valid base64"));
  }
  SECTION("key shorter than 16 bytes") {
    const std::string path = dir.write_key("k", Bytes(15, 9));
    const std::string msg = refusal(path);
    CHECK_THAT(msg, Contains("key file " + path + " holds a 15-byte key; at least 16 bytes are needed"));
    CHECK_THAT(msg, Contains("key_file at test"));
  }
  SECTION("mode 0644 (world readable)") {
    const std::string path = dir.write("k", xor_test::base64(Bytes(32, 1)) + "\n", 0644);
    const std::string msg = refusal(path);
    CHECK_THAT(msg, Contains("key file " + path + " is readable by group/others (mode 0644); run: chmod 600 " + path));
    CHECK_THAT(msg, Contains("key_file at test"));
  }
  SECTION("mode 0640 (group readable)") {
    const std::string path = dir.write("k", xor_test::base64(Bytes(32, 1)) + "\n", 0640);
    CHECK_THAT(refusal(path), Contains("(mode 0640); run: chmod 600 " + path));
  }
  SECTION("mode 0602 (world writable)") {
    const std::string path = dir.write("k", xor_test::base64(Bytes(32, 1)) + "\n", 0602);
    CHECK_THAT(refusal(path), Contains("key file " + path + " is writable by group/others (mode 0602)"));
  }
  SECTION("owned by another user (StrictModes)") {
    const std::string path = dir.write_key("k", Bytes(32, 1));
    REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
    CHECK_THAT(refusal(path), Contains("key file " + path + " is owned by uid 65534, not by root or by the user "
                                       "vpnhost runs as (root), so that user can change it: run chown root " + path));
  }
  SECTION("in a group-writable directory (StrictModes)") {
    std::filesystem::create_directories(dir.path() / "g");
    const std::string d = (dir.path() / "g").string();
    REQUIRE(::chmod(d.c_str(), 0775) == 0);
    const std::string path = dir.write_key("g/k", Bytes(32, 1));
    CHECK_THAT(refusal(path), Contains("key file " + path + ": directory " + d +
                                       " is writable by group/others (mode 0775), so they can replace the file: "
                                       "run chmod go-w " + d));
    REQUIRE(::chmod(d.c_str(), 01777) == 0);  // sticky, as /tmp: accepted
    CHECK(load(path)->status().ok());
  }
  SECTION("a directory") {
    std::filesystem::create_directories(dir.path() / "d");
    ::chmod((dir.path() / "d").c_str(), 0700);
    const std::string path = (dir.path() / "d").string();
    CHECK_THAT(refusal(path), Contains(path) && Contains("not a regular file"));
  }
  SECTION("empty option") {
    CHECK_THAT(refusal(""), Contains("key_file"));
  }
}

// vpnsdk/secret.hpp through the built plugin: the key and its expanded
// keystream block are in locked memory, and the plugin says how much.
TEST_CASE("the key is held in locked memory and the plugin says how much", "[cipher_xor][locked]") {
  TempDir dir;
  const std::string key = dir.write_key("k", Bytes(32, 7));
  std::ostringstream text;
  auto log = std::make_shared<spdlog::logger>("cipher_xor", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
  const bool fresh = !vpnsdk::testkit::loaded_already(plugin_path());  // ctest: one process per test case
  const std::size_t before = vpnsdk::testkit::locked_kib();
  vpnsdk::testkit::Harness h(plugin_path(), {{"key_file", key}}, vpnsdk::PoolConfig{}, ".", log);
  REQUIRE(h.status().ok());
  const std::size_t after = vpnsdk::testkit::locked_kib();
  INFO(text.str());
  const long logged = vpnsdk::testkit::locked_kib_logged(text.str());
  REQUIRE(logged >= 4);  // at least the 4 KiB keystream block
  CHECK(after >= static_cast<std::size_t>(logged));
  CHECK(after - before >= 4);  // this instance's keystream block: pages of its own, locked now
  if (fresh) CHECK(after - before == static_cast<std::size_t>(logged));
  CHECK(text.str().find("keys are not all in locked memory") == std::string::npos);
}
