// `vpnhost unblock DEVICE`: removes the kill switch that device_tun leaves
// behind after a crash (docs/gateway.md, "The kill switch"). It only
// deletes the nftables table inet vpnhostks_<DEVICE> of the network
// namespace it runs in; the name is made exactly as device_tun makes it
// (plugins/device_tun/kill_switch.cpp), from the configured device name
// (`[device] name`, "%d" included).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"

extern char** environ;

namespace vpnhost::app {
namespace {

// Runs nft with these arguments, its output to ours (stderr silenced when quiet); its exit status or -1.
int run_nft(const std::string& nft, const std::vector<std::string>& args, bool quiet) {
  std::vector<std::string> argv{nft};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> ptrs;
  for (auto& a : argv) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (quiet) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = -1;
  const int err = posix_spawnp(&pid, nft.c_str(), &fa, nullptr, ptrs.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) return -1;
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

int cmd_unblock(const std::string& device, const std::string& nft) {
  if (device.empty() || device.size() > 15) {
    std::fprintf(stderr, "vpnhost unblock: give the device name as in [device] name (1-15 characters), e.g. vpn0\n");
    return 64;
  }
  std::string table = "vpnhostks_";
  for (char c : device) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    table += ok ? c : '_';
  }
  const int listed = run_nft(nft, {"list", "table", "inet", table}, true);
  if (listed < 0) {
    std::fprintf(stderr, "vpnhost unblock: cannot run '%s' (install the nftables package)\n", nft.c_str());
    return 1;
  }
  if (listed != 0) {
    std::fprintf(stderr, "vpnhost unblock: no kill switch for %s here (no nftables table inet %s in this network "
                         "namespace); nothing to do\n", device.c_str(), table.c_str());
    return 0;
  }
  if (run_nft(nft, {"delete", "table", "inet", table}, false) != 0) {
    std::fprintf(stderr, "vpnhost unblock: '%s delete table inet %s' failed\n", nft.c_str(), table.c_str());
    return 1;
  }
  std::printf("kill switch of %s removed (nftables table inet %s deleted): traffic goes by the normal routes again\n",
              device.c_str(), table.c_str());
  return 0;
}

}  // namespace vpnhost::app
