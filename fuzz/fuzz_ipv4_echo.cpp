// fuzz_ipv4_echo: vpnsdk::ipv4::parse and the echo responder's in-place
// rewrite (plugins/responder_icmp_echo/echo_reply.cpp).
//
// Input: [flags][ttl][packet ...]
//   flags bit 0: recompute the IPv4 header checksum before use
//   flags bit 1: recompute the ICMP checksum before use
//   flags bit 2: answer for the packet's own destination (else 10.10.0.1)
//   (bits 0-1 let the fuzzer get past the checksums to the deeper checks)
//   ttl: the responder's reply TTL (0 is mapped to 64; the option is 1..255)
// Invariants:
//   - parse() accepts only a header that is self-consistent (IHL, total
//     length within the bytes, checksum verifies) and reads nothing beyond;
//   - a reply has valid IPv4 and ICMP checksums, swapped addresses, the
//     configured TTL, type 0 code 0, the request's identifier, sequence and
//     data, never grows the packet, and touches nothing else;
//   - a reply is never answered again (no loop through the responder);
//   - any outcome other than "replied" leaves the buffer unchanged.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "echo_reply.hpp"
#include "fuzz_check.hpp"
#include "vpnsdk/ipv4.hpp"

namespace {

namespace ip = vpnsdk::ipv4;
using responder_icmp_echo::Outcome;

constexpr std::uint32_t kServer = 0x0a0a0001;  // 10.10.0.1

void fix_checksums(std::vector<std::byte>& pkt, bool ip_sum, bool icmp_sum) {
  if (pkt.size() < ip::kMinHeader) return;
  const std::size_t ihl = (std::to_integer<std::size_t>(pkt[0]) & 0x0f) * 4;
  if (ihl < ip::kMinHeader || ihl > pkt.size()) return;
  if (icmp_sum) {
    const std::size_t total = std::min<std::size_t>(ip::load16(pkt.data() + 2), pkt.size());
    if (total >= ihl + 4) {
      std::span<std::byte> icmp(pkt.data() + ihl, total - ihl);
      ip::store16(icmp.data() + 2, 0);
      ip::store16(icmp.data() + 2, ip::checksum(icmp));
    }
  }
  if (ip_sum) {
    ip::store16(pkt.data() + 10, 0);
    ip::store16(pkt.data() + 10, ip::checksum(std::span<const std::byte>(pkt.data(), ihl)));
  }
}

void check_parse(std::span<const std::byte> pkt, ip::Problem p, const ip::Header& h) {
  FUZZ_CHECK(std::string(ip::problem_name(p)) != "ipv4_unknown");
  if (p != ip::Problem::none) return;
  FUZZ_CHECK(pkt.size() >= ip::kMinHeader);
  FUZZ_CHECK((std::to_integer<unsigned>(pkt[0]) >> 4) == 4);
  FUZZ_CHECK(h.header_len >= 20 && h.header_len <= 60 && h.header_len % 4 == 0);
  FUZZ_CHECK(h.header_len <= h.total_len && h.total_len <= pkt.size());
  FUZZ_CHECK(ip::checksum(pkt.first(h.header_len)) == 0);
  FUZZ_CHECK(h.total_len == ip::load16(pkt.data() + 2));
  FUZZ_CHECK(h.src == ip::src_of(pkt) && h.dst == ip::dst_of(pkt));
  FUZZ_CHECK(h.protocol == std::to_integer<std::uint8_t>(pkt[9]));
  FUZZ_CHECK(h.ttl == std::to_integer<std::uint8_t>(pkt[8]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::uint8_t ttl = data[1] == 0 ? 64 : data[1];
  // An exact-size heap buffer: ASan reports any access past its end.
  std::vector<std::byte> pkt(reinterpret_cast<const std::byte*>(data + 2),
                             reinterpret_cast<const std::byte*>(data + size));
  fix_checksums(pkt, (flags & 1) != 0, (flags & 2) != 0);
  const std::uint32_t self = (flags & 4) != 0 && pkt.size() >= ip::kMinHeader ? ip::dst_of(pkt) : kServer;

  ip::Header h;
  const ip::Problem problem = ip::parse(pkt, h);
  check_parse(pkt, problem, h);

  const std::vector<std::byte> before = pkt;
  std::size_t reply_len = 0xdeadbeef;
  const Outcome o = responder_icmp_echo::make_echo_reply(pkt, self, ttl, reply_len);
  FUZZ_CHECK(std::string(responder_icmp_echo::outcome_name(o)) != "unknown");

  if (o != Outcome::replied) {
    FUZZ_CHECK(pkt == before);  // pass: not a byte changed
    FUZZ_CHECK((o == Outcome::bad_ipv4) == (problem != ip::Problem::none));
    return 0;
  }

  // A reply: only for a valid, unfragmented echo request to us.
  FUZZ_CHECK(problem == ip::Problem::none);
  FUZZ_CHECK(h.protocol == ip::kProtoIcmp && h.dst == self);
  FUZZ_CHECK((h.frag & 0x3fff) == 0);
  FUZZ_CHECK(reply_len == h.total_len && reply_len <= before.size());  // never grows
  const std::span<const std::byte> reply(pkt.data(), reply_len);

  ip::Header r;
  FUZZ_CHECK(ip::parse(reply, r) == ip::Problem::none);  // valid IPv4, header checksum included
  FUZZ_CHECK(r.header_len == h.header_len && r.total_len == h.total_len);
  FUZZ_CHECK(r.src == h.dst && r.dst == h.src);
  FUZZ_CHECK(r.ttl == ttl && r.protocol == ip::kProtoIcmp && r.frag == h.frag);

  const std::span<const std::byte> icmp = reply.subspan(r.header_len);
  FUZZ_CHECK(icmp.size() >= 8);
  FUZZ_CHECK(ip::checksum(icmp) == 0);  // valid ICMP checksum
  FUZZ_CHECK(icmp[0] == std::byte{0} && icmp[1] == std::byte{0});
  FUZZ_CHECK(std::equal(icmp.begin() + 4, icmp.end(), before.begin() + r.header_len + 4));  // id, seq, data

  // Nothing else in the header changed (TTL, checksum and addresses did),
  // nor any byte after total length.
  for (std::size_t i = 0; i < r.header_len; ++i) {
    if (i == 8 || i == 10 || i == 11 || (i >= 12 && i < 20)) continue;
    FUZZ_CHECK(pkt[i] == before[i]);
  }
  FUZZ_CHECK(std::equal(pkt.begin() + reply_len, pkt.end(), before.begin() + reply_len));

  // The reply is not an echo request: handing it back never answers again.
  std::vector<std::byte> again(reply.begin(), reply.end());
  const std::vector<std::byte> reply_copy = again;
  std::size_t again_len = 0;
  FUZZ_CHECK(responder_icmp_echo::make_echo_reply(again, self, ttl, again_len) != Outcome::replied);
  FUZZ_CHECK(again == reply_copy);
  return 0;
}
