#include "config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

#include "vpnsdk/status.hpp"

namespace transport_tcp {

const std::array<vpnsdk::OptionSpec, 8> kOptions{{
    {"listen", vpnsdk::OptionType::string, "",
     "address to listen on (server mode), e.g. \"0.0.0.0\" or \"::\"; exactly one of listen/connect"},
    {"connect", vpnsdk::OptionType::string, "",
     "host name or address to connect to (client mode); exactly one of listen/connect"},
    {"port", vpnsdk::OptionType::integer, "5000", "TCP port to listen on or connect to (1..65535)"},
    {"max_queue_frames", vpnsdk::OptionType::integer, "512",
     "per-session send queue bound in frames; frames beyond it are dropped and counted"},
    {"max_queue_bytes", vpnsdk::OptionType::integer, "1048576",
     "per-session send queue bound in bytes (with framing); frames beyond it are dropped and counted"},
    {"connect_timeout", vpnsdk::OptionType::integer, "10", "seconds to resolve and connect before giving up"},
    {"close_timeout_ms", vpnsdk::OptionType::integer, "1000",
     "milliseconds close() waits for the send queue to drain before closing anyway"},
    {"stall_timeout", vpnsdk::OptionType::integer, "10",
     "seconds a session's send queue may stay full (the peer stopped reading) before the session is dropped (0: never)"},
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
  c.max_queue_bytes = static_cast<std::size_t>(ranged(o, "max_queue_bytes", 1, std::int64_t{1} << 32));
  c.connect_timeout = std::chrono::seconds(ranged(o, "connect_timeout", 1, 3600));
  c.close_timeout = std::chrono::milliseconds(ranged(o, "close_timeout_ms", 0, 3600 * 1000));
  c.stall_timeout = std::chrono::seconds(ranged(o, "stall_timeout", 0, 3600));
  return c;
}

}  // namespace transport_tcp
