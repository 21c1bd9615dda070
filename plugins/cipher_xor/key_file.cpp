#include "key_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "vpnsdk/files.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_xor {
namespace {

// Closes the descriptor and wipes the buffer it read, whatever happens.
struct KeyText {
  int fd = -1;
  std::string text;
  ~KeyText() {
    if (fd >= 0) ::close(fd);
    if (!text.empty()) sodium_memzero(text.data(), text.size());
  }
};

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

const char* who_may(mode_t mode) {
  const bool r = (mode & 044) != 0;
  const bool w = (mode & 022) != 0;
  if (r && w) return "readable and writable";
  if (r) return "readable";
  if (w) return "writable";
  return "accessible";
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::uint8_t> load_key_file(const std::string& path, const std::string& base_dir,
                                        const std::string& where) {
  const std::string prefix = "option key_file at " + where + ": ";
  auto fail = [&](const std::string& msg) { throw vpnsdk::ConfigError(prefix + msg); };
  if (path.empty()) fail("key_file is empty; give the path of a key file (make one with: vpnhost keygen FILE)");

  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  const std::string shown = p.lexically_normal().string();

  KeyText k;
  k.fd = ::open(shown.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (k.fd < 0) fail("cannot read key file " + shown + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(k.fd, &st) != 0) fail("cannot read key file " + shown + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("key file " + shown + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    fail("key file " + shown + " is " + who_may(st.st_mode) + " by group/others (mode " + octal_mode(st.st_mode) +
         "); run: chmod 600 " + shown);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxKeyFileBytes)
    fail("key file " + shown + " is too large (" + std::to_string(st.st_size) + " bytes; a key file holds one line of base64)");
  if (std::string why = vpnsdk::trust_problem("key file", shown, st); !why.empty()) fail(why);

  k.text.resize(kMaxKeyFileBytes + 1);
  std::size_t got = 0;
  while (got < k.text.size()) {
    const ssize_t n = ::read(k.fd, k.text.data() + got, k.text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read key file " + shown + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxKeyFileBytes)
    fail("key file " + shown + " is too large (a key file holds one line of base64)");

  const std::string_view b64 = trim(std::string_view(k.text.data(), got));
  if (b64.empty()) fail("key file " + shown + " is empty (make a new key with: vpnhost keygen NEWFILE, then point key_file at it)");

  std::vector<std::uint8_t> key(b64.size() / 4 * 3 + 3);
  std::size_t key_len = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(key.data(), key.size(), b64.data(), b64.size(), nullptr, &key_len, &end,
                                   sodium_base64_VARIANT_ORIGINAL);
  if (rc != 0 || end != b64.data() + b64.size()) {
    sodium_memzero(key.data(), key.size());
    fail("key file " + shown + " is not valid base64 (expected one line of standard base64, as written by vpnhost keygen)");
  }
  if (key_len < kMinKeyBytes) {
    sodium_memzero(key.data(), key.size());
    fail("key file " + shown + " holds a " + std::to_string(key_len) + "-byte key; at least " +
         std::to_string(kMinKeyBytes) + " bytes are needed (make a new key with: vpnhost keygen NEWFILE)");
  }
  sodium_memzero(key.data() + key_len, key.size() - key_len);
  key.resize(key_len);
  return key;
}

}  // namespace cipher_xor
