// One created plugin object with everything the host gave it.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "vpnhost/configure.hpp"
#include "vpnhost/counters.hpp"
#include "vpnhost/privileges.hpp"
#include "vpnsdk/context.hpp"
#include "vpnsdk/plugin.hpp"

namespace vpnhost {

struct StageInstance {
  std::string name;   // plugin name, for messages
  std::string table;  // manifest table, for messages
  vpnsdk::Options options;
  std::unique_ptr<PrefixedCounters> counters;
  vpnsdk::HostContext context;
  std::string base_dir;
  vpnsdk::Plugin* object = nullptr;
  void (*destroy)(vpnsdk::Plugin*) noexcept = nullptr;

  StageInstance() = default;
  StageInstance(const StageInstance&) = delete;
  StageInstance& operator=(const StageInstance&) = delete;
  ~StageInstance() {
    if (object != nullptr && destroy != nullptr) destroy(object);
  }

  template <class T>
  T* as() const {
    return dynamic_cast<T*>(object);
  }
};

// Creates the plugin object for one resolved stage. Throws LoadError with
// "[table] plugin: <the plugin's own message>" when its factory fails.
std::unique_ptr<StageInstance> instantiate(const ResolvedStage& stage, const std::string& base_dir,
                                           boost::asio::io_context& io, vpnsdk::PacketPool& pool,
                                           CounterRegistry& counters,
                                           const std::optional<RunAs>& run_as = std::nullopt);

}  // namespace vpnhost
