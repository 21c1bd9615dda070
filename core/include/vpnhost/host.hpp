// The running host: creates the stages of a configuration, runs the event
// loop, handles signals, standard input EOF and counter dumps.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "vpnhost/configure.hpp"
#include "vpnhost/manifest.hpp"

namespace vpnhost {

struct RunOptions {
  bool stdin_eof_exits = false;  // also settable in [host]
  std::string stats_file;        // overrides [host] stats_file when not empty
  // Live reload (SIGHUP, `vpnhost reload`): parses the manifest again (same
  // path, same --set overrides); plugins come from `loader`. Unset: refused.
  std::function<Manifest()> reread_manifest;
  PluginLoader* loader = nullptr;
  bool log_level_fixed = false;  // --log-level given: a reload keeps it
};

// Runs until shutdown; returns the process exit code. Start-up failures are
// logged as one clear line and return 1. `loader` must outlive the call
// (plugin libraries outlive every plugin object and the io_context).
int run_host(const Configuration& config, const RunOptions& options);

}  // namespace vpnhost

namespace vpnhost {
// Creates (and destroys) every stage without starting any, so each plugin
// validates its options (key files, addresses). Throws LoadError.
void instantiate_all(const Configuration& config);
// The same for `vpnhost check`: every stage is tried, each failure becomes
// one error in `diag` at the position of the option it names ("option
// key_file at FILE:LINE:COL: ..." or "option key_file (FILE:LINE:COL): ..."),
// else at the stage's table.
void instantiate_all(const Configuration& config, Diagnostics& diag);
}  // namespace vpnhost
