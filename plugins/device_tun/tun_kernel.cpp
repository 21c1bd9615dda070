#include "tun_kernel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vpnsdk/ipv4.hpp"

namespace device_tun {
namespace {

using vpnsdk::Code;
using vpnsdk::Status;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text(int err) {
  std::string s = std::strerror(err);
  if (err == EPERM || err == EACCES) s += " (needs CAP_NET_ADMIN)";
  return s;
}

ifreq named(const std::string& ifname) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  return ifr;
}

void set_in_addr(sockaddr& sa, std::uint32_t host_order) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(host_order);
  std::memcpy(&sa, &sin, sizeof sin);
}

}  // namespace

int open_tun_node() noexcept { return ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC); }

Status create_tun(const std::string& name, int& fd, std::string& actual, int& opened) {
  const std::string what = "cannot create TUN device '" + name + "': ";
  Fd tun;
  tun.fd = opened >= 0 ? opened : open_tun_node();
  opened = -1;
  if (name.empty() || name.size() >= IFNAMSIZ)
    return Status::error(Code::io, what + "the name must have 1 to 15 characters");
  if (tun.fd < 0) {
    const int err = errno;
    std::string hint = (err == ENOENT || err == ENODEV || err == ENXIO) ? " (is the tun module loaded?)" : "";
    return Status::error(Code::io, what + "/dev/net/tun: " + errno_text(err) + hint);
  }
  ifreq ifr = named(name);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (::ioctl(tun.fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    std::string hint = err == EBUSY ? " (the name is in use)" : err == EINVAL ? " (invalid name?)" : "";
    return Status::error(Code::io, what + errno_text(err) + hint);
  }
  actual.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
  fd = tun.fd;
  tun.fd = -1;
  return {};
}

Status configure_tun(const std::string& ifname, const vpnsdk::Assignment& self, std::uint16_t mtu,
                     int txqueuelen) {
  const std::string what = "cannot configure TUN device '" + ifname + "': ";
  if (self.prefix_len > 32) return Status::error(Code::config, what + "prefix length above 32");
  Fd sock;
  sock.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock.fd < 0) return Status::error(Code::io, what + "socket: " + errno_text(errno));

  auto call = [&](unsigned long request, ifreq& ifr, const char* step) -> Status {
    if (::ioctl(sock.fd, request, &ifr) < 0) return Status::error(Code::io, what + step + ": " + errno_text(errno));
    return {};
  };
  const vpnsdk::ipv4::Prefix prefix{0, self.prefix_len};

  ifreq ifr = named(ifname);
  set_in_addr(ifr.ifr_addr, self.address);
  if (auto s = call(SIOCSIFADDR, ifr, "set address"); !s) return s;
  ifr = named(ifname);
  set_in_addr(ifr.ifr_netmask, prefix.mask());
  if (auto s = call(SIOCSIFNETMASK, ifr, "set netmask"); !s) return s;
  ifr = named(ifname);
  ifr.ifr_mtu = mtu;
  if (auto s = call(SIOCSIFMTU, ifr, "set MTU"); !s) return s;
  ifr = named(ifname);
  ifr.ifr_qlen = txqueuelen;
  if (auto s = call(SIOCSIFTXQLEN, ifr, "set txqueuelen"); !s) return s;
  ifr = named(ifname);
  if (auto s = call(SIOCGIFFLAGS, ifr, "get flags"); !s) return s;
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  return call(SIOCSIFFLAGS, ifr, "bring up");
}

bool disable_ipv6(const std::string& ifname) noexcept {
  try {
    const std::string path = "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6";
    Fd f;
    f.fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    return f.fd >= 0 && ::write(f.fd, "1", 1) == 1;
  } catch (...) {
    return false;
  }
}

}  // namespace device_tun
