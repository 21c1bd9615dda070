// Running without root once setup is done ([host] user / group;
// docs/security.md, "Privileges"): OpenVPN's --user/--group with persist-tun.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>

namespace vpnhost {

// Who the host becomes after setup.
struct RunAs {
  std::string user;   // as given ("vpnhost", or a number)
  std::string group;  // as given, or the user's primary group
  uid_t uid = 0;
  gid_t gid = 0;
};

// Looks `user` (and `group`, "" = the user's primary group) up; names or
// numbers. An error message, or "" with `out` filled.
std::string resolve_run_as(const std::string& user, const std::string& group, RunAs& out);

// The ids plugins are told they will run as (HostContext::run_uid/run_gid):
// `to`'s, or the effective ones when nothing changes.
uid_t planned_uid(const std::optional<RunAs>& to);
gid_t planned_gid(const std::optional<RunAs>& to);

// Can this process become `to`? "" or why not (started as another user that
// is not root). Checked before setup, so nothing is set up in vain.
std::string can_become(const RunAs& to);

// After setup: become `to` (when given and not already it) and keep only
// CAP_NET_ADMIN — permitted, effective, inheritable and ambient, so the
// programs device_tun runs (nft, up/down scripts) have it too — with every
// other capability gone from the bounding set and no_new_privs set. With
// `to` unset the host keeps its user: root stays root (only a log line says
// so), any other user drops every capability but CAP_NET_ADMIN. Returns ""
// or what failed (the caller stops: a half-dropped process is not run).
// `summary` says what the process is now.
std::string drop_privileges(const std::optional<RunAs>& to, std::string& summary);

// "uid=65534(nobody) gid=65534 CapEff=0000000000001000" of this process.
std::string describe_credentials();

}  // namespace vpnhost
