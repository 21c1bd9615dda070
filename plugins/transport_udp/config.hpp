// transport_udp options: the schema and the checked values.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "vpnsdk/options.hpp"

namespace transport_udp {

extern const std::array<vpnsdk::OptionSpec, 20> kOptions;

struct Config {
  std::string listen;   // server mode when non-empty (numeric address)
  std::string connect;  // client mode when non-empty (host name or address)
  std::uint16_t port = 5000;
  std::size_t max_queue_frames = 4096;  // datagrams waiting for room in the socket
  std::size_t recv_batch = 64;          // datagrams per recvmmsg
  std::size_t send_batch = 64;          // datagrams per sendmmsg
  int sndbuf = 4 << 20;                 // socket buffers (0: the system's default)
  int rcvbuf = 4 << 20;
  bool gso = true;                      // UDP_SEGMENT: runs of equal-size datagrams in one message
  bool gro = true;                      // UDP_GRO: the kernel may hand over coalesced trains
  std::chrono::seconds connect_timeout{10};
  std::chrono::milliseconds close_timeout{1000};
  std::chrono::milliseconds retransmit{500};  // first retransmission of HELLO/HANDSHAKE (0: never)
  unsigned retransmit_attempts = 8;
  std::chrono::seconds keepalive{0};  // empty datagram after this long without sending (0: off)
  std::size_t max_sessions = 4096;
  unsigned new_sessions_per_second = 1000;  // 0: no limit
  unsigned new_sessions_per_source = 50;    // per proven source (IPv4 address, IPv6 /64); 0: no limit
  // Server: a new source must echo a cookie (cookie.hpp) before a session
  // opens; client: carry the cookie field until the server answered.
  bool cookies = true;
  // Frame types (bit 1 << type) whose datagram opens a server session for an
  // unknown source; others from unknown sources are dropped.
  std::uint32_t open_types = (1u << 1) | (1u << 7);

  bool server() const noexcept { return !listen.empty(); }
};

// Reads and checks every option; throws vpnsdk::ConfigError naming the
// option and where it was given.
Config parse_config(const vpnsdk::Options& options);

}  // namespace transport_udp
