#include "sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace device_tun {

int read_sysctl(const std::string& path, std::string& value) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[64];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  if (err != 0) return err;
  value.assign(buf, static_cast<std::size_t>(n));
  while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
  return 0;
}

int write_sysctl(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string line = value + "\n";
  ssize_t n;
  do n = ::write(fd, line.data(), line.size());
  while (n < 0 && errno == EINTR);
  const int err = n < 0 ? errno : (static_cast<std::size_t>(n) == line.size() ? 0 : EIO);
  ::close(fd);
  return err;
}

}  // namespace device_tun
