#include "commands.hpp"

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string_view>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "vpnhost/configure.hpp"
#include "vpnhost/control_socket.hpp"
#include "vpnhost/host.hpp"
#include "vpnhost/keys.hpp"
#include "vpnhost/manifest.hpp"
#include "vpnhost/plugin_loader.hpp"
#include "vpnhost/service_notify.hpp"
#include "vpnsdk/files.hpp"

namespace vpnhost::app {
namespace fs = std::filesystem;

namespace {

// Command output (listings, keys) goes to stdout without decoration.
std::shared_ptr<spdlog::logger> out() {
  static auto logger = [] {
    auto l = spdlog::stdout_logger_mt("out");
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    return l;
  }();
  return logger;
}

// Parse + resolve, reporting the one-line error. Plugins stay loaded in `loader`.
std::optional<Configuration> load(const std::string& manifest, const Common& common,
                                  std::unique_ptr<PluginLoader>& loader) {
  try {
    Manifest m = parse_manifest(manifest, common.overrides);
    HostSettings h = host_settings(m);
    if (common.log_level.empty()) spdlog::set_level(spdlog::level::from_str(h.log_level));
    loader = std::make_unique<PluginLoader>(plugin_search_path(h.plugin_path));
    return configure(std::move(m), *loader);
  } catch (const ManifestError& e) {
    spdlog::error("{}", e.what());
  } catch (const LoadError& e) {
    spdlog::error("{}", e.what());
  }
  return std::nullopt;
}

std::string option_line(const vpnsdk::OptionSpec& o) {
  std::string def = o.default_value == nullptr || o.required ? "required" : std::string("default: ") +
                                                                              (std::string(o.default_value).empty() ? "\"\"" : o.default_value);
  return fmt::format("    {:<18} {:<16} {:<24} {}", o.name, vpnsdk::option_type_name(o.type), def, o.help);
}

void print_plugin(const LoadedPlugin& p, bool detail) {
  const auto* d = p.descriptor;
  out()->info("{:<22} {:<10} {:<8} {}", d->name, vpnsdk::stage_name(d->stage), d->version, d->summary);
  if (detail) {
    out()->info("    file: {}", p.path.string());
    out()->info("    built with: SDK ABI {}.{}, {}", d->abi_major, d->abi_minor, d->toolchain);
    std::string needs, provides;
    for (auto n = d->needs; n && *n; ++n) needs += std::string(needs.empty() ? "" : ", ") + *n;
    for (auto n = d->provides; n && *n; ++n) provides += std::string(provides.empty() ? "" : ", ") + *n;
    if (!needs.empty()) out()->info("    needs: {}", needs);
    if (!provides.empty()) out()->info("    provides: {}", provides);
  } else {
    out()->info("    file: {}", p.path.string());
  }
  if (d->option_count == 0) out()->info("    (no options)");
  for (std::size_t i = 0; i < d->option_count; ++i) out()->info("{}", option_line(d->options[i]));
}

}  // namespace

namespace {

// "<N>": the syslog priority prefix journald reads (and strips) from each line.
class JournalPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char p[3] = {'<', static_cast<char>('0' + syslog_priority(static_cast<int>(msg.level))), '>'};
    dest.append(p, p + 3);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriority>(); }
};

}  // namespace

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("vpnhost");
  spdlog::set_default_logger(logger);
  if (stderr_is_journal()) {
    // The journal has its own timestamps and levels: no timestamp, and the
    // level as a priority prefix (journalctl -p warning works).
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JournalPriority>('*').set_pattern("%*[%n] %v");
    spdlog::set_formatter(std::move(f));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  spdlog::set_level(spdlog::level::from_str(level.empty() ? "info" : level));
}

int cmd_run(const std::string& manifest, const Common& common, bool stdin_eof_exits, const std::string& stats_file) {
  std::unique_ptr<PluginLoader> loader;  // declared first: libraries outlive everything
  auto cfg = load(manifest, common, loader);
  if (!cfg) return 1;
  RunOptions run;
  run.stdin_eof_exits = stdin_eof_exits;
  run.stats_file = stats_file;
  run.reread_manifest = [manifest, overrides = common.overrides] { return parse_manifest(manifest, overrides); };
  run.loader = loader.get();
  run.log_level_fixed = !common.log_level.empty();
  return run_host(*cfg, run);
}

int cmd_check(const std::string& manifest, const Common& common) {
  // Like a compiler: plugins' own log lines without a timestamp, warnings and
  // worse unless --log-level says otherwise; then every error, one per line.
  spdlog::set_pattern("%^%l%$: [%n] %v");
  if (common.log_level.empty()) spdlog::set_level(spdlog::level::warn);
  Diagnostics diag;
  std::unique_ptr<PluginLoader> loader;  // declared first: libraries outlive the configuration
  std::optional<Configuration> cfg;
  try {
    Manifest m = parse_manifest(manifest, common.overrides, diag);
    Diagnostics again;  // host_settings' errors are reported once, by configure
    loader = std::make_unique<PluginLoader>(plugin_search_path(host_settings(m, again).plugin_path));
    cfg = configure(std::move(m), *loader, diag);
  } catch (const ManifestError& e) {
    diag.add(e);  // a TOML syntax error or an unreadable file: nothing after it can be checked
  } catch (const std::exception& e) {
    diag.add(ManifestError(Position{manifest, 0, 0}, e.what()));
  }
  if (cfg) instantiate_all(*cfg, diag);  // the stages that validated: key files, addresses
  if (!diag.empty()) {
    // In the manifest's order, as a compiler would; --set and whole-file errors first.
    auto key = [&](const ManifestError& e) {
      int line = 0, col = 0;
      const std::string& w = e.where();
      if (w.rfind(manifest + ":", 0) == 0 && std::sscanf(w.c_str() + manifest.size(), ":%d:%d", &line, &col) != 2)
        line = col = 0;
      return std::pair(line, col);
    };
    std::vector<ManifestError> errors = diag.errors();
    std::stable_sort(errors.begin(), errors.end(),
                     [&](const ManifestError& a, const ManifestError& b) { return key(a) < key(b); });
    for (const auto& e : errors) std::fprintf(stderr, "%s: error: %s\n", e.where().c_str(), e.message().c_str());
    std::fflush(stderr);
    return 1;
  }
  std::string stages;
  for (const auto& s : cfg->stages) stages += (stages.empty() ? "" : ", ") + s.entry->table + "=" + s.entry->plugin;
  out()->info("{}: OK ({})", manifest, stages);
  return 0;
}

