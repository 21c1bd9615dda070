// responder_icmp_echo through the SDK test harness, against byte vectors
// from real ping traffic (see tests/data/icmp/).
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "vectors.hpp"
#include "vpnsdk/responder.hpp"
#include "vpnsdk/testkit/harness.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/responder_icmp_echo.so"; }

constexpr std::uint32_t kServer = 0x0a0a0001;  // 10.10.0.1

vpnsdk::Assignment server_self() {
  vpnsdk::Assignment a;
  a.address = kServer;
  a.server = kServer;
  return a;
}

std::span<const std::byte> as_bytes(const Bytes& b) { return std::as_bytes(std::span<const std::uint8_t>(b)); }

Bytes contents(const vpnsdk::PacketBuffer& p) {
  Bytes out(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) out[i] = std::to_integer<std::uint8_t>(p.data()[i]);
  return out;
}

struct Fixture {
  explicit Fixture(std::map<std::string, vpnsdk::OptionValue> opts = {}) : h(plugin_path(), std::move(opts)) {
    REQUIRE(h.status().ok());
  }
  vpnsdk::Verdict run(const Bytes& in, Bytes& out, const vpnsdk::Assignment& self = server_self()) {
    auto p = h.packet(as_bytes(in));
    const auto v = h.get<vpnsdk::Responder>().handle(*p, self);
    out = contents(*p);
    return v;
  }
  std::uint64_t replies() { return h.counters().value("echo_replies"); }
  std::uint64_t ignored() { return h.counters().value("ignored"); }
  vpnsdk::testkit::Harness h;
};

}  // namespace

TEST_CASE("descriptor", "[responder_icmp_echo]") {
  vpnsdk::testkit::Harness h(plugin_path());
  REQUIRE(h.status().ok());
  CHECK(std::string(h.descriptor().name) == "responder_icmp_echo");
  CHECK(h.descriptor().stage == vpnsdk::Stage::responder);
}

TEST_CASE("real ping (odd-length payload) becomes the expected reply", "[responder_icmp_echo]") {
  Fixture f;
  Bytes out;
  REQUIRE(f.run(icmp_vectors::kReqOdd, out) == vpnsdk::Verdict::reply);
  CHECK(out == icmp_vectors::kReplyOdd);
  // The ICMP message is exactly what the Linux kernel answered to the same ping.
  CHECK(Bytes(out.begin() + 20, out.end()) ==
        Bytes(icmp_vectors::kKernelReplyOdd.begin() + 20, icmp_vectors::kKernelReplyOdd.end()));
  // Payload (after the 8-byte ICMP header) preserved byte for byte.
  CHECK(Bytes(out.begin() + 28, out.end()) == Bytes(icmp_vectors::kReqOdd.begin() + 28, icmp_vectors::kReqOdd.end()));
  CHECK(f.replies() == 1);
  CHECK(f.ignored() == 0);
}

TEST_CASE("real 56-byte ping becomes the expected reply", "[responder_icmp_echo]") {
  Fixture f;
  Bytes out;
  REQUIRE(f.run(icmp_vectors::kReq56, out) == vpnsdk::Verdict::reply);
  CHECK(out == icmp_vectors::kReply56);
  CHECK(Bytes(out.begin() + 20, out.end()) ==
        Bytes(icmp_vectors::kKernelReply56.begin() + 20, icmp_vectors::kKernelReply56.end()));
  CHECK(f.replies() == 1);
}

TEST_CASE("IP options are kept and the header checksum covers them", "[responder_icmp_echo]") {
  Fixture f;
  Bytes out;
  REQUIRE(f.run(icmp_vectors::kReqOpts, out) == vpnsdk::Verdict::reply);
  CHECK(out == icmp_vectors::kReplyOpts);
}

