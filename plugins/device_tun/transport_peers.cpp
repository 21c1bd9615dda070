#include "transport_peers.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

namespace device_tun {
namespace {

bool established_or_connected(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return false;
  if (type == SOCK_DGRAM) return true;  // getpeername succeeded: a connected UDP socket
  if (type != SOCK_STREAM) return false;
  tcp_info info{};
  len = sizeof info;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_ESTABLISHED;
}

std::optional<std::uint32_t> peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  std::uint32_t a = 0;
  if (ss.ss_family == AF_INET) {
    a = ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr);
  } else if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (!IN6_IS_ADDR_V4MAPPED(&in6)) return std::nullopt;
    std::memcpy(&a, in6.s6_addr + 12, 4);
    a = ntohl(a);
  } else {
    return std::nullopt;
  }
  if (a == 0 || (a >> 24) == 127) return std::nullopt;
  if (!established_or_connected(fd)) return std::nullopt;
  return a;
}

}  // namespace

std::vector<PeerSocket> connected_ipv4_sockets() {
  std::vector<PeerSocket> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return out;
  const int own = ::dirfd(d);
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long n = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || n == own) continue;
    const int fd = static_cast<int>(n);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (auto a = peer_of(fd)) out.push_back({fd, st.st_ino, *a});
  }
  ::closedir(d);
  return out;
}

std::vector<std::uint32_t> connected_ipv4_peers() {
  std::vector<std::uint32_t> out;
  for (const auto& s : connected_ipv4_sockets())
    if (std::find(out.begin(), out.end(), s.peer) == out.end()) out.push_back(s.peer);
  return out;
}

bool has_connected_ipv6_peer() {
  bool found = false;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return false;
  const int own = ::dirfd(d);
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long n = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || n == own) continue;
    const int fd = static_cast<int>(n);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in6 sin6{};
    socklen_t len = sizeof sin6;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sin6), &len) != 0 || sin6.sin6_family != AF_INET6) continue;
    if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr) || IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr)) continue;
    if (established_or_connected(fd)) found = true;
  }
  ::closedir(d);
  return found;
}

bool still_connected(const PeerSocket& s) {
  struct stat st {};
  if (s.fd < 0 || ::fstat(s.fd, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != s.inode) return false;
  auto a = peer_of(s.fd);
  return a && *a == s.peer;
}

}  // namespace device_tun
