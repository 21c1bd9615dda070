// vpnhost: the command line. Everything else lives in core/ and the plugins.
#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace vpnhost::app;
  CLI::App app{"vpnhost: a layer-3 VPN assembled from plugins named in a manifest.\n"
               "  vpnhost --plugins manifests/server.manifest\n"
               "  vpnhost check [--plugins] FILE [--set ...] | vpnhost plugins [NAME] | vpnhost keygen FILE | vpnhost pubkey < FILE\n"
               "  vpnhost status [--json] [--socket PATH | --plugins MANIFEST]\n"
               "  vpnhost reload [--socket PATH | --plugins MANIFEST] | vpnhost unblock DEVICE"};
  app.set_version_flag("--version", std::string("vpnhost ") + VPNHOST_VERSION);
  app.fallthrough();

  Common common;
  std::string manifest, stats_file;
  bool stdin_eof_exits = false;
  app.add_option("--plugins", manifest, "run the stages this manifest names")->check(CLI::ExistingFile);
  app.add_option("--set", common.overrides, "override a manifest option: TABLE.KEY=VALUE (repeatable)")
      ->type_size(1)
      ->allow_extra_args(false);
  app.add_option("--log-level", common.log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--stdin-eof-exits", stdin_eof_exits, "shut down cleanly (BYE to all) at end of standard input");
  app.add_option("--stats-file", stats_file, "write counters here on SIGUSR1 and at exit");

  std::string check_file;
  auto* check = app.add_subcommand("check", "validate a manifest and its plugins' options without running, with the run's "
                                            "--set options; every error as FILE:LINE:COL: error: ... (exit 0/1)");
  check->add_option("file", check_file, "manifest (or give --plugins FILE, as a run does)");  // unreadable: an error line, exit 1

  std::string plugin_name;
  std::vector<std::string> plugin_dirs;
  auto* plugins = app.add_subcommand("plugins", "list the plugins found, with their options; or one in detail");
  plugins->add_option("name", plugin_name, "show only this plugin, in detail");
  plugins->add_option("--plugin-path", plugin_dirs, "also search these directories first")->type_size(1)->allow_extra_args(false);

  std::string key_file;
  auto* keygen = app.add_subcommand("keygen", "write a new random key file (mode 0600)");
  keygen->add_option("file", key_file, "where to write it (must not exist)")->required();

  auto* pubkey = app.add_subcommand("pubkey", "print the public key of the private key read from standard input");

  std::string status_socket;
  bool status_json = false;
  auto* status = app.add_subcommand("status", "show a running host's sessions and counters (over its control socket)");
  status->add_option("--socket", status_socket, "the host's control socket (default: the one --plugins MANIFEST names, "
                                                "else the only one in /run/vpnhost)");
  status->add_flag("--json", status_json, "print JSON (docs/operations.md)");

  std::string reload_socket;
  auto* reload = app.add_subcommand("reload", "make a running host read its manifest and authorized_clients again "
                                              "(exit 0: applied; 1: refused, it keeps running unchanged)");
  reload->add_option("--socket", reload_socket, "the host's control socket (default: as for status)");

  std::string unblock_device, unblock_nft = "nft";
  auto* unblock = app.add_subcommand("unblock", "remove what a crashed route_all client left for DEVICE in this network "
                                                "namespace: its kill switch (nftables table inet vpnhostks_DEVICE) and "
                                                "route_all's policy rules and table routes (every one marked proto 118)");
  unblock->add_option("device", unblock_device, "the device name, as in [device] name (e.g. vpn0)")->required();
  unblock->add_option("--nft", unblock_nft, "the nft command (as device.nft)");

  app.require_subcommand(0, 1);
  CLI11_PARSE(app, argc, argv);

  setup_logging(common.log_level);
  if (*check) {
    // `vpnhost check --plugins M --set ...` checks the very command line a run would take.
    if (check_file.empty()) check_file = manifest;
    if (check_file.empty() || (!manifest.empty() && manifest != check_file)) {
      std::fputs(check_file.empty() ? "vpnhost check: give the manifest: vpnhost check FILE [--set TABLE.KEY=VALUE]...\n"
                                    : "vpnhost check: two manifests given (FILE and --plugins); check one at a time\n",
                 stderr);
      return 64;
    }
    return cmd_check(check_file, common);
  }
  if (*plugins) return cmd_plugins(plugin_name, plugin_dirs);
  if (*keygen) return cmd_keygen(key_file);
  if (*pubkey) return cmd_pubkey();
  if (*status) return cmd_status(status_socket, manifest, common, status_json);
  if (*reload) return cmd_reload(reload_socket, manifest, common);
  if (*unblock) return cmd_unblock(unblock_device, unblock_nft);
  if (manifest.empty()) {
    std::fputs(app.help().c_str(), stderr);
    std::fputs("\nnothing to do: give --plugins FILE or a subcommand\n", stderr);
    return 64;  // EX_USAGE; 1-3 are the run's own exit codes
  }
  return cmd_run(manifest, common, stdin_eof_exits, stats_file);
}
