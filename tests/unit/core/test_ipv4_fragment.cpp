// IPv4 fragmentation (RFC 791) of packets too big for the tunnel without DF.
#include <catch2/catch.hpp>

#include <map>

#include "ipv4_builder.hpp"
#include "vpnhost/ipv4_fragment.hpp"

using namespace coretest;
namespace ip = vpnsdk::ipv4;
namespace frag = vpnhost::ipv4_fragment;

namespace {

std::vector<std::vector<std::byte>> split(const std::vector<std::byte>& p, std::size_t mtu, std::size_t* count = nullptr) {
  std::vector<std::vector<std::byte>> out;
  const std::size_t n = frag::fragment(p, parsed(p), mtu, [&](std::size_t len) {
    out.emplace_back(len);
    return out.back().data();
  });
  if (count != nullptr) *count = n;
  return out;
}

// Reassembles by offset; checks no gaps or overlaps.
std::vector<std::byte> reassemble(const std::vector<std::vector<std::byte>>& pieces, bool& last_mf) {
  std::map<std::size_t, std::vector<std::byte>> by_offset;
  for (const auto& f : pieces) {
    const auto h = parsed(f);
    by_offset[std::size_t{h.frag & 0x1fffu} * 8] = std::vector<std::byte>(f.begin() + h.header_len, f.end());
    last_mf = (h.frag & 0x2000) != 0;
  }
  std::vector<std::byte> data;
  for (const auto& [off, bytes] : by_offset) {
    REQUIRE(off == data.size());
    data.insert(data.end(), bytes.begin(), bytes.end());
  }
  return data;
}

}  // namespace

TEST_CASE("fragment: pieces fit, offsets in 8-byte units, MF on all but the last, checksums valid") {
  PacketSpec s;
  s.payload = 1400 - 20;
  const auto p = make_ipv4(s);
  std::size_t n = 0;
  const auto pieces = split(p, 576, &n);
  REQUIRE(n == 3);
  REQUIRE(pieces.size() == 3);
  std::size_t expect_offset = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto& f = pieces[i];
    ip::Header h;
    REQUIRE(ip::parse(f, h) == ip::Problem::none);  // header checksum valid
    CHECK(f.size() <= 576);
    CHECK(h.total_len == f.size());
    CHECK(ip::load16(f.data() + 4) == s.id);  // same identification
    CHECK(h.src == s.src);
    CHECK(h.dst == s.dst);
    CHECK(h.protocol == s.protocol);
    CHECK(std::size_t{h.frag & 0x1fffu} * 8 == expect_offset);
    const bool last = i + 1 == pieces.size();
    CHECK(((h.frag & 0x2000) != 0) == !last);
    CHECK((h.frag & 0x4000) == 0);
    if (!last) CHECK((f.size() - 20) % 8 == 0);
    expect_offset += f.size() - 20;
  }
  CHECK(pieces[0].size() == 20 + 552);  // (576 - 20) rounded down to a multiple of 8
  bool mf = true;
  const auto data = reassemble(pieces, mf);
  CHECK_FALSE(mf);
  CHECK(data == std::vector<std::byte>(p.begin() + 20, p.end()));
}

TEST_CASE("fragment: a fragment is fragmented further, keeping its offset and its MF") {
  PacketSpec s;
  s.payload = 1200;
  s.mf = true;
  s.offset8 = 10;  // bytes 80.. of some bigger datagram
  const auto p = make_ipv4(s);
  const auto pieces = split(p, 600);
  REQUIRE(pieces.size() == 3);
  CHECK((parsed(pieces[0]).frag & 0x1fff) == 10);
  for (const auto& f : pieces) CHECK((parsed(f).frag & 0x2000) != 0);  // MF everywhere: more follow the original
  CHECK((parsed(pieces[1]).frag & 0x1fff) == 10 + (600 - 20) / 8);
}

TEST_CASE("fragment: options go into the first fragment, later ones get only those with the copy flag") {
  PacketSpec s;
  s.payload = 1000;
  // NOP, record route (kind 7, not copied, len 7), security-like kind 0x82 (copied, len 4), EOL padding
  s.options = {std::byte{1}, std::byte{7}, std::byte{7}, std::byte{4}, std::byte{0}, std::byte{0}, std::byte{0},
               std::byte{0}, std::byte{0x82}, std::byte{4}, std::byte{0xaa}, std::byte{0xbb},
               std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
  const auto p = make_ipv4(s);
  const auto pieces = split(p, 576);
  REQUIRE(pieces.size() >= 2);
  CHECK(parsed(pieces[0]).header_len == 36);
  CHECK(std::equal(pieces[0].begin() + 20, pieces[0].begin() + 36, p.begin() + 20));
  const auto h1 = parsed(pieces[1]);
  CHECK(h1.header_len == 24);
  CHECK(std::to_integer<int>(pieces[1][20]) == 0x82);
  CHECK(std::to_integer<int>(pieces[1][23]) == 0xbb);
  bool mf = true;
  const auto data = reassemble(pieces, mf);
  CHECK(data == std::vector<std::byte>(p.begin() + 36, p.end()));
}

TEST_CASE("fragment: fails cleanly when the MTU leaves no room or buffers run out") {
  PacketSpec s;
  s.payload = 1000;
  const auto p = make_ipv4(s);
  std::size_t n = 99;
  CHECK(split(p, 27, &n).empty());  // header 20 + 7: no room for 8 data bytes
  CHECK(n == 0);
  int calls = 0;
  std::vector<std::byte> one(600);
  const std::size_t m = frag::fragment(p, parsed(p), 576, [&](std::size_t) -> std::byte* {
    return ++calls == 1 ? one.data() : nullptr;
  });
  CHECK(m == 0);
  CHECK(calls == 2);
}
