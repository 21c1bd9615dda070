// Tunnel MTU derivation and the ICMP "fragmentation needed" message (docs/mtu.md).
#include <catch2/catch.hpp>

#include "ipv4_builder.hpp"
#include "vpnhost/mtu.hpp"

using namespace coretest;
namespace ip = vpnsdk::ipv4;
namespace mtu = vpnhost::mtu;

TEST_CASE("mtu: derivation is frame_mtu minus the cipher's overhead (docs/mtu.md table)") {
  // frame_mtu as the stock transports report it for a 1500 and a 1280 underlay:
  // tcp: MTU - 20 (IP) - 32 (TCP + timestamps) - 4 (frame header)
  // udp: MTU - 20 (IP) - 8 (UDP) - 8 (frame header + session index)
  CHECK(mtu::tunnel_mtu(1500 - 20 - 32 - 4, 4, 0) == 1444);   // tcp, cipher_xor
  CHECK(mtu::tunnel_mtu(1500 - 20 - 32 - 4, 4, 25) == 1419);  // tcp, cipher_noise
  CHECK(mtu::tunnel_mtu(1280 - 20 - 32 - 4, 4, 0) == 1224);
  CHECK(mtu::tunnel_mtu(1280 - 20 - 32 - 4, 4, 25) == 1199);
  CHECK(mtu::tunnel_mtu(1500 - 20 - 8 - 8, 8, 0) == 1464);    // udp, cipher_xor
  CHECK(mtu::tunnel_mtu(1500 - 20 - 8 - 8, 8, 25) == 1439);   // udp, cipher_noise
  CHECK(mtu::tunnel_mtu(1280 - 20 - 8 - 8, 8, 0) == 1244);
  CHECK(mtu::tunnel_mtu(1280 - 20 - 8 - 8, 8, 25) == 1219);
}

TEST_CASE("mtu: unknown frame_mtu assumes a 1500-byte underlay with 52 bytes of outer headers") {
  CHECK(mtu::tunnel_mtu(0, 4, 0) == 1500 - 52 - 4);
  CHECK(mtu::tunnel_mtu(0, 8, 25) == 1500 - 52 - 8 - 25);
}

TEST_CASE("mtu: the result is clamped to 576..9000") {
  CHECK(mtu::tunnel_mtu(400, 4, 25) == 576);
  CHECK(mtu::tunnel_mtu(20, 4, 25) == 576);  // no wrap-around below zero
  CHECK(mtu::tunnel_mtu(65000, 4, 0) == 9000);
}

TEST_CASE("mtu: frag needed message: checksums, type/code, next-hop MTU, quoted header + 8 bytes") {
  PacketSpec s;
  s.protocol = ip::kProtoTcp;
  s.payload = 1400;
  s.df = true;
  s.options = {std::byte{0x94}, std::byte{4}, std::byte{0}, std::byte{0}};  // router alert: IHL 6
  const auto orig = make_ipv4(s);
  const auto h = parsed(orig);
  REQUIRE(mtu::frag_needed_size(h) == 20 + 8 + 24 + 8);
  std::vector<std::byte> out(mtu::frag_needed_size(h));
  const std::uint32_t hub = 0x0a0a0001;
  REQUIRE(mtu::build_frag_needed(orig, h, hub, 1224, 7, out) == out.size());

  ip::Header r;
  REQUIRE(ip::parse(out, r) == ip::Problem::none);  // includes the IP header checksum
  CHECK(r.protocol == ip::kProtoIcmp);
  CHECK(r.src == hub);
  CHECK(r.dst == s.src);  // back to the sender
  CHECK(r.total_len == out.size());
  CHECK(r.ttl == 64);
  const std::span<const std::byte> icmp(out.data() + 20, out.size() - 20);
  CHECK(std::to_integer<int>(icmp[0]) == 3);
  CHECK(std::to_integer<int>(icmp[1]) == 4);
  CHECK(ip::checksum(icmp) == 0);
  CHECK(ip::load16(icmp.data() + 4) == 0);     // unused
  CHECK(ip::load16(icmp.data() + 6) == 1224);  // next-hop MTU (RFC 1191)
  CHECK(std::equal(icmp.begin() + 8, icmp.end(), orig.begin()));  // header with options + 8 bytes
}

TEST_CASE("mtu: frag needed quotes fewer than 8 data bytes when the original has fewer") {
  PacketSpec s;
  s.payload = 3;
  const auto orig = make_ipv4(s);
  const auto h = parsed(orig);
  CHECK(mtu::frag_needed_size(h) == 20 + 8 + 20 + 3);
  std::vector<std::byte> small(mtu::frag_needed_size(h) - 1);
  CHECK(mtu::build_frag_needed(orig, h, 1, 576, 0, small) == 0);  // does not overflow
}

TEST_CASE("mtu: no ICMP error about ICMP errors, later fragments, or odd sources") {
  auto check = [](PacketSpec s) {
    const auto p = make_ipv4(s);
    return mtu::may_answer_with_icmp_error(p, parsed(p));
  };
  PacketSpec udp;
  CHECK(check(udp));
  PacketSpec first = udp;
  first.mf = true;
  CHECK(check(first));  // the first fragment may be answered
  PacketSpec later = udp;
  later.offset8 = 100;
  CHECK_FALSE(check(later));
  for (unsigned type : {3u, 4u, 5u, 11u, 12u, 200u}) {
    PacketSpec e;
    e.protocol = ip::kProtoIcmp;
    e.data.assign(36, std::byte{0});
    e.data[0] = std::byte(type);
    INFO("ICMP type " << type);
    CHECK_FALSE(check(e));
  }
  for (unsigned type : {0u, 8u}) {  // echo reply/request: answered
    PacketSpec e;
    e.protocol = ip::kProtoIcmp;
    e.data.assign(36, std::byte{0});
    e.data[0] = std::byte(type);
    CHECK(check(e));
  }
  PacketSpec zero = udp;
  zero.src = 0;
  CHECK_FALSE(check(zero));
  PacketSpec mcast = udp;
  mcast.dst = 0xe0000001;
  CHECK_FALSE(check(mcast));
  PacketSpec bcast = udp;
  bcast.src = 0xffffffff;
  CHECK_FALSE(check(bcast));
}

TEST_CASE("mtu: ICMP errors are rate limited by a token bucket") {
  mtu::IcmpRateLimit limit(10);
  const auto t0 = mtu::IcmpRateLimit::Clock::now();
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += limit.allow(t0) ? 1 : 0;
  CHECK(allowed == 10);  // the burst
  CHECK_FALSE(limit.allow(t0 + std::chrono::milliseconds(50)));  // half a token
  CHECK(limit.allow(t0 + std::chrono::milliseconds(110)));
  int later = 0;
  for (int i = 0; i < 50; ++i) later += limit.allow(t0 + std::chrono::seconds(10)) ? 1 : 0;
  CHECK(later == 10);  // refills to the burst, not beyond
}
