// What the host gives every plugin instance.
#pragma once
#include <unistd.h>

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
  // Since ABI minor 4: the user and group this process runs as once setup is
  // done ([host] user/group; docs/security.md, "Privileges"). A plugin that
  // writes a file after start makes sure this user can; files it trusts may
  // be owned by this user (vpnsdk::trust_problem). Equal to the effective
  // ids when the host changes none. Older hosts leave them unset: use
  // run_uid_of()/run_gid_of().
  std::uint32_t run_uid = ~0u;
  std::uint32_t run_gid = ~0u;
};

// The ids a plugin should plan for: run_uid/run_gid, or the effective ids
// under a host older than ABI minor 4.
inline std::uint32_t run_uid_of(const HostContext& ctx) {
  return ctx.abi_minor >= 4 && ctx.run_uid != ~0u ? ctx.run_uid : static_cast<std::uint32_t>(::geteuid());
}
inline std::uint32_t run_gid_of(const HostContext& ctx) {
  return ctx.abi_minor >= 4 && ctx.run_gid != ~0u ? ctx.run_gid : static_cast<std::uint32_t>(::getegid());
}

}  // namespace vpnsdk
