// cipher_rot tests: the plugin loaded from its .so through the SDK's testkit,
// as the host would load it.
#include <catch2/catch.hpp>

#include <vector>

#include "vpnsdk/testkit/cipher_conformance.hpp"
#include "vpnsdk/testkit/harness.hpp"

using vpnsdk::testkit::Harness;

namespace {

std::vector<std::byte> bytes(std::initializer_list<unsigned> v) {
  std::vector<std::byte> out;
  for (unsigned x : v) out.push_back(std::byte(x));
  return out;
}

std::unique_ptr<vpnsdk::CipherSession> session(Harness& h, vpnsdk::Role role) {
  std::unique_ptr<vpnsdk::CipherSession> s;
  REQUIRE(h.get<vpnsdk::Cipher>().new_session({1, role, {"127.0.0.1", 5000}}, s).ok());
  REQUIRE(s);
  return s;
}

}  // namespace

TEST_CASE("descriptor: name, stage, version, one option", "[cipher_rot]") {
  Harness h(CIPHER_ROT_SO);
  REQUIRE(h.status().ok());
  CHECK(std::string(h.descriptor().name) == "cipher_rot");
  CHECK(h.descriptor().stage == vpnsdk::Stage::cipher);
  CHECK(std::string(h.descriptor().version) == "1.0.0");
  REQUIRE(h.descriptor().option_count == 1);
  CHECK(std::string(h.descriptor().options[0].name) == "shift");
}

TEST_CASE("passes the SDK cipher conformance kit (with integrity)", "[cipher_rot]") {
  for (std::int64_t shift : {1, 13, 255}) {
    Harness h(CIPHER_ROT_SO, {{"shift", shift}});
    REQUIRE(h.status().ok());
    vpnsdk::testkit::CipherConformance c;
    c.integrity = true;  // the checksum catches every single-bit change and truncation
    const auto r = vpnsdk::testkit::check_cipher(h, c);
    INFO("shift " << shift << ": " << r.text());
    CHECK(r.ok());
  }
}

TEST_CASE("known answer: version byte, bytes + shift, Fletcher-16 of the plain bytes", "[cipher_rot]") {
  Harness h(CIPHER_ROT_SO, {{"shift", std::int64_t{1}}});
  REQUIRE(h.status().ok());
  auto s = session(h, vpnsdk::Role::initiator);
  auto p = h.packet(bytes({0x00, 0x01, 0xff}));
  REQUIRE(s->seal(*p).ok());
  // Fletcher-16 of 00 01 ff: sum1 = 1, sum2 = 2 -> 0x0201.
  CHECK(std::vector<std::byte>(p->bytes().begin(), p->bytes().end()) == bytes({0x01, 0x01, 0x02, 0x00, 0x02, 0x01}));
  CHECK(h.counters().value("frames_sealed") == 1);
}

TEST_CASE("a peer with another shift: frames are dropped and counted", "[cipher_rot]") {
  Harness a(CIPHER_ROT_SO, {{"shift", std::int64_t{3}}});
  Harness b(CIPHER_ROT_SO, {{"shift", std::int64_t{4}}});
  REQUIRE(a.status().ok());
  REQUIRE(b.status().ok());
  auto sa = session(a, vpnsdk::Role::initiator);
  auto sb = session(b, vpnsdk::Role::responder);
  auto p = a.packet(bytes({'V', 'P', 'N', 'H', 1, 2, 3}));
  REQUIRE(sa->seal(*p).ok());
  const auto st = sb->open(*p);
  CHECK(st.code == vpnsdk::Code::drop_malformed);
  CHECK(st.message == "bad checksum");
  CHECK(b.counters().value("bad_frames") == 1);
  CHECK(b.counters().value("frames_opened") == 0);
}

TEST_CASE("shift outside 1..255 is a ConfigError naming the option and where", "[cipher_rot]") {
  for (std::int64_t bad : {0, 256, -1}) {
    Harness h(CIPHER_ROT_SO, {{"shift", bad}});
    CHECK(h.status().code == vpnsdk::Code::config);
    CHECK(h.status().message == "option shift at test: " + std::to_string(bad) + " is not in 1..255");
  }
}
