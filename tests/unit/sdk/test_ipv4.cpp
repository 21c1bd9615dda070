// vpnsdk::ipv4: checksum, header validation, address and prefix text.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "vpnsdk/ipv4.hpp"

namespace ipv4 = vpnsdk::ipv4;
using ipv4::Problem;

namespace {

std::vector<std::byte> hex(const std::string& h) {
  std::vector<std::byte> out;
  std::string digits;
  for (char c : h)
    if (c != ' ') digits.push_back(c);
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(std::byte(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16))));
  return out;
}

// A valid IPv4 packet: IHL `words` (options zero-filled), `payload` bytes
// of payload, total length field = header + payload, correct checksum.
std::vector<std::byte> packet(unsigned words = 5, std::size_t payload = 8, std::uint8_t proto = ipv4::kProtoUdp) {
  const std::size_t hl = words * 4u;
  std::vector<std::byte> p(hl + payload, std::byte{0});
  p[0] = std::byte(static_cast<std::uint8_t>(0x40 | (words & 0x0f)));
  ipv4::store16(p.data() + 2, static_cast<std::uint16_t>(hl + payload));
  ipv4::store16(p.data() + 4, 0x1234);  // id
  ipv4::store16(p.data() + 6, 0x4000);  // DF
  p[8] = std::byte{64};
  p[9] = std::byte{proto};
  ipv4::store32(p.data() + 12, 0x0a0a0002);
  ipv4::store32(p.data() + 16, 0x0a0a0001);
  if (hl >= 20 && hl <= p.size()) ipv4::store16(p.data() + 10, ipv4::checksum({p.data(), hl}));
  for (std::size_t i = hl; i < p.size(); ++i) p[i] = std::byte(static_cast<std::uint8_t>(i));
  return p;
}

// Recomputes the header checksum after an edit.
void fix_checksum(std::vector<std::byte>& p) {
  const std::size_t hl = (std::to_integer<unsigned>(p[0]) & 0x0f) * 4u;
  ipv4::store16(p.data() + 10, 0);
  ipv4::store16(p.data() + 10, ipv4::checksum({p.data(), hl}));
}

Problem parse(const std::vector<std::byte>& p) {
  ipv4::Header h;
  return ipv4::parse(p, h);
}

}  // namespace

TEST_CASE("ipv4: byte order helpers", "[ipv4]") {
  std::byte b[4];
  ipv4::store16(b, 0xabcd);
  CHECK(b[0] == std::byte{0xab});
  CHECK(b[1] == std::byte{0xcd});
  CHECK(ipv4::load16(b) == 0xabcd);
  ipv4::store32(b, 0x0a0b0c0d);
  CHECK(b[0] == std::byte{0x0a});
  CHECK(b[3] == std::byte{0x0d});
  CHECK(ipv4::load32(b) == 0x0a0b0c0du);
}

TEST_CASE("ipv4: checksum matches the RFC 1071 example", "[ipv4][checksum]") {
  // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded),
  // so the checksum (one's complement) is 220d.
  const auto data = hex("0001 f203 f4f5 f6f7");
  CHECK(ipv4::checksum(data) == 0x220d);
  // Summing the data together with its checksum gives 0 (all ones, complemented).
  auto with = data;
  with.push_back(std::byte{0x22});
  with.push_back(std::byte{0x0d});
  CHECK(ipv4::checksum(with) == 0);
}

TEST_CASE("ipv4: checksum of a real IPv4 header", "[ipv4][checksum]") {
  // The textbook header 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
  auto h = hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7");
  CHECK(ipv4::checksum(h) == 0xb861);
  ipv4::store16(h.data() + 10, 0xb861);
  CHECK(ipv4::checksum(h) == 0);
}

TEST_CASE("ipv4: checksum edge cases: empty, odd length, chaining", "[ipv4][checksum]") {
  CHECK(ipv4::checksum({}) == 0xffff);
  CHECK(ipv4::checksum(hex("01")) == 0xfeff);  // an odd byte is the high half of a word
  CHECK(ipv4::checksum(hex("0001 f2")) == static_cast<std::uint16_t>(~(0x0001 + 0xf200) & 0xffff));
  CHECK(ipv4::checksum(hex("ffff ffff")) == 0x0000);
  // Chained: the folded sum of the first part is the initial value of the second.
  const auto all = hex("0001 f203 f4f5 f6f7");
  const std::span<const std::byte> first(all.data(), 4), second(all.data() + 4, 4);
  const std::uint32_t partial = static_cast<std::uint16_t>(~ipv4::checksum(first));
  CHECK(ipv4::checksum(second, partial) == ipv4::checksum(all));
}

