#include "config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

#include "vpnsdk/status.hpp"

namespace transport_udp {

const std::array<vpnsdk::OptionSpec, 20> kOptions{{
    {"listen", vpnsdk::OptionType::string, "",
     "address to listen on (server mode), e.g. \"0.0.0.0\" or \"::\"; exactly one of listen/connect"},
    {"connect", vpnsdk::OptionType::string, "",
     "host name or address of the server (client mode); exactly one of listen/connect"},
    {"port", vpnsdk::OptionType::integer, "5000", "UDP port to listen on or send to (1..65535)"},
    {"max_queue_frames", vpnsdk::OptionType::integer, "4096",
     "datagrams that may wait for room in the socket's send buffer; beyond it frames are dropped and counted"},
    {"recv_batch", vpnsdk::OptionType::integer, "64", "datagrams read per recvmmsg call (1..1024)"},
    {"send_batch", vpnsdk::OptionType::integer, "64", "datagrams written per sendmmsg call (1..1024)"},
    {"sndbuf", vpnsdk::OptionType::integer, "4194304",
     "socket send buffer in bytes (SO_SNDBUFFORCE when allowed, else SO_SNDBUF capped by net.core.wmem_max; "
     "0: the system's default)"},
    {"rcvbuf", vpnsdk::OptionType::integer, "4194304",
     "socket receive buffer in bytes (SO_RCVBUFFORCE when allowed, else SO_RCVBUF capped by net.core.rmem_max; "
     "0: the system's default); a small one drops bursts"},
    {"gso", vpnsdk::OptionType::boolean, "true",
     "UDP GSO (UDP_SEGMENT) where the kernel offers it: equal-size datagrams to one destination leave in one "
     "message; false: one datagram per message"},
    {"gro", vpnsdk::OptionType::boolean, "true",
     "UDP GRO (UDP_GRO) where the kernel offers it: the kernel may hand over several datagrams of one flow at once "
     "(split again here); false: one datagram per receive"},
    {"connect_timeout", vpnsdk::OptionType::integer, "10", "seconds to resolve the server's name before giving up"},
    {"close_timeout_ms", vpnsdk::OptionType::integer, "1000",
     "milliseconds a client's close() waits for queued datagrams to leave before closing anyway"},
    {"retransmit_ms", vpnsdk::OptionType::integer, "500",
     "first retransmission of an unanswered HELLO or HANDSHAKE (client); doubles up to 4x (0: never)"},
    {"retransmit_attempts", vpnsdk::OptionType::integer, "8", "retransmissions of one HELLO/HANDSHAKE at most"},
    {"keepalive", vpnsdk::OptionType::integer, "0",
     "seconds without sending after which an empty datagram keeps NAT mappings open (0: off; the host's "
     "KEEPALIVE frames usually do this already)"},
    {"max_sessions", vpnsdk::OptionType::integer, "4096",
     "server: sessions at most; datagrams that would open one more are dropped"},
    {"new_sessions_per_second", vpnsdk::OptionType::integer, "1000",
     "server: new sessions per second at most (token bucket, burst of the same size; 0: no limit)"},
    {"new_sessions_per_source", vpnsdk::OptionType::integer, "50",
     "server: new sessions per second from one proven source (an IPv4 address, an IPv6 /64; token bucket, burst "
     "of the same size; 0: no per-source limit)"},
    {"cookies", vpnsdk::OptionType::boolean, "true",
     "server: a new source must prove its address by echoing a cookie before a session opens (protocol.md "
     "11.7); client: send the cookie field until the server answers (false: for a server without cookies)"},
    {"open_on", vpnsdk::OptionType::string_list, "hello, handshake",
     "server: frame types that open a session for an unknown source (hello, handshake, or any)"},
}};

namespace {

[[noreturn]] void fail(const vpnsdk::Options& o, const std::string& name, const std::string& what) {
  throw vpnsdk::ConfigError("option '" + name + "' (" + o.where(name) + ") " + what);
}

std::int64_t ranged(const vpnsdk::Options& o, const std::string& name, std::int64_t lo, std::int64_t hi) {
  const std::int64_t v = o.integer(name);
  if (v < lo || v > hi)
    fail(o, name, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
  return v;
}

}  // namespace

Config parse_config(const vpnsdk::Options& o) {
  Config c;
  c.listen = o.str("listen");
  c.connect = o.str("connect");
  if (c.listen.empty() == c.connect.empty()) {
    throw vpnsdk::ConfigError("exactly one of the options 'listen' (" + o.where("listen") +
                              ") and 'connect' (" + o.where("connect") +
                              ") must be set: 'listen' for server mode, 'connect' for client mode");
  }
  if (c.server()) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(c.listen, ec);
    if (ec) fail(o, "listen", "must be a numeric IPv4 or IPv6 address, got \"" + c.listen + "\"");
  }
  c.port = static_cast<std::uint16_t>(ranged(o, "port", 1, 65535));
  c.max_queue_frames = static_cast<std::size_t>(ranged(o, "max_queue_frames", 1, 1 << 20));
  c.recv_batch = static_cast<std::size_t>(ranged(o, "recv_batch", 1, 1024));
  c.send_batch = static_cast<std::size_t>(ranged(o, "send_batch", 1, 1024));
  c.sndbuf = static_cast<int>(ranged(o, "sndbuf", 0, 1 << 30));
  c.rcvbuf = static_cast<int>(ranged(o, "rcvbuf", 0, 1 << 30));
  c.gso = o.boolean("gso");
  c.gro = o.boolean("gro");
  c.connect_timeout = std::chrono::seconds(ranged(o, "connect_timeout", 1, 3600));
  c.close_timeout = std::chrono::milliseconds(ranged(o, "close_timeout_ms", 0, 3600 * 1000));
  c.retransmit = std::chrono::milliseconds(ranged(o, "retransmit_ms", 0, 60000));
  c.retransmit_attempts = static_cast<unsigned>(ranged(o, "retransmit_attempts", 0, 100));
  c.keepalive = std::chrono::seconds(ranged(o, "keepalive", 0, 3600));
  c.max_sessions = static_cast<std::size_t>(ranged(o, "max_sessions", 1, 1 << 20));
  c.new_sessions_per_second = static_cast<unsigned>(ranged(o, "new_sessions_per_second", 0, 1000000));
  c.new_sessions_per_source = static_cast<unsigned>(ranged(o, "new_sessions_per_source", 0, 1000000));
  c.cookies = o.boolean("cookies");
  c.open_types = 0;
  for (const std::string& t : o.list("open_on")) {
    if (t == "any") c.open_types |= 0xfeu;  // types 1..7
    else if (t == "hello") c.open_types |= 1u << 1;
    else if (t == "handshake") c.open_types |= 1u << 7;
    else fail(o, "open_on", "accepts \"hello\", \"handshake\" and \"any\", got \"" + t + "\"");
  }
  if (c.open_types == 0) fail(o, "open_on", "must name at least one frame type, or else no client could connect");
  return c;
}

}  // namespace transport_udp
