// What the host gives every plugin instance.
#pragma once
#include <cstdint>
#include <memory>

#include "vpnsdk/asio.hpp"
#include "vpnsdk/counters.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/options.hpp"
#include "vpnsdk/packet.hpp"
#include "vpnsdk/version.hpp"

namespace vpnsdk {

struct HostContext {
  std::uint32_t abi_major = kAbiMajor;
  std::uint32_t abi_minor = kAbiMinor;
  boost::asio::io_context* io = nullptr;   // schedule everything here; never run() it
  std::shared_ptr<spdlog::logger> log;     // named after the plugin, the host's sinks and level
  const Options* options = nullptr;        // this instance's options, all present
  Counters* counters = nullptr;            // register named counters here
  PacketPool* pool = nullptr;              // allocate packet buffers here
  const char* base_dir = "";               // manifest's directory: resolve relative paths against it
};

}  // namespace vpnsdk
