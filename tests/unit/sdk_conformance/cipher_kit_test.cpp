// The cipher conformance kit itself: it passes a correct cipher and catches
// each deliberate bug with a message that names it.
#include <catch2/catch.hpp>

#include <string>

#include "fake_ciphers.hpp"
#include "vpnsdk/testkit/cipher_conformance.hpp"

using fakes::CipherBug;
using fakes::FakeCipher;

namespace {

vpnsdk::testkit::Report check(CipherBug bug, bool integrity) {
  FakeCipher cipher(bug);
  vpnsdk::PacketPool pool;
  vpnsdk::testkit::CipherConformance c;
  c.integrity = integrity;
  return vpnsdk::testkit::check_cipher(cipher, pool, c);
}

bool mentions(const vpnsdk::testkit::Report& r, const std::string& text) {
  for (const auto& f : r.failures())
    if (f.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("cipher kit: a correct cipher with integrity passes", "[conformance][kit]") {
  const auto r = check(CipherBug::none, true);
  INFO(r.text());
  CHECK(r.ok());
  CHECK(r.checks() > 500);
  CHECK(r.failed() == 0);
}

TEST_CASE("cipher kit: open() that does not undo seal() fails the round trip", "[conformance][kit]") {
  const auto r = check(CipherBug::no_open, false);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "open gives back the original bytes"));
}

TEST_CASE("cipher kit: plaintext on the wire is reported", "[conformance][kit]") {
  const auto r = check(CipherBug::identity, false);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "does not contain the plaintext"));
}

TEST_CASE("cipher kit: growth beyond overhead() is reported", "[conformance][kit]") {
  const auto r = check(CipherBug::undeclared_tail, false);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "bytes behind; overhead().tail is 0"));
}

TEST_CASE("cipher kit: a write into the headroom is caught by the canaries", "[conformance][kit]") {
  const auto r = check(CipherBug::stray_write, false);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "wrote nothing outside the frame's data"));
}

TEST_CASE("cipher kit: a write past the data end is caught by the canaries", "[conformance][kit]") {
  const auto r = check(CipherBug::ignores_room, false);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "wrote nothing outside the frame's data"));
}

TEST_CASE("cipher kit: an exception out of seal() is a failure, not a crash", "[conformance][kit]") {
  const auto r = check(CipherBug::throws, false);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "seal threw: boom"));
}

TEST_CASE("cipher kit: integrity that is claimed but not checked is reported", "[conformance][kit]") {
  const auto r = check(CipherBug::no_check, true);
  INFO(r.text());
  CHECK_FALSE(r.ok());
  CHECK(mentions(r, "flipped: open returns a drop_* code"));
  // Without the claim, the same cipher passes.
  const auto plain = check(CipherBug::no_check, false);
  INFO(plain.text());
  CHECK(plain.ok());
}

TEST_CASE("cipher kit: Report counts, keeps and prints failures", "[conformance][kit]") {
  vpnsdk::testkit::Report r;
  CHECK_FALSE(r.ok());  // nothing checked is not a pass
  int seen = 0;
  r.on_failure = [&](const std::string&) { ++seen; };
  CHECK(r.expect(true, "fine"));
  CHECK(r.ok());
  for (int i = 0; i < 50; ++i) r.expect(false, "bad " + std::to_string(i));
  CHECK(seen == 50);
  CHECK(r.failed() == 50);
  CHECK(r.failures().size() == vpnsdk::testkit::Report::kMaxKept);
  CHECK(r.text().find("51 checks, 50 failed") == 0);
  CHECK(r.text().find("... and 10 more") != std::string::npos);
}
