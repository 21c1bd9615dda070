#include "vpnhost/plugin_loader.hpp"

#include <algorithm>
#include <set>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <boost/dll/runtime_symbol_info.hpp>

#include "vpnhost/text.hpp"
#include "vpnsdk/version.hpp"

namespace vpnhost {
namespace fs = std::filesystem;

namespace {

bool valid_plugin_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string abi_text(std::uint32_t major, std::uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// Compiler version differences within one family/major and the same
// standard library ABI are compatible; anything else is refused.
void check_descriptor(const fs::path& so, const vpnsdk::PluginDescriptor* d) {
  const std::string file = so.string();
  if (d == nullptr) throw LoadError(file + " is not a vpnhost plugin: its entry point returned no descriptor");
  if (d->struct_size < offsetof(vpnsdk::PluginDescriptor, toolchain) + sizeof(const char*))
    throw LoadError(file + " has a truncated plugin descriptor (" + std::to_string(d->struct_size) + " bytes)");
  if (d->abi_major != vpnsdk::kAbiMajor || d->abi_minor > vpnsdk::kAbiMinor)
    throw LoadError(file + " was built for SDK ABI " + abi_text(d->abi_major, d->abi_minor) +
                    ", but this host has SDK ABI " + abi_text(vpnsdk::kAbiMajor, vpnsdk::kAbiMinor) +
                    "; rebuild the plugin against this SDK");
  if (d->struct_size < sizeof(vpnsdk::PluginDescriptor))
    throw LoadError(file + " has a truncated plugin descriptor (" + std::to_string(d->struct_size) + " bytes)");
  if (d->toolchain == nullptr || std::strcmp(d->toolchain, vpnsdk::kToolchainId) != 0)
    throw LoadError(file + " was built with '" + std::string(d->toolchain ? d->toolchain : "?") +
                    "', but this host with '" + vpnsdk::kToolchainId + "'; rebuild the plugin against this host's SDK headers and toolchain");
  if (d->name == nullptr || d->version == nullptr || d->summary == nullptr || d->create == nullptr ||
      d->destroy == nullptr || (d->option_count > 0 && d->options == nullptr))
    throw LoadError(file + " has an incomplete plugin descriptor (missing name, version, summary, create or destroy)");
  const auto stage = static_cast<std::uint32_t>(d->stage);
  if (stage < static_cast<std::uint32_t>(vpnsdk::Stage::transport) ||
      stage > static_cast<std::uint32_t>(vpnsdk::Stage::responder))
    throw LoadError(file + " declares an unknown stage " + std::to_string(stage) + " (known: 1-5, transport to responder)");
  for (std::size_t i = 0; i < d->option_count; ++i) {
    const auto& o = d->options[i];
    if (o.name == nullptr || o.help == nullptr)
      throw LoadError(file + " declares an option without a name or help text");
    if (o.default_value != nullptr && !vpnsdk::parse_option_text(o.type, o.default_value))
      throw LoadError(file + ": option '" + o.name + "' has a default '" + o.default_value + "' that is not " +
                      with_article(vpnsdk::option_type_name(o.type)));
  }
}

}  // namespace

fs::path stock_plugin_dir() {
  std::error_code ec;
  fs::path exe = boost::dll::program_location(ec);
  if (ec) return fs::path("/usr/local") / VPNHOST_PLUGIN_SUBDIR;
  return (exe.parent_path().parent_path() / VPNHOST_PLUGIN_SUBDIR).lexically_normal();
}

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& from_manifest) {
  std::vector<fs::path> dirs(from_manifest);
  if (const char* env = std::getenv("VPNHOST_PLUGIN_PATH")) {
    std::string s(env);
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t colon = s.find(':', start);
      if (colon == std::string::npos) colon = s.size();
      if (colon > start) dirs.emplace_back(s.substr(start, colon - start));
      start = colon + 1;
    }
  }
  dirs.push_back(stock_plugin_dir());
  std::vector<fs::path> unique;
  for (auto& d : dirs)
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  return unique;
}

LoadedPlugin PluginLoader::load_file(const fs::path& so) {
  LoadedPlugin p;
  p.path = so;
  try {
    // rtld_now: an unresolved symbol fails here, not later with a crash.
    p.library = std::make_shared<boost::dll::shared_library>(so, boost::dll::load_mode::rtld_now);
  } catch (const std::exception& e) {
    throw LoadError("cannot load " + so.string() + ": " + e.what());
  }
  if (!p.library->has(vpnsdk::kEntrySymbol))
    throw LoadError(so.string() + " is not a vpnhost plugin: it has no '" + vpnsdk::kEntrySymbol + "' entry point");
  auto& entry = p.library->get<vpnsdk::EntryFunction>(vpnsdk::kEntrySymbol);
  p.descriptor = entry();
  check_descriptor(so, p.descriptor);
  return p;
}

const LoadedPlugin& PluginLoader::load(const std::string& name) {
  if (auto it = loaded_.find(name); it != loaded_.end()) return it->second;
  if (!valid_plugin_name(name))
    throw LoadError("'" + name + "' is not a valid plugin name (use letters a-z, digits, '_' and '-')");
  std::string searched;
  for (const auto& dir : dirs_) {
    fs::path candidate = dir / (name + ".so");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) {
      LoadedPlugin p = load_file(candidate);
      if (name != p.descriptor->name)
        throw LoadError(candidate.string() + " calls itself '" + p.descriptor->name + "', not '" + name + "'");
      return loaded_.emplace(name, std::move(p)).first->second;
    }
    searched += (searched.empty() ? "" : ", ") + dir.string();
  }
  throw LoadError("plugin '" + name + "' not found; searched: " + (searched.empty() ? "(no directories)" : searched));
}

std::vector<LoadedPlugin> PluginLoader::discover(std::vector<std::string>& problems) {
  std::vector<LoadedPlugin> out;
  std::set<std::string> tried;  // first directory wins; a broken name is reported once
  for (const auto& dir : dirs_) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      const std::string name = f.stem().string();
      if (!tried.insert(name).second) continue;
      try {
        out.push_back(load(name));  // the first directory that has it: this file
      } catch (const LoadError& e) {
        problems.emplace_back(e.what());
      }
    }
  }
  return out;
}

}  // namespace vpnhost
