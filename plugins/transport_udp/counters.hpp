// The plugin's counters, registered once with the host.
#pragma once
#include <cstdint>

#include "vpnsdk/counters.hpp"

namespace transport_udp {

struct UdpCounters {
  explicit UdpCounters(vpnsdk::Counters& c)
      : sessions_opened(c.counter("sessions_opened")),
        sessions_closed(c.counter("sessions_closed")),
        sessions_refused(c.counter("sessions_refused")),
        frames_in(c.counter("frames_in")),
        frames_out(c.counter("frames_out")),
        bytes_in(c.counter("bytes_in")),
        bytes_out(c.counter("bytes_out")),
        recv_calls(c.counter("recv_calls")),
        send_calls(c.counter("send_calls")),
        bad_datagrams(c.counter("bad_datagrams")),
        oversize(c.counter("oversize")),
        unknown_peer(c.counter("unknown_peer")),
        late_byes(c.counter("late_byes")),
        empty_datagrams(c.counter("empty_datagrams")),
        keepalives_sent(c.counter("keepalives_sent")),
        retransmits(c.counter("retransmits")),
        replies_resent(c.counter("replies_resent")),
        duplicates(c.counter("duplicates")),
        early_frames(c.counter("early_frames")),
        queue_drops(c.counter("queue_drops")),
        send_rejects(c.counter("send_rejects")),
        send_errors(c.counter("send_errors")),
        recv_errors(c.counter("recv_errors")),
        port_unreachable(c.counter("port_unreachable")),
        close_drops(c.counter("close_drops")),
        pool_exhausted(c.counter("pool_exhausted")),
        gso_sends(c.counter("gso_sends")),
        gso_datagrams(c.counter("gso_datagrams")),
        gso_fallbacks(c.counter("gso_fallbacks")),
        gro_trains(c.counter("gro_trains")),
        gro_datagrams(c.counter("gro_datagrams")),
        path_candidates(c.counter("path_candidates")),
        paths_adopted(c.counter("paths_adopted")),
        paths_stale(c.counter("paths_stale")),
        source_rebinds(c.counter("source_rebinds")),
        cookies_sent(c.counter("cookies_sent")),
        cookies_valid(c.counter("cookies_valid")),
        cookies_invalid(c.counter("cookies_invalid")),
        cookie_requests_small(c.counter("cookie_requests_small")),
        cookie_replies_dropped(c.counter("cookie_replies_dropped")),
        source_rate_limited(c.counter("source_rate_limited")),
        cookies_received(c.counter("cookies_received")),
        cookie_resends(c.counter("cookie_resends")),
        pktinfo_fallbacks(c.counter("pktinfo_fallbacks")) {}

  std::uint64_t& sessions_opened;
  std::uint64_t& sessions_closed;
  std::uint64_t& sessions_refused;  // server: max_sessions or new_sessions_per_second reached
  std::uint64_t& frames_in;         // frames delivered to the host
  std::uint64_t& frames_out;        // datagrams the socket took (retransmissions and copies included)
  std::uint64_t& bytes_in;          // datagram bytes (frame header included) of frames_in
  std::uint64_t& bytes_out;         // datagram bytes of frames_out
  std::uint64_t& recv_calls;        // recvmmsg calls that returned datagrams
  std::uint64_t& send_calls;        // sendmmsg calls
  std::uint64_t& bad_datagrams;     // not exactly one valid frame: dropped
  std::uint64_t& oversize;          // larger than a packet buffer: dropped
  std::uint64_t& unknown_peer;      // server: from an unknown source, of a type that opens no session
  std::uint64_t& late_byes;         // a BYE that finds no session (the second copy of one that ended it): dropped
  std::uint64_t& empty_datagrams;   // zero-length datagrams (the peer's NAT keepalives): ignored
  std::uint64_t& keepalives_sent;   // zero-length datagrams we sent (option keepalive)
  std::uint64_t& retransmits;       // HELLO/HANDSHAKE sent again, unanswered
  std::uint64_t& replies_resent;    // server: WELCOME/REJECT/HANDSHAKE sent again for a duplicate
  std::uint64_t& duplicates;        // duplicate control frames not passed to the host
  std::uint64_t& early_frames;      // client: DATA before WELCOME (lost or reordered WELCOME): dropped
  std::uint64_t& queue_drops;       // send(): the socket queue was full
  std::uint64_t& send_rejects;      // send(): no headroom, too large for a datagram, or unknown type
  std::uint64_t& send_errors;       // the kernel refused a datagram (other than "try again")
  std::uint64_t& recv_errors;
  std::uint64_t& port_unreachable;  // client: ICMP port unreachable from the server: session ended
  std::uint64_t& close_drops;       // client: datagrams still queued when close() timed out
  std::uint64_t& pool_exhausted;    // receive: no packet buffer, datagram dropped
  std::uint64_t& gso_sends;         // sendmmsg messages carrying several datagrams (UDP_SEGMENT)
  std::uint64_t& gso_datagrams;     // datagrams sent inside those messages
  std::uint64_t& gso_fallbacks;     // GSO messages the kernel refused: sent again one datagram each
  std::uint64_t& gro_trains;        // received buffers holding several datagrams (UDP_GRO)
  std::uint64_t& gro_datagrams;     // datagrams split out of those trains
  std::uint64_t& path_candidates;   // server: a session's datagram (by index) from a new source, marked for the host
  std::uint64_t& paths_adopted;     // server: adopt_path() moved a session to its new source (roaming)
  std::uint64_t& paths_stale;       // server: adopt_path() with a token that is no longer the candidate's
  std::uint64_t& source_rebinds;    // client: new socket after the old one's source address went away
  // Address proof (cookie.hpp, protocol.md 11.7)
  std::uint64_t& cookies_sent;           // server: COOKIE datagrams sent to unproven sources
  std::uint64_t& cookies_valid;          // server: datagrams whose cookie proved their source (a session may open)
  std::uint64_t& cookies_invalid;        // server: a nonzero cookie not the source's (forged, expired): a new COOKIE
  std::uint64_t& cookie_requests_small;  // server: unproven datagram smaller than a COOKIE datagram: dropped unanswered
  std::uint64_t& cookie_replies_dropped; // server: COOKIE not sent, the send queue is busy with other traffic
  std::uint64_t& source_rate_limited;    // server: proven source over new_sessions_per_source: dropped
  std::uint64_t& cookies_received;       // client: COOKIE datagrams from the server
  std::uint64_t& cookie_resends;         // client: datagrams sent again at once with a new cookie
  std::uint64_t& pktinfo_fallbacks;      // server: a reply's source address was refused, sent without it
};

}  // namespace transport_udp
