#include "vpnhost/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace vpnhost {

void write_random_key(const std::filesystem::path& path, std::size_t bytes) {
  if (sodium_init() < 0) throw KeyFileError("libsodium failed to initialise");
  std::vector<unsigned char> key(bytes);
  randombytes_buf(key.data(), key.size());
  std::string text(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(text.data(), text.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key.data(), key.size());
  text.resize(std::strlen(text.c_str()));
  text += '\n';

  // O_EXCL: never clobber an existing key; 0600 from the first byte on.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    throw KeyFileError("cannot create key file " + path.string() + ": " + std::strerror(err) +
                       (err == EEXIST ? " (refusing to overwrite an existing key)" : ""));
  }
  ::fchmod(fd, 0600);  // in case the umask was stricter, it stays 0600; never looser
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      sodium_memzero(text.data(), text.size());
      throw KeyFileError("cannot write key file " + path.string() + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  sodium_memzero(text.data(), text.size());
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    throw KeyFileError("cannot write key file " + path.string() + ": " + std::strerror(errno));
}

}  // namespace vpnhost
