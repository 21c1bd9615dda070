// `vpnhost unblock DEVICE`: removes what a crashed route_all client of
// device_tun leaves behind to keep traffic from leaving around the tunnel
// (docs/gateway.md, "The kill switch" and "Policy routing"), in the network
// namespace it runs in:
//  - the kill switch, the nftables table inet vpnhostks_<DEVICE>; the name
//    is made exactly as device_tun makes it (plugins/device_tun/
//    kill_switch.cpp), from the configured device name (`[device] name`,
//    "%d" included);
//  - the policy rules and the routes of route_all's own table, which carry
//    the routing protocol number 118 (kPolicyProtocol in
//    plugins/device_tun/route_netlink.hpp): every rule and route with it,
//    both families, all tables, by rtnetlink. They name no device, so this
//    part is the namespace's, not DEVICE's.
// The state file stays: the next start finds what it lists gone, and
// deletes the host route to the server it also lists.
#include <fcntl.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
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

constexpr unsigned char kPolicyProtocol = 118;

// One rtnetlink request at a time: its answers (a dump's parts, or the ACK).
class Rtnetlink {
 public:
  Rtnetlink() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    timeval tv{2, 0};  // the kernel answers at once; never hang
    if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Rtnetlink() {
    if (fd_ >= 0) ::close(fd_);
  }
  Rtnetlink(const Rtnetlink&) = delete;
  Rtnetlink& operator=(const Rtnetlink&) = delete;

  // Sends `msg` (its header's length, type and flags set); each answer but
  // the ACK, errors and the dump's end goes to `each`. 0 or an errno.
  int request(std::vector<char> msg, const std::function<void(const nlmsghdr*)>& each) {
    if (fd_ < 0) return errno;
    auto* out = reinterpret_cast<nlmsghdr*>(msg.data());
    out->nlmsg_seq = ++seq_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_, msg.data(), out->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
      return errno;
    const bool dump = (out->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    std::vector<char> buf(32768);
    for (;;) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN ? ETIMEDOUT : errno;
      int left = static_cast<int>(n);
      for (auto* in = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(in, left); in = NLMSG_NEXT(in, left)) {
        if (in->nlmsg_seq != seq_) continue;
        if (in->nlmsg_type == NLMSG_DONE) return 0;
        if (in->nlmsg_type == NLMSG_ERROR) {
          const int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(in))->error;
          if (err != 0 || !dump) return err;
          continue;
        }
        each(in);
      }
    }
  }

 private:
  int fd_;
  std::uint32_t seq_ = 0;
};

// A dump request of `type` for every family (the header after nlmsghdr is
// rtmsg or fib_rule_hdr, of the same size, family first).
std::vector<char> dump_request(std::uint16_t type) {
  static_assert(sizeof(rtmsg) == sizeof(fib_rule_hdr));
  std::vector<char> msg(NLMSG_SPACE(sizeof(rtmsg)), 0);
  auto* nh = reinterpret_cast<nlmsghdr*>(msg.data());
  nh->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  nh->nlmsg_type = type;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  reinterpret_cast<rtmsg*>(NLMSG_DATA(nh))->rtm_family = AF_UNSPEC;
  return msg;
}

bool rule_is_ours(const nlmsghdr* nh) {
  int len = static_cast<int>(nh->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(fib_rule_hdr)));
  const auto* rta = reinterpret_cast<const rtattr*>(static_cast<const char*>(NLMSG_DATA(nh)) +
                                                    NLMSG_ALIGN(sizeof(fib_rule_hdr)));
  for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
    if (rta->rta_type == FRA_PROTOCOL && RTA_PAYLOAD(rta) >= 1)
      return *static_cast<const unsigned char*>(RTA_DATA(rta)) == kPolicyProtocol;
  return false;
}

// Deletes every rule (dump type RTM_GETRULE) or route (RTM_GETROUTE) with
// kPolicyProtocol: each is sent back as it was dumped, as a delete (what
// `ip rule flush` and `ip route flush` do). How many, or -errno.
int delete_ours(std::uint16_t dump_type, std::uint16_t delete_type) {
  Rtnetlink nl;
  std::vector<std::vector<char>> found;
  const int err = nl.request(dump_request(dump_type), [&](const nlmsghdr* nh) {
    const bool ours = dump_type == RTM_GETRULE
                          ? nh->nlmsg_type == RTM_NEWRULE && rule_is_ours(nh)
                          : nh->nlmsg_type == RTM_NEWROUTE &&
                                static_cast<const rtmsg*>(NLMSG_DATA(nh))->rtm_protocol == kPolicyProtocol;
    if (ours) found.emplace_back(reinterpret_cast<const char*>(nh), reinterpret_cast<const char*>(nh) + nh->nlmsg_len);
  });
  if (err != 0) return -err;
  int deleted = 0;
  for (std::vector<char>& msg : found) {
    auto* nh = reinterpret_cast<nlmsghdr*>(msg.data());
    nh->nlmsg_type = delete_type;
    nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    const int e = nl.request(msg, [](const nlmsghdr*) {});
    if (e == ENOENT || e == ESRCH) continue;  // gone meanwhile
    if (e != 0) return -e;
    ++deleted;
  }
  return deleted;
}

// route_all's rules, then the routes of its table; false (and a message) on failure.
bool unblock_policy_routing(bool& removed) {
  const int rules = delete_ours(RTM_GETRULE, RTM_DELRULE);
  const int routes = rules < 0 ? 0 : delete_ours(RTM_GETROUTE, RTM_DELROUTE);
  if (rules < 0 || routes < 0) {
    std::fprintf(stderr, "vpnhost unblock: cannot delete route_all's policy rules and routes (proto %u): %s\n",
                 kPolicyProtocol, std::strerror(rules < 0 ? -rules : -routes));
    return false;
  }
  removed = rules + routes > 0;
  if (removed)
    std::printf("policy routing of route_all removed (%d rule(s) and %d route(s) with proto %u deleted): nothing "
                "is steered into the tunnel's table any more, and IPv6 is no longer blocked\n",
                rules, routes, kPolicyProtocol);
  return true;
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
  bool policy_removed = false;
  const bool policy_ok = unblock_policy_routing(policy_removed);
  const int listed = run_nft(nft, {"list", "table", "inet", table}, true);
  if (listed < 0) {
    std::fprintf(stderr, "vpnhost unblock: cannot run '%s' (install the nftables package)\n", nft.c_str());
    return 1;
  }
  if (listed != 0) {
    std::fprintf(stderr, "vpnhost unblock: no kill switch for %s here (no nftables table inet %s in this network "
                         "namespace)%s\n", device.c_str(), table.c_str(),
                 policy_removed || !policy_ok ? "" : "; no policy routing of route_all either: nothing to do");
    return policy_ok ? 0 : 1;
  }
  if (run_nft(nft, {"delete", "table", "inet", table}, false) != 0) {
    std::fprintf(stderr, "vpnhost unblock: '%s delete table inet %s' failed\n", nft.c_str(), table.c_str());
    return 1;
  }
  std::printf("kill switch of %s removed (nftables table inet %s deleted): traffic goes by the normal routes again\n",
              device.c_str(), table.c_str());
  return policy_ok ? 0 : 1;
}

}  // namespace vpnhost::app
