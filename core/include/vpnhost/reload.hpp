// Live reload (SIGHUP, `vpnhost reload`; docs/operations.md "Live reload"):
// the manifest is read again and checked completely, compared with the
// running configuration, and applied only when everything that differs can
// change while running. Otherwise the host keeps its old configuration.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vpnhost/configure.hpp"
#include "vpnhost/counters.hpp"
#include "vpnhost/manifest.hpp"
#include "vpnhost/plugin_loader.hpp"
#include "vpnsdk/status.hpp"

namespace vpnhost {

class Pipeline;
struct Stages;
struct StageInstance;

// One running stage (transport, cipher, device, router) and what it is told.
struct StageReload {
  vpnsdk::Stage stage;
  const ResolvedStage* next = nullptr;  // its entry in the new configuration
  bool options_changed = false;
};

struct ReloadPlan {
  std::vector<StageReload> stages;                // Plugin::reload order: changed options first
  std::vector<const ResolvedStage*> responders;   // the new list, created afresh
  bool responders_changed = false;
  std::vector<std::string> host_changes;          // [host] settings applied live
};

// The [host] options whose values differ between two manifests (defaults
// included), in schema order. Throws ManifestError like host_settings().
std::vector<std::string> host_options_changed(const Manifest& running, const Manifest& next);
// True for the [host] options a reload applies live: log_level,
// stats_interval, stats_file, handshake_timeout, max_sessions,
// max_handshakes. Every other one needs a restart.
bool host_option_is_live(const std::string& name);

// Option values equal (where they were written does not matter).
bool same_options(const vpnsdk::Options& a, const vpnsdk::Options& b);

struct PreparedReload {
  std::string refusal;                    // not empty: refuse with this message, change nothing
  std::unique_ptr<Configuration> next;
  ReloadPlan plan;
};

// Reads the manifest again through `reread` (throws ManifestError), checks
// it as `vpnhost check` would (every plugin found, every option valid) and
// compares it with `running`: a different transport/cipher/device/router
// plugin or a [host] setting that needs a restart is refused.
PreparedReload prepare_reload(const Configuration& running, const std::function<Manifest()>& reread,
                              PluginLoader& loader);

// What a reload works on: the running host's parts.
struct ReloadTarget {
  const Configuration* running = nullptr;
  Stages* stages = nullptr;
  Pipeline* pipeline = nullptr;
  CounterRegistry* counters = nullptr;
  PluginLoader* loader = nullptr;
  std::function<Manifest()> reread;  // parses the manifest again (same path, same --set)
  std::function<std::unique_ptr<StageInstance>(const ResolvedStage&)> instantiate;
  bool log_level_fixed = false;      // --log-level given: the manifest's log_level is not applied
};

struct ReloadResult {
  vpnsdk::Status status;                                // ok, or the refusal (logged already)
  std::unique_ptr<Configuration> config;                // ok: the configuration now running
  std::vector<std::unique_ptr<StageInstance>> retired;  // ok: the replaced responders (destroy after the loop)
  std::size_t revoked = 0;                              // sessions ended as no longer authorized
  std::string summary;                                  // ok: one line for the log and `vpnhost reload`
};

// Carries out a reload: prepare_reload, create the new responders, call
// Plugin::reload on every running stage, then apply (responders, log level,
// live [host] settings) and end every session whose cipher reports
// revoked(). Counts host.reloads / host.reload_failures.
ReloadResult reload_host(const ReloadTarget& t);

}  // namespace vpnhost
