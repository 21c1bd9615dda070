// Finds plugin .so files, loads them with Boost.DLL and checks that they are
// vpnhost plugins this host can run. Libraries are never unloaded while the
// process runs (see docs/architecture.md: lifetime rules).
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "vpnsdk/plugin.hpp"

namespace vpnhost {

class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct LoadedPlugin {
  std::shared_ptr<boost::dll::shared_library> library;
  const vpnsdk::PluginDescriptor* descriptor = nullptr;
  std::filesystem::path path;
};

// <directory of this executable>/../lib/vpnhost/plugins
std::filesystem::path stock_plugin_dir();

// Manifest plugin_path entries, then $VPNHOST_PLUGIN_PATH (colon-separated),
// then the stock directory. Duplicates are dropped, order kept.
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::filesystem::path>& from_manifest);

class PluginLoader {
 public:
  explicit PluginLoader(std::vector<std::filesystem::path> search_dirs) : dirs_(std::move(search_dirs)) {}

  // Loads (once) the plugin called `name` from the first directory that has
  // <name>.so. Throws LoadError with a one-line message naming the cause.
  const LoadedPlugin& load(const std::string& name);

  // Loads one file directly and validates it (no name check).
  static LoadedPlugin load_file(const std::filesystem::path& so);

  // Every <name>.so in the search path (first one wins per name); files that
  // fail to load are reported in `problems` instead.
  std::vector<LoadedPlugin> discover(std::vector<std::string>& problems);

  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }

 private:
  std::vector<std::filesystem::path> dirs_;
  std::map<std::string, LoadedPlugin> loaded_;
};

}  // namespace vpnhost
