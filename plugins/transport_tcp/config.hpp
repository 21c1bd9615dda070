// transport_tcp options: the schema and the checked values.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "vpnsdk/options.hpp"

namespace transport_tcp {

extern const std::array<vpnsdk::OptionSpec, 8> kOptions;

struct Config {
  std::string listen;   // server mode when non-empty (numeric address)
  std::string connect;  // client mode when non-empty (host name or address)
  std::uint16_t port = 5000;
  std::size_t max_queue_frames = 512;
  std::size_t max_queue_bytes = 1048576;
  std::chrono::seconds connect_timeout{10};
  std::chrono::milliseconds close_timeout{1000};
  std::chrono::seconds stall_timeout{10};  // 0: never drop a peer that stopped reading

  bool server() const noexcept { return !listen.empty(); }
};

// Reads and checks every option; throws vpnsdk::ConfigError naming the
// option and where it was given.
Config parse_config(const vpnsdk::Options& options);

}  // namespace transport_tcp
