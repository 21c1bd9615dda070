// Checks a parsed manifest against the plugins it names: every option
// known and of the right type, required options present, every stage a
// plugin of that stage, and every stage another one needs present.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vpnhost/manifest.hpp"
#include "vpnhost/plugin_loader.hpp"
#include "vpnhost/privileges.hpp"
#include "vpnsdk/options.hpp"

namespace vpnhost {

// [host] settings, validated with the same machinery as plugin options.
struct HostSettings {
  std::vector<std::filesystem::path> plugin_path;
  std::string log_level = "info";
  std::int64_t stats_interval = 0;  // seconds; 0 = only on SIGUSR1 and at exit
  std::string stats_file;
  bool stdin_eof_exits = false;
  std::int64_t keepalive = 10;          // seconds of silence before we send KEEPALIVE
  std::int64_t session_timeout = 60;    // seconds of silence before a session is dropped
  std::int64_t handshake_timeout = 5;   // seconds a new session has to finish HELLO/WELCOME
  std::int64_t max_sessions = 1024;
  std::int64_t max_handshakes = 256;    // sessions not yet established
  std::int64_t packet_buffers = 8192;
  bool reconnect = true;
  std::int64_t reconnect_min = 1000;   // ms
  std::int64_t reconnect_max = 30000;  // ms
  bool exit_on_server_bye = true;
  std::int64_t mtu = 0;   // tunnel MTU; 0 = derived per session (docs/mtu.md)
  bool mss_clamp = true;
  // Operations (docs/operations.md)
  std::string control_socket;            // "" = none
  bool control_socket_explicit = false;  // set in the manifest: failing to create it ends start-up
  std::string metrics;                   // "HOST:PORT" ("PORT" in the manifest: 127.0.0.1:PORT) or "" = off
  std::string metrics_host;
  std::uint16_t metrics_port = 0;
  // Privileges (docs/security.md, "Privileges")
  std::string user;              // [host] user as given, "" = keep who started it
  std::string group;
  std::optional<RunAs> run_as;   // resolved when user is set
};

std::span<const vpnsdk::OptionSpec> host_option_specs();

// Turns raw manifest values into Options for `schema`; `owner` is used in
// messages ("[cipher] cipher_xor"). Throws ManifestError.
vpnsdk::Options build_options(std::span<const vpnsdk::OptionSpec> schema, const RawTable& raw,
                              const std::string& owner, const Position& table_where);
// The same, collecting every error into `diag`; options in error are left out.
vpnsdk::Options build_options(std::span<const vpnsdk::OptionSpec> schema, const RawTable& raw,
                              const std::string& owner, const Position& table_where, Diagnostics& diag);

HostSettings host_settings(const Manifest& m);
HostSettings host_settings(const Manifest& m, Diagnostics& diag);

// The control socket of a manifest that does not set one: /run/vpnhost/<file stem>.sock.
std::string default_control_socket(const std::filesystem::path& manifest_file);

// Parses "HOST:PORT" (the metrics endpoint): HOST a numeric IPv4 address or
// "[IPv6]", PORT 1..65535. Returns an error message, or "" when valid.
std::string parse_listen_address(const std::string& text, std::string& host, std::uint16_t& port);

struct ResolvedStage {
  const StageEntry* entry = nullptr;
  const LoadedPlugin* plugin = nullptr;
  vpnsdk::Options options;
};

// Move-only: stages[i].entry points into manifest.stages.
struct Configuration {
  Configuration() = default;
  Configuration(Configuration&&) = default;
  Configuration& operator=(Configuration&&) = default;
  Configuration(const Configuration&) = delete;
  Configuration& operator=(const Configuration&) = delete;

  Manifest manifest;
  HostSettings host;
  std::vector<ResolvedStage> stages;  // table-name order; [[responder]]s in manifest order

  const ResolvedStage* find(vpnsdk::Stage s) const;
};

// Loads every plugin the manifest names through `loader` and validates all
// of it. Throws ManifestError (with the position) or LoadError.
Configuration configure(Manifest m, PluginLoader& loader);
// The same, collecting every error into `diag` instead (a plugin that does
// not load is one error, not a LoadError). stages holds the stages that
// validated: the configuration is complete only when `diag` stays empty.
Configuration configure(Manifest m, PluginLoader& loader, Diagnostics& diag);

}  // namespace vpnhost
