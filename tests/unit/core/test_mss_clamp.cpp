// TCP MSS clamping: only SYNs, checksum still valid, malformed options left alone.
#include <catch2/catch.hpp>

#include "ipv4_builder.hpp"
#include "vpnhost/mss_clamp.hpp"

using namespace coretest;
namespace ip = vpnsdk::ipv4;
namespace clamp = vpnhost::mss_clamp;

namespace {

std::uint16_t mss_at(const std::vector<std::byte>& p, std::size_t option_offset) {
  return ip::load16(p.data() + 20 + 20 + option_offset + 2);
}

}  // namespace

TEST_CASE("mss clamp: SYN with MSS 1460 becomes 1184, checksum still valid") {
  auto p = tcp_segment(kSyn, mss_option(1460));
  CHECK(clamp::clamp(p, parsed(p), 1184));
  CHECK(mss_at(p, 0) == 1184);
  CHECK(tcp_checksum(p) == 0);
}

TEST_CASE("mss clamp: SYN-ACK too, and an MSS already small enough is left alone") {
  auto p = tcp_segment(kSyn | kAck, mss_option(1400));
  CHECK(clamp::clamp(p, parsed(p), 1360));
  CHECK(mss_at(p, 0) == 1360);
  CHECK(tcp_checksum(p) == 0);
  auto q = tcp_segment(kSyn, mss_option(1200));
  const auto before = q;
  CHECK_FALSE(clamp::clamp(q, parsed(q), 1360));
  CHECK(q == before);
}

TEST_CASE("mss clamp: only SYNs: an ACK carrying the same bytes is untouched") {
  auto p = tcp_segment(kAck, mss_option(1460), 10);
  const auto before = p;
  CHECK_FALSE(clamp::clamp(p, parsed(p), 1000));
  CHECK(p == before);
}

TEST_CASE("mss clamp: MSS after other options, at an odd offset, with and without payload") {
  // NOP, then MSS at option offset 1 (odd), then padding.
  std::vector<std::byte> opts{std::byte{1}};
  auto m = mss_option(8960);
  opts.insert(opts.end(), m.begin(), m.end());
  opts.insert(opts.end(), {std::byte{1}, std::byte{1}, std::byte{0}});
  for (std::size_t payload : {0u, 1u, 7u}) {
    auto p = tcp_segment(kSyn, opts, payload);
    INFO("payload " << payload);
    CHECK(clamp::clamp(p, parsed(p), 1400));
    CHECK(ip::load16(p.data() + 40 + 3) == 1400);
    CHECK(tcp_checksum(p) == 0);
  }
  // Timestamps (kind 8, len 10) and window scale first, like Linux sends them.
  std::vector<std::byte> linux_opts{std::byte{1}, std::byte{1}, std::byte{8}, std::byte{10}};
  for (int i = 0; i < 8; ++i) linux_opts.push_back(std::byte(i + 1));
  linux_opts.insert(linux_opts.end(), {std::byte{1}, std::byte{3}, std::byte{3}, std::byte{7}});
  auto m2 = mss_option(1460);
  linux_opts.insert(linux_opts.end(), m2.begin(), m2.end());
  auto p = tcp_segment(kSyn, linux_opts);
  CHECK(clamp::clamp(p, parsed(p), 1184));
  CHECK(mss_at(p, 16) == 1184);
  CHECK(tcp_checksum(p) == 0);
}

TEST_CASE("mss clamp: malformed option lists are left alone and never read out of bounds") {
  const std::vector<std::vector<std::byte>> bad{
      {std::byte{8}, std::byte{0}, std::byte{2}, std::byte{4}},   // length 0
      {std::byte{8}, std::byte{1}, std::byte{2}, std::byte{4}},   // length 1
      {std::byte{8}, std::byte{40}, std::byte{2}, std::byte{4}},  // beyond the header
      {std::byte{2}, std::byte{3}, std::byte{5}, std::byte{0}},   // MSS with length 3
      {std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}},   // end of list before any MSS
      {std::byte{1}, std::byte{1}, std::byte{1}, std::byte{2}},   // kind at the last byte, no length
  };
  for (const auto& opts : bad) {
    auto p = tcp_segment(kSyn, opts);
    const auto before = p;
    CHECK_FALSE(clamp::clamp(p, parsed(p), 500));
    CHECK(p == before);
  }
  // Data offset larger than the segment.
  auto p = tcp_segment(kSyn, mss_option(1460));
  p[20 + 12] = std::byte{0xf0};
  CHECK_FALSE(clamp::clamp(p, parsed(p), 500));
  // Too short for a TCP header.
  PacketSpec s;
  s.protocol = ip::kProtoTcp;
  s.payload = 10;
  auto shortp = make_ipv4(s);
  CHECK_FALSE(clamp::clamp(shortp, parsed(shortp), 500));
  // A fragment (MF set) is not parsed.
  PacketSpec f;
  f.protocol = ip::kProtoTcp;
  f.mf = true;
  const auto whole = tcp_segment(kSyn, mss_option(1460));
  f.data = std::vector<std::byte>(whole.begin() + 20, whole.end());
  auto frag = make_ipv4(f);
  CHECK_FALSE(clamp::clamp(frag, parsed(frag), 500));
}

TEST_CASE("mss clamp: RFC 1624 incremental update equals a full recomputation") {
  // RFC 1624 section 4's example: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives HC' 0x0000.
  CHECK(clamp::checksum_update(0xdd2f, 0x5555, 0x3285) == 0x0000);
}
