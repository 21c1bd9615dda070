// Errors cross the plugin boundary as values, never as exceptions.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace vpnsdk {

enum class Code : std::uint16_t {
  ok = 0,
  again,           // not an error: try later (e.g. handshake needs more messages)
  drop_malformed,  // drop this packet: it does not parse
  drop_auth,       // drop this packet: authentication failed
  drop_no_route,   // drop this packet: nowhere to send it
  drop_overflow,   // drop this packet: a queue is full
  session_fatal,   // end this session (the message says why)
  refused,         // a request was refused (e.g. address pool full)
  config,          // bad configuration (start-up only)
  io,              // an operating-system call failed
  internal,        // a bug: an invariant did not hold
};

const char* code_name(Code c) noexcept;

struct Status {
  Code code = Code::ok;
  std::string message;  // empty on success; a sentence for a human otherwise

  bool ok() const noexcept { return code == Code::ok; }
  explicit operator bool() const noexcept { return ok(); }

  static Status success() { return {}; }
  static Status error(Code c, std::string msg) { return Status{c, std::move(msg)}; }
};

// Thrown by a plugin's constructor for bad options; the SDK's factory glue
// (VPNSDK_DEFINE_PLUGIN) turns it into a Status before it reaches the host.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline const char* code_name(Code c) noexcept {
  switch (c) {
    case Code::ok: return "ok";
    case Code::again: return "again";
    case Code::drop_malformed: return "malformed";
    case Code::drop_auth: return "auth";
    case Code::drop_no_route: return "no_route";
    case Code::drop_overflow: return "overflow";
    case Code::session_fatal: return "session_fatal";
    case Code::refused: return "refused";
    case Code::config: return "config";
    case Code::io: return "io";
    case Code::internal: return "internal";
  }
  return "unknown";
}

}  // namespace vpnsdk