TEST_CASE("ttl option", "[responder_icmp_echo]") {
  SECTION("ttl = 32 is used in the reply") {
    Fixture f({{"ttl", std::int64_t{32}}});
    Bytes out;
    REQUIRE(f.run(icmp_vectors::kReq56, out) == vpnsdk::Verdict::reply);
    CHECK(out == icmp_vectors::kReply56Ttl32);
  }
  SECTION("out of range is refused, naming the option and its location") {
    for (std::int64_t bad : {std::int64_t{0}, std::int64_t{256}, std::int64_t{-1}}) {
      vpnsdk::testkit::Harness h(plugin_path(), {{"ttl", bad}});
      REQUIRE_FALSE(h.status().ok());
      CHECK(h.status().code == vpnsdk::Code::config);
      CHECK_THAT(h.status().message, Catch::Contains("ttl") && Catch::Contains("test") &&
                                         Catch::Contains(std::to_string(bad)) && Catch::Contains("1 to 255"));
    }
  }
  SECTION("bounds 1 and 255 are accepted") {
    vpnsdk::testkit::Harness lo(plugin_path(), {{"ttl", std::int64_t{1}}});
    vpnsdk::testkit::Harness hi(plugin_path(), {{"ttl", std::int64_t{255}}});
    CHECK(lo.status().ok());
    CHECK(hi.status().ok());
  }
}

TEST_CASE("bytes beyond the IP total length are trimmed", "[responder_icmp_echo]") {
  Fixture f;
  Bytes padded = icmp_vectors::kReqOdd;
  padded.insert(padded.end(), {0x00, 0x00, 0x00, 0xee, 0xee});
  Bytes out;
  REQUIRE(f.run(padded, out) == vpnsdk::Verdict::reply);
  CHECK(out == icmp_vectors::kReplyOdd);
}

TEST_CASE("a reply is itself passed, never answered", "[responder_icmp_echo]") {
  // Our own reply travelling back (e.g. a loop) must not ping-pong.
  Fixture f;
  Bytes out;
  vpnsdk::Assignment peer_view;
  peer_view.address = 0x0a0a0002;
  peer_view.server = 0x0a0a0002;  // pretend 10.10.0.2 is "us": the reply's destination
  CHECK(f.run(icmp_vectors::kReplyOdd, out, peer_view) == vpnsdk::Verdict::pass);
  CHECK(out == icmp_vectors::kReplyOdd);
}

TEST_CASE("everything else passes unchanged", "[responder_icmp_echo]") {
  struct Case {
    const char* name;
    const Bytes* bytes;
  };
  const Case cases[] = {
      {"echo reply to us (type 0)", &icmp_vectors::kEchoReplyToUs},
      {"timestamp request (type 13)", &icmp_vectors::kTimestampRequest},
      {"echo request with code 1", &icmp_vectors::kEchoCode1},
      {"TCP SYN", &icmp_vectors::kTcpSyn},
      {"UDP", &icmp_vectors::kUdp},
      {"echo request bytes with protocol TCP", &icmp_vectors::kEchoBytesAsTcp},
      {"echo request bytes with protocol UDP", &icmp_vectors::kEchoBytesAsUdp},
      {"echo to another address", &icmp_vectors::kWrongDst},
      {"bad ICMP checksum", &icmp_vectors::kBadIcmpChecksum},
      {"bad IPv4 header checksum", &icmp_vectors::kBadIpChecksum},
      {"first fragment (MF)", &icmp_vectors::kMoreFragments},
      {"later fragment (offset)", &icmp_vectors::kFragmentOffset},
      {"ICMP shorter than its header", &icmp_vectors::kIcmpHeaderShort},
      {"source 0.0.0.0", &icmp_vectors::kSrcZero},
      {"source multicast", &icmp_vectors::kSrcMulticast},
      {"source broadcast", &icmp_vectors::kSrcBroadcast},
      {"source loopback", &icmp_vectors::kSrcLoopback},
  };
  Fixture f;
  std::uint64_t n = 0;
  for (const Case& c : cases) {
    INFO(c.name);
    Bytes out;
    CHECK(f.run(*c.bytes, out) == vpnsdk::Verdict::pass);
    CHECK(out == *c.bytes);
    ++n;
  }
  CHECK(f.ignored() == n);
  CHECK(f.replies() == 0);
}

