#include "vpnhost/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <vector>

namespace vpnhost {
namespace {

// The one capability the host needs once set up: re-addressing the TUN,
// routes, nftables and sysctls (net.* sysctls accept CAP_NET_ADMIN) on
// reconnect and at exit. CAP_NET_BIND_SERVICE is not kept: every listening
// socket is bound at start, a reload cannot change a port, and clients bind
// ephemeral ports only.
constexpr cap_value_t kKept[] = {CAP_NET_ADMIN};

std::string err_text(const std::string& what, int err) { return what + ": " + std::strerror(err); }

std::optional<unsigned long> number(const std::string& s) {
  unsigned long v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string set_caps(bool keep_kept) {
  cap_t caps = cap_init();  // all clear
  if (caps == nullptr) return err_text("cap_init", errno);
  std::string error;
  if (keep_kept) {
    const int n = static_cast<int>(std::size(kKept));
    if (cap_set_flag(caps, CAP_PERMITTED, n, kKept, CAP_SET) != 0 ||
        cap_set_flag(caps, CAP_EFFECTIVE, n, kKept, CAP_SET) != 0 ||
        cap_set_flag(caps, CAP_INHERITABLE, n, kKept, CAP_SET) != 0)
      error = err_text("cap_set_flag", errno);
  }
  if (error.empty() && cap_set_proc(caps) != 0) error = err_text("cannot set capabilities (cap_set_proc)", errno);
  cap_free(caps);
  if (!error.empty()) return error;
  if (keep_kept)
    for (cap_value_t c : kKept)
      if (cap_set_ambient(c, CAP_SET) != 0) return err_text("cannot make CAP_NET_ADMIN ambient", errno);
  return {};
}

// Needs CAP_SETPCAP: done while the process still has every capability.
std::string drop_bounding_set() {
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; ++c) {
    bool kept = false;
    for (cap_value_t k : kKept) kept = kept || k == c;
    if (kept || CAP_IS_SUPPORTED(c) == 0) continue;
    if (cap_drop_bound(c) != 0 && errno != EINVAL) return err_text("cannot drop capability " + std::to_string(c) + " from the bounding set", errno);
  }
  return {};
}

bool has_effective(cap_value_t c) {
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return false;
  cap_flag_value_t v = CAP_CLEAR;
  cap_get_flag(caps, c, CAP_EFFECTIVE, &v);
  cap_free(caps);
  return v == CAP_SET;
}

}  // namespace

std::string resolve_run_as(const std::string& user, const std::string& group, RunAs& out) {
  out = RunAs{};
  out.user = user;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = 0;
  if (auto n = number(user)) {
    rc = ::getpwuid_r(static_cast<uid_t>(*n), &pw, buf.data(), buf.size(), &found);
    if (found == nullptr) {
      if (group.empty()) return "user " + user + " has no entry in the user database: give group as well";
      out.uid = static_cast<uid_t>(*n);
    }
  } else {
    rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (found == nullptr)
      return rc != 0 ? err_text("cannot look up user " + user, rc) : "no such user: " + user + " (create it: adduser --system --group " + user + ")";
  }
  if (found != nullptr) {
    out.uid = pw.pw_uid;
    out.gid = pw.pw_gid;
  }
  if (out.uid == 0) return "user " + user + " is root: leave [host] user unset to run as root";
  out.group = group;
  if (group.empty()) {
    out.group = std::to_string(out.gid);
    return {};
  }
  if (auto n = number(group)) {
    out.gid = static_cast<gid_t>(*n);
    return {};
  }
  ::group gr{};
  ::group* g = nullptr;
  rc = ::getgrnam_r(group.c_str(), &gr, buf.data(), buf.size(), &g);
  if (g == nullptr) return rc != 0 ? err_text("cannot look up group " + group, rc) : "no such group: " + group;
  out.gid = gr.gr_gid;
  return {};
}

uid_t planned_uid(const std::optional<RunAs>& to) { return to ? to->uid : ::geteuid(); }
gid_t planned_gid(const std::optional<RunAs>& to) { return to ? to->gid : ::getegid(); }

std::string can_become(const RunAs& to) {
  const uid_t me = ::geteuid();
  if (me == 0 || me == to.uid) return {};
  return "[host] user = \"" + to.user + "\": vpnhost was started as uid " + std::to_string(me) +
         ", which can only become another user when started as root";
}

std::string drop_privileges(const std::optional<RunAs>& to, std::string& summary) {
  const bool change = to && (::geteuid() != to->uid || ::getegid() != to->gid);
  if (!to && ::geteuid() == 0) {
    summary = "running as root (set [host] user to run without root after setup)";
    return {};
  }
  if (change) {
    if (std::string e = can_become(*to); !e.empty()) return e;
    if (std::string e = drop_bounding_set(); !e.empty()) return e;
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return err_text("prctl(PR_SET_KEEPCAPS)", errno);
    const gid_t gid = to->gid;
    if (::setgroups(1, &gid) != 0) return err_text("cannot set groups (setgroups)", errno);
    if (::setresgid(gid, gid, gid) != 0) return err_text("cannot become group " + to->group, errno);
    if (::setresuid(to->uid, to->uid, to->uid) != 0) return err_text("cannot become user " + to->user, errno);
    ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  } else if (has_effective(CAP_SETPCAP)) {
    if (std::string e = drop_bounding_set(); !e.empty()) return e;
  }
  if (std::string e = set_caps(true); !e.empty()) return e;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return err_text("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  // Proof, not hope: root must be out of reach now.
  if (change && (::setuid(0) == 0 || ::seteuid(0) == 0)) return "could become root again after dropping privileges";
  summary = "running as " + describe_credentials() + " (only CAP_NET_ADMIN kept)";
  return {};
}

std::string describe_credentials() {
  std::string out = "uid=" + std::to_string(::geteuid());
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr)
    out += "(" + std::string(pw.pw_name) + ")";
  out += " gid=" + std::to_string(::getegid());
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapEff:", 0) == 0) out += " CapEff=" + line.substr(line.find_first_not_of(" \t", 7));
  return out;
}

}  // namespace vpnhost
