// A stock or fixture plugin (.so) created as the host creates it: found by
// the core's PluginLoader, made by instantiate() on the given io_context,
// pool and counters, options from the plugin's defaults plus `options`.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "../support.hpp"
#include "vpnhost/stage_instance.hpp"
#include "vpnsdk/testkit/harness.hpp"

namespace coretest {

// One loader for the whole test binary: a plugin's library stays loaded
// while any object it made may still be alive.
inline vpnhost::PluginLoader& kit_loader() {
  static vpnhost::PluginLoader loader = test_loader();
  return loader;
}

inline std::unique_ptr<vpnhost::StageInstance> plugin_stage(const std::string& plugin, const std::string& table,
                                                            boost::asio::io_context& io, vpnsdk::PacketPool& pool,
                                                            vpnhost::CounterRegistry& counters,
                                                            const std::map<std::string, vpnsdk::OptionValue>& options = {}) {
  const vpnhost::LoadedPlugin& loaded = kit_loader().load(plugin);
  const vpnhost::StageEntry entry{loaded.descriptor->stage, table, plugin, {}, {}};
  const vpnhost::ResolvedStage resolved{&entry, &loaded, vpnsdk::testkit::options_from(*loaded.descriptor, options)};
  return vpnhost::instantiate(resolved, ".", io, pool, counters);
}

}  // namespace coretest
