// The plugin's counters, registered once with the host.
#pragma once
#include <cstdint>

#include "vpnsdk/counters.hpp"

namespace transport_tcp {

struct TcpCounters {
  explicit TcpCounters(vpnsdk::Counters& c)
      : sessions_opened(c.counter("sessions_opened")),
        sessions_closed(c.counter("sessions_closed")),
        frames_in(c.counter("frames_in")),
        frames_out(c.counter("frames_out")),
        bytes_in(c.counter("bytes_in")),
        bytes_out(c.counter("bytes_out")),
        queue_drops(c.counter("queue_drops")),
        send_rejects(c.counter("send_rejects")),
        close_drops(c.counter("close_drops")),
        pool_exhausted(c.counter("pool_exhausted")),
        protocol_errors(c.counter("protocol_errors")),
        accept_errors(c.counter("accept_errors")),
        stalled(c.counter("stalled")),
        share_drops(c.counter("share_drops")),
        stalled_over_share(c.counter("stalled_over_share")) {}

  std::uint64_t& sessions_opened;
  std::uint64_t& sessions_closed;
  std::uint64_t& frames_in;   // frames delivered to the host
  std::uint64_t& frames_out;  // frames written to a socket
  std::uint64_t& bytes_in;    // wire bytes (header + body) of frames_in
  std::uint64_t& bytes_out;   // wire bytes (header + body) of frames_out
  std::uint64_t& queue_drops;      // send(): the session's queue was full
  std::uint64_t& send_rejects;     // send(): no headroom, body > 65535 or unknown type
  std::uint64_t& close_drops;      // frames still queued when close() timed out
  std::uint64_t& pool_exhausted;   // receive: no packet buffer available
  std::uint64_t& protocol_errors;  // receive: bad flags/type/length, session ended
  std::uint64_t& accept_errors;
  std::uint64_t& stalled;          // sessions dropped: queue full for stall_timeout
  std::uint64_t& share_drops;      // of queue_drops: DATA beyond the session's fair share, pool under pressure
  std::uint64_t& stalled_over_share;  // of stalled: full at its fair share (the pool under pressure)
};

}  // namespace transport_tcp