TEST_CASE("truncated and malformed packets pass unchanged", "[responder_icmp_echo]") {
  Fixture f;
  std::vector<std::pair<std::string, Bytes>> cases;
  cases.emplace_back("empty", Bytes{});
  cases.emplace_back("19 bytes", Bytes(icmp_vectors::kReq56.begin(), icmp_vectors::kReq56.begin() + 19));
  cases.emplace_back("header only", Bytes(icmp_vectors::kReq56.begin(), icmp_vectors::kReq56.begin() + 20));
  cases.emplace_back("cut inside ICMP header",
                     Bytes(icmp_vectors::kReq56.begin(), icmp_vectors::kReq56.begin() + 24));
  cases.emplace_back("cut inside payload", Bytes(icmp_vectors::kReq56.begin(), icmp_vectors::kReq56.end() - 1));
  Bytes v6 = icmp_vectors::kReq56;
  v6[0] = 0x60;
  cases.emplace_back("IP version 6", v6);
  Bytes ihl_big = icmp_vectors::kReqOdd;
  ihl_big[0] = 0x4f;  // 60-byte header claimed
  cases.emplace_back("IHL beyond the total length", ihl_big);
  for (const auto& [name, bytes] : cases) {
    INFO(name);
    Bytes out;
    CHECK(f.run(bytes, out) == vpnsdk::Verdict::pass);
    CHECK(out == bytes);
  }
  CHECK(f.ignored() == cases.size());
  CHECK(f.replies() == 0);
}

TEST_CASE("answers only this host's own address", "[responder_icmp_echo]") {
  Fixture f;
  Bytes out;
  vpnsdk::Assignment other = server_self();
  other.address = 0x0a0a0009;
  other.server = 0x0a0a0009;
  CHECK(f.run(icmp_vectors::kReq56, out, other) == vpnsdk::Verdict::pass);
  CHECK(out == icmp_vectors::kReq56);
  // On a client, self.server is the hub: a ping to the hub is not ours to answer.
  vpnsdk::Assignment client_view = server_self();
  client_view.address = 0x0a0a0009;
  CHECK(f.run(icmp_vectors::kReq56, out, client_view) == vpnsdk::Verdict::pass);
  CHECK(out == icmp_vectors::kReq56);
  CHECK(f.run(icmp_vectors::kReq56, out) == vpnsdk::Verdict::reply);
  CHECK(out == icmp_vectors::kReply56);
  CHECK(f.replies() == 1);
  CHECK(f.ignored() == 2);
}

TEST_CASE("answers repeatedly, counting each reply", "[responder_icmp_echo]") {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    Bytes out;
    REQUIRE(f.run(icmp_vectors::kReq56, out) == vpnsdk::Verdict::reply);
    REQUIRE(out == icmp_vectors::kReply56);
  }
  CHECK(f.replies() == 5);
}

namespace {
// RFC 1071 sum written out for the test (independent of vpnsdk::ipv4).
std::uint16_t sum16(const Bytes& b, std::size_t from, std::size_t to) {
  std::uint32_t s = 0;
  for (std::size_t i = from; i < to; i += 2) s += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(~s & 0xffff);
}
}  // namespace

TEST_CASE("mutated requests: pass leaves the bytes alone, a reply is always well formed", "[responder_icmp_echo]") {
  Fixture f;
  std::mt19937 rng(1234);
  std::uint64_t replies = 0, passes = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes in = (i % 2) ? icmp_vectors::kReq56 : icmp_vectors::kReqOpts;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 4) {
        case 0: in[rng() % in.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 1: in[rng() % in.size()] = static_cast<std::uint8_t>(rng()); break;
        case 2: in.resize(rng() % (in.size() + 1)); break;
        case 3: in.push_back(static_cast<std::uint8_t>(rng())); break;
      }
      if (in.empty()) break;
    }
    Bytes out;
    const auto v = f.run(in, out);
    if (v == vpnsdk::Verdict::pass) {
      ++passes;
      REQUIRE(out == in);
      continue;
    }
    REQUIRE(v == vpnsdk::Verdict::reply);
    ++replies;
    // A well-formed echo reply from 10.10.0.1 with both checksums valid.
    REQUIRE(out.size() >= 28);
    const std::size_t ihl = (out[0] & 0x0f) * 4u;
    REQUIRE((out[0] >> 4) == 4);
    REQUIRE(static_cast<std::size_t>((out[2] << 8) | out[3]) == out.size());
    REQUIRE(sum16(out, 0, ihl) == 0);
    REQUIRE(sum16(out, ihl, out.size()) == 0);
    REQUIRE(out[ihl] == 0);
    REQUIRE(out[8] == 64);
    REQUIRE(Bytes(out.begin() + 12, out.begin() + 16) == Bytes{0x0a, 0x0a, 0x00, 0x01});
  }
  CHECK(f.replies() == replies);
  CHECK(f.ignored() == passes);
  CHECK(passes > 0);
  CHECK(replies > 0);  // appended bytes and resized-up buffers keep a valid request
}