TEST_CASE("ipv4: parse accepts a valid packet and reads its fields", "[ipv4][parse]") {
  const auto p = packet(5, 8, ipv4::kProtoIcmp);
  ipv4::Header h;
  REQUIRE(ipv4::parse(p, h) == Problem::none);
  CHECK(h.header_len == 20);
  CHECK(h.total_len == 28);
  CHECK(h.ttl == 64);
  CHECK(h.protocol == ipv4::kProtoIcmp);
  CHECK(h.frag == 0x4000);
  CHECK(h.src == 0x0a0a0002u);
  CHECK(h.dst == 0x0a0a0001u);
  CHECK(ipv4::src_of(p) == 0x0a0a0002u);
  CHECK(ipv4::dst_of(p) == 0x0a0a0001u);
}

TEST_CASE("ipv4: parse accepts a header with options", "[ipv4][parse]") {
  auto p = packet(6, 4);  // 24-byte header
  ipv4::Header h;
  REQUIRE(ipv4::parse(p, h) == Problem::none);
  CHECK(h.header_len == 24);
  CHECK(h.total_len == 28);
  auto max = packet(15, 0);  // 60-byte header, no payload
  REQUIRE(ipv4::parse(max, h) == Problem::none);
  CHECK(h.header_len == 60);
  CHECK(h.total_len == 60);
}

TEST_CASE("ipv4: parse allows bytes beyond the total length", "[ipv4][parse]") {
  auto p = packet(5, 8);
  p.resize(p.size() + 10, std::byte{0xee});
  ipv4::Header h;
  REQUIRE(ipv4::parse(p, h) == Problem::none);
  CHECK(h.total_len == 28);
}

TEST_CASE("ipv4: parse problems", "[ipv4][parse]") {
  SECTION("too short") {
    auto p = packet(5, 0);
    p.resize(19);
    CHECK(parse(p) == Problem::too_short);
    CHECK(parse({}) == Problem::too_short);
  }
  SECTION("version 6") {
    auto p = packet();
    p[0] = std::byte{0x65};
    fix_checksum(p);
    CHECK(parse(p) == Problem::not_ipv4);
    p[0] = std::byte{0x05};
    CHECK(parse(p) == Problem::not_ipv4);
  }
  SECTION("IHL below 5") {
    auto p = packet();
    p[0] = std::byte{0x44};
    CHECK(parse(p) == Problem::bad_ihl);
    p[0] = std::byte{0x40};
    CHECK(parse(p) == Problem::bad_ihl);
  }
  SECTION("IHL beyond the buffer") {
    auto p = packet(5, 4);  // 24 bytes in the buffer
    p[0] = std::byte{0x47};  // claims a 28-byte header
    CHECK(parse(p) == Problem::bad_ihl);
  }
  SECTION("total length beyond the buffer") {
    auto p = packet(5, 8);
    ipv4::store16(p.data() + 2, 29);
    fix_checksum(p);
    CHECK(parse(p) == Problem::bad_total_length);
  }
  SECTION("total length below the header length") {
    auto p = packet(6, 8);
    ipv4::store16(p.data() + 2, 23);
    fix_checksum(p);
    CHECK(parse(p) == Problem::bad_total_length);
    ipv4::store16(p.data() + 2, 0);
    fix_checksum(p);
    CHECK(parse(p) == Problem::bad_total_length);
  }
  SECTION("bad checksum") {
    auto p = packet();
    p[8] = std::byte{63};  // TTL changed, checksum not updated
    CHECK(parse(p) == Problem::bad_checksum);
    auto q = packet(6, 0);
    q[21] = std::byte{1};  // an option byte changed
    CHECK(parse(q) == Problem::bad_checksum);
  }
  SECTION("payload bytes are not covered by the header checksum") {
    auto p = packet();
    p[25] = std::byte{0xff};
    CHECK(parse(p) == Problem::none);
  }
}

TEST_CASE("ipv4: problem names are counter names", "[ipv4]") {
  CHECK(std::string(ipv4::problem_name(Problem::none)) == "none");
  CHECK(std::string(ipv4::problem_name(Problem::too_short)) == "ipv4_too_short");
  CHECK(std::string(ipv4::problem_name(Problem::not_ipv4)) == "ipv4_bad_version");
  CHECK(std::string(ipv4::problem_name(Problem::bad_ihl)) == "ipv4_bad_ihl");
  CHECK(std::string(ipv4::problem_name(Problem::bad_total_length)) == "ipv4_bad_total_length");
  CHECK(std::string(ipv4::problem_name(Problem::bad_checksum)) == "ipv4_bad_checksum");
}