int cmd_plugins(const std::string& name, const std::vector<std::string>& extra_dirs) {
  std::vector<fs::path> dirs(extra_dirs.begin(), extra_dirs.end());
  PluginLoader loader(plugin_search_path(dirs));
  if (!name.empty()) {
    try {
      print_plugin(PluginLoader::load_file(loader.load(name).path), true);
      return 0;
    } catch (const LoadError& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }
  std::string searched;
  for (const auto& d : loader.dirs()) searched += (searched.empty() ? "" : ", ") + d.string();
  out()->info("plugin search path: {}", searched);
  std::vector<std::string> problems;
  auto found = loader.discover(problems);
  for (const auto& p : found) print_plugin(p, false);
  for (const auto& p : problems) spdlog::warn("{}", p);
  if (found.empty()) {
    spdlog::error("no plugins found");
    return 1;
  }
  return 0;
}

int cmd_keygen(const std::string& file) {
  try {
    write_random_key(file);
  } catch (const KeyFileError& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  spdlog::info("wrote a new key to {} (mode 0600); for cipher_xor, copy it to the server and every client over a "
               "secure channel",
               file);
  // The plugins refuse a key file that someone else could replace
  // (StrictModes): say so now rather than at the first start.
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0)
    if (std::string why = vpnsdk::trust_problem("key file", file, st); !why.empty())
      spdlog::warn("{}; until then vpnhost refuses this key file", why);
  // The same file is an X25519 private key for cipher_noise: print its
  // public key on stdout (the private key itself stays in the file).
  try {
    const std::string pub = public_key_of_file(file);
    spdlog::info("for cipher_noise it is this host's private key (keep it here; never copy it); its public key:");
    out()->info("{}", pub);
  } catch (const KeyFileError& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}

int cmd_pubkey() {
  std::string text;
  char buf[256];
  while (std::cin.read(buf, sizeof buf) || std::cin.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(std::cin.gcount()));
    if (text.size() > 4096) break;
  }
  sodium_memzero(buf, sizeof buf);
  int rc = 0;
  try {
    if (text.size() > 4096) throw KeyFileError("standard input is too large for a private key (one line of base64)");
    out()->info("{}", public_key_from_private(text));
  } catch (const KeyFileError& e) {
    spdlog::error("vpnhost pubkey: {} (usage: vpnhost pubkey < private.key)", e.what());
    rc = 1;
  }
  sodium_memzero(text.data(), text.size());
  return rc;
}

namespace {

// The control socket to ask: `socket`, else the one `manifest` names, else
// the only one in /run/vpnhost. "" after logging why there is none.
std::string find_control_socket(const std::string& socket, const std::string& manifest, const Common& common) {
  std::string path = socket;
  if (path.empty() && !manifest.empty()) {
    try {
      path = host_settings(parse_manifest(manifest, common.overrides)).control_socket;
    } catch (const ManifestError& e) {
      spdlog::error("{}", e.what());
      return "";
    }
    if (path.empty()) {
      spdlog::error("{} turns the control socket off (control_socket = \"\"): nothing to ask", manifest);
      return "";
    }
  }
  if (path.empty()) {
    // The only host running with a default socket.
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/run/vpnhost", ec))
      if (e.path().extension() == ".sock" && e.is_socket(ec)) found.push_back(e.path().string());
    std::sort(found.begin(), found.end());
    if (found.size() != 1) {
      std::string list;
      for (const auto& f : found) list += " " + f;
      spdlog::error("{}; give --socket PATH or --plugins MANIFEST",
                    found.empty() ? std::string("no control socket in /run/vpnhost")
                                  : "several control sockets in /run/vpnhost:" + list);
      return "";
    }
    path = found.front();
  }
  return path;
}

}  // namespace

int cmd_status(const std::string& socket, const std::string& manifest, const Common& common, bool json) {
  const std::string path = find_control_socket(socket, manifest, common);
  if (path.empty()) return 1;
  std::string answer;
  try {
    answer = control_request(path, json ? "status json" : "status text");
  } catch (const ControlError& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  if (answer.rfind("error: ", 0) == 0 || answer.empty()) {
    spdlog::error("{}: {}", path, answer.empty() ? "empty answer" : answer.substr(7, answer.find('\n') - 7));
    return 1;
  }
  std::fwrite(answer.data(), 1, answer.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int cmd_reload(const std::string& socket, const std::string& manifest, const Common& common) {
  const std::string path = find_control_socket(socket, manifest, common);
  if (path.empty()) return 1;
  std::string answer;
  try {
    answer = control_request(path, "reload");
  } catch (const ControlError& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.rfind("ok: ", 0) != 0) {
    const bool refused = answer.rfind("error: ", 0) == 0;
    spdlog::error("{}: {}", path, answer.empty() ? "empty answer" : refused ? answer.substr(7) : answer);
    return 1;
  }
  out()->info("{}", answer.substr(4));
  return 0;
}

}  // namespace vpnhost::app
