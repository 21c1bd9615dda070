// Helpers for the device_tun tests: a private network namespace for the
// test process, and interface queries through ioctls.
#pragma once
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace tun_test {

// Root needed: skipped locally, a failure under CI (the preamble's rule).
#define TUN_TEST_NEEDS_ROOT()                 \
  do {                                        \
    if (geteuid() != 0) {                     \
      if (std::getenv("CI")) FAIL("needs root"); \
      WARN("SKIPPED: needs root");            \
      return;                                 \
    }                                         \
  } while (0)

class Ifreq {
 public:
  explicit Ifreq(const std::string& name) : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    std::strncpy(ifr_.ifr_name, name.c_str(), IFNAMSIZ - 1);
  }
  ~Ifreq() {
    if (fd_ >= 0) ::close(fd_);
  }
  Ifreq(const Ifreq&) = delete;
  Ifreq& operator=(const Ifreq&) = delete;
  bool call(unsigned long request) { return fd_ >= 0 && ::ioctl(fd_, request, &ifr_) == 0; }
  ifreq& get() { return ifr_; }

 private:
  int fd_;
  ifreq ifr_{};
};

// Moves this process into a fresh network namespace and brings lo up.
// Returns an error text, empty on success. Nothing here touches the
// namespace the process started in.
inline std::string enter_private_netns() {
  if (::unshare(CLONE_NEWNET) != 0) return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
  Ifreq lo("lo");
  if (!lo.call(SIOCGIFFLAGS)) return std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
  lo.get().ifr_flags = static_cast<short>(lo.get().ifr_flags | IFF_UP);
  if (!lo.call(SIOCSIFFLAGS)) return std::string("SIOCSIFFLAGS lo: ") + std::strerror(errno);
  return {};
}

inline std::optional<std::uint32_t> in_addr_of(const std::string& name, unsigned long request) {
  Ifreq r(name);
  if (!r.call(request)) return std::nullopt;
  sockaddr_in sin{};
  std::memcpy(&sin, &r.get().ifr_addr, sizeof sin);
  return ntohl(sin.sin_addr.s_addr);
}
inline std::optional<std::uint32_t> address_of(const std::string& name) { return in_addr_of(name, SIOCGIFADDR); }
inline std::optional<std::uint32_t> netmask_of(const std::string& name) { return in_addr_of(name, SIOCGIFNETMASK); }

inline std::optional<int> mtu_of(const std::string& name) {
  Ifreq r(name);
  if (!r.call(SIOCGIFMTU)) return std::nullopt;
  return r.get().ifr_mtu;
}
inline std::optional<int> txqueuelen_of(const std::string& name) {
  Ifreq r(name);
  if (!r.call(SIOCGIFTXQLEN)) return std::nullopt;
  return r.get().ifr_qlen;
}
inline std::optional<short> flags_of(const std::string& name) {
  Ifreq r(name);
  if (!r.call(SIOCGIFFLAGS)) return std::nullopt;
  return r.get().ifr_flags;
}

}  // namespace tun_test
