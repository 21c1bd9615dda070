#include "vpnhost/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
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
  // On any failure: no partial key file stays behind (keygen would then
  // refuse to overwrite it), and the descriptor is closed.
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(path.c_str());
    sodium_memzero(text.data(), text.size());
    throw KeyFileError("cannot write key file " + path.string() + ": " + std::strerror(err));
  };
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  sodium_memzero(text.data(), text.size());
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    throw KeyFileError("cannot write key file " + path.string() + ": " + std::strerror(err));
  }
}


std::string public_key_from_private(std::string_view base64_private) {
  if (sodium_init() < 0) throw KeyFileError("libsodium failed to initialise");
  constexpr std::string_view blanks = " \t\r\n\v\f";
  const auto b = base64_private.find_first_not_of(blanks);
  if (b == std::string_view::npos) throw KeyFileError("no private key given (expected one line of base64)");
  const std::string_view text = base64_private.substr(b, base64_private.find_last_not_of(blanks) - b + 1);
  unsigned char priv[64];
  std::size_t len = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(priv, sizeof priv, text.data(), text.size(), nullptr, &len, &end,
                                   sodium_base64_VARIANT_ORIGINAL);
  if (rc != 0 || end != text.data() + text.size() || len != crypto_scalarmult_SCALARBYTES) {
    sodium_memzero(priv, sizeof priv);
    throw KeyFileError("not a private key: expected standard base64 of 32 bytes, as written by vpnhost keygen");
  }
  unsigned char pub[crypto_scalarmult_BYTES];
  crypto_scalarmult_base(pub, priv);
  sodium_memzero(priv, sizeof priv);
  std::string out(sodium_base64_ENCODED_LEN(sizeof pub, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), pub, sizeof pub, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string public_key_of_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw KeyFileError("cannot read key file " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  try {
    std::string pub = public_key_from_private(text);
    sodium_memzero(text.data(), text.size());
    return pub;
  } catch (const KeyFileError& e) {
    sodium_memzero(text.data(), text.size());
    throw KeyFileError("key file " + path.string() + ": " + e.what());
  }
}

}  // namespace vpnhost