TEST_CASE("ipv4: to_string", "[ipv4][address]") {
  CHECK(ipv4::to_string(0) == "0.0.0.0");
  CHECK(ipv4::to_string(0x0a0a0001) == "10.10.0.1");
  CHECK(ipv4::to_string(0xffffffff) == "255.255.255.255");
  CHECK(ipv4::to_string(0xc0a80164) == "192.168.1.100");
}

TEST_CASE("ipv4: parse_address accepts dotted quads", "[ipv4][address]") {
  CHECK(ipv4::parse_address("10.10.0.1") == 0x0a0a0001u);
  CHECK(ipv4::parse_address("0.0.0.0") == 0u);
  CHECK(ipv4::parse_address("255.255.255.255") == 0xffffffffu);
  CHECK(ipv4::parse_address("192.168.1.100") == 0xc0a80164u);
  for (std::uint32_t a : {0u, 1u, 0x0a0a00feu, 0x7f000001u, 0xfffffffeu})
    CHECK(ipv4::parse_address(ipv4::to_string(a)) == a);
}

TEST_CASE("ipv4: parse_address refuses everything else", "[ipv4][address]") {
  for (const std::string bad : {"", "256.0.0.1", "1.2.3.256", "1.2.3.999", " 1.2.3.4", "x1.2.3.4", "1.2.3.4 ",
                                "1.2.3.4x", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "-1.2.3.4",
                                "+1.2.3.4", "1.2.3.-4", "0001.2.3.4", "1.2.3.0004", "1,2,3,4", "::1",
                                "10.10.0.1/24", "4294967295"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(ipv4::parse_address(bad));
  }
  // A string_view that is a prefix of a longer buffer: only the view counts.
  const std::string longer = "10.0.0.12345";
  CHECK(ipv4::parse_address(std::string_view(longer).substr(0, 8)) == 0x0a000001u);
}

// Regression (sdk/include/vpnsdk/ipv4.hpp parse_address): leading zeros are accepted
// and read as decimal ("010.0.0.1" -> 10.0.0.1), while inet_aton(), ping and
// many tools read them as octal (8.0.0.1). The same text then means two
// different addresses in the manifest and in the tools an operator checks
// with (the reason Go 1.17 and Python 3.9.5 started to refuse them).
// Suggested fix: refuse a part that has more than one digit and starts with '0'.
TEST_CASE("ipv4: parse_address refuses ambiguous leading zeros", "[ipv4][address]") {
  CHECK_FALSE(ipv4::parse_address("010.0.0.1"));
  CHECK_FALSE(ipv4::parse_address("10.0.0.01"));
  CHECK_FALSE(ipv4::parse_address("00.0.0.0"));
}

TEST_CASE("ipv4: parse_prefix", "[ipv4][prefix]") {
  auto p = ipv4::parse_prefix("10.10.0.0/24");
  REQUIRE(p);
  CHECK(p->network == 0x0a0a0000u);
  CHECK(p->length == 24);
  CHECK(p->mask() == 0xffffff00u);
  CHECK(p->contains(0x0a0a0001u));
  CHECK(p->contains(0x0a0a00ffu));
  CHECK_FALSE(p->contains(0x0a0a0100u));
  CHECK_FALSE(p->contains(0x0a090fffu));

  auto all = ipv4::parse_prefix("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->length == 0);
  CHECK(all->mask() == 0u);
  CHECK(all->contains(0u));
  CHECK(all->contains(0xffffffffu));

  auto host = ipv4::parse_prefix("10.10.0.1/32");
  REQUIRE(host);
  CHECK(host->mask() == 0xffffffffu);
  CHECK(host->contains(0x0a0a0001u));
  CHECK_FALSE(host->contains(0x0a0a0002u));

  auto sixteen = ipv4::parse_prefix("172.16.0.0/12");
  REQUIRE(sixteen);
  CHECK(sixteen->mask() == 0xfff00000u);
  CHECK(sixteen->contains(0xac1fffffu));
  CHECK_FALSE(sixteen->contains(0xac200000u));
}

TEST_CASE("ipv4: parse_prefix refuses host bits, bad lengths and junk", "[ipv4][prefix]") {
  for (const std::string bad : {"10.10.0.1/24", "10.0.0.0/0", "1.2.3.5/31", "10.0.0.0/33", "10.0.0.0/-1",
                                "10.0.0.0/", "10.0.0.0", "/24", "10.0.0.0/24x", "10.0.0.0/ 24", "10.0.0.0 /24",
                                "10.0.0/24", "256.0.0.0/8", "10.0.0.0/24/8", "10.0.0.0/4294967320", ""}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(ipv4::parse_prefix(bad));
  }
}
