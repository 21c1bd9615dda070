// Turns an IPv4 ICMP echo request addressed to this host into the echo reply,
// in place. Pure packet logic, no plugin state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace responder_icmp_echo {

enum class Outcome {
  replied,         // the bytes now hold the reply; new length in `reply_len`
  bad_ipv4,        // not a valid IPv4 packet (vpnsdk::ipv4::parse)
  not_icmp,
  fragment,        // MF set or fragment offset != 0
  not_for_us,      // destination is not this host's address
  bad_source,      // source we must not answer (0/8, 127/8, multicast, class E, broadcast)
  icmp_truncated,  // ICMP part shorter than its 8-byte header
  icmp_checksum,   // ICMP checksum does not verify
  not_echo,        // any ICMP other than type 8 code 0
};

const char* outcome_name(Outcome o) noexcept;

// `self` is the address whose pings we answer (host byte order). Nothing
// is written unless the result is Outcome::replied.
Outcome make_echo_reply(std::span<std::byte> pkt, std::uint32_t self, std::uint8_t ttl,
                        std::size_t& reply_len) noexcept;

}  // namespace responder_icmp_echo
