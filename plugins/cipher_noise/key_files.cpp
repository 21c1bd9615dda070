#include "key_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "vpnsdk/files.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_noise {
namespace {

// Closes the descriptor and wipes what it read, whatever happens.
struct SecretText {
  int fd = -1;
  std::string text;
  ~SecretText() {
    if (fd >= 0) ::close(fd);
    if (!text.empty()) sodium_memzero(text.data(), text.size());
  }
};

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string_view trim_blanks(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Decodes standard base64 into exactly out.size() bytes; false otherwise.
bool decode_exact(std::string_view b64, std::uint8_t* out, std::size_t want) {
  std::uint8_t buf[64];
  std::size_t len = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(buf, sizeof buf, b64.data(), b64.size(), nullptr, &len, &end,
                                   sodium_base64_VARIANT_ORIGINAL);
  const bool ok = rc == 0 && end == b64.data() + b64.size() && len == want;
  if (ok) std::memcpy(out, buf, want);
  sodium_memzero(buf, sizeof buf);
  return ok;
}

}  // namespace

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

Key load_secret_file(const std::string& option, const std::string& path, const std::string& base_dir,
                     const std::string& where, uid_t run_uid) {
  const std::string prefix = "option " + option + " at " + where + ": ";
  auto fail = [&](const std::string& msg) { throw vpnsdk::ConfigError(prefix + msg); };
  if (path.empty()) fail("empty; give the path of a key file (make one with: vpnhost keygen FILE)");
  const std::string shown = resolve_path(path, base_dir);

  SecretText t;
  t.fd = ::open(shown.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (t.fd < 0) fail("cannot read key file " + shown + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(t.fd, &st) != 0) fail("cannot read key file " + shown + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("key file " + shown + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    fail("key file " + shown + " is accessible by group/others (mode " + mode_text(st.st_mode) +
         "); a private key must be readable by its owner only: run chmod 600 " + shown);
  if (static_cast<std::uint64_t>(st.st_size) > kMaxKeyFileBytes)
    fail("key file " + shown + " is too large (a key file holds one line of base64)");
  if (std::string why = vpnsdk::trust_problem("key file", shown, st, run_uid); !why.empty()) fail(why);

  t.text.resize(kMaxKeyFileBytes + 1);
  std::size_t got = 0;
  while (got < t.text.size()) {
    const ssize_t n = ::read(t.fd, t.text.data() + got, t.text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read key file " + shown + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxKeyFileBytes) fail("key file " + shown + " is too large (a key file holds one line of base64)");
  const std::string_view b64 = trim_blanks(std::string_view(t.text.data(), got));
  if (b64.empty()) fail("key file " + shown + " is empty (make a key with: vpnhost keygen FILE)");
  Key key;
  if (!decode_exact(b64, key.data(), key.size()))
    fail("key file " + shown + " does not hold a 32-byte key in standard base64 (as written by vpnhost keygen)");
  return key;
}

std::optional<PublicKey> parse_public_key(std::string_view text) {
  const std::string_view b64 = trim_blanks(text);
  if (b64.empty() || b64.size() > 64) return std::nullopt;
  PublicKey k{};
  if (!decode_exact(b64, k.data(), k.size())) return std::nullopt;
  return k;
}

std::string to_base64(View bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace cipher_noise
