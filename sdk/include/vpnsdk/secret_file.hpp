// One reader for secret files (SDK ABI 1.4): a key or pre-shared key file
// read through the checks every stock plugin applies, straight into locked
// memory (vpnsdk/secret.hpp); the file's text is read into the arena too.
//
// The file must be a regular file, with no group or other permission bits
// at all, no larger than max_file_bytes, and trusted (trust_problem in
// vpnsdk/files.hpp: owned by root or this user, no directory above it that
// another user could change). Its text is one line of standard base64
// (RFC 4648 with padding, as `vpnhost keygen` writes it), blanks around it
// (space, tab, CR, LF, VT, FF) ignored: the only form the stock plugins
// have ever accepted (no hex, no raw bytes).
//
// Every message names the resolved path and the fix. The few that plugins
// word their own way are templates in SecretFileFormat, filled in with
// {option} the option's name, {path} the resolved path, {mode} e.g. 0644,
// {access} readable / writable / readable and writable, {size} the file's
// bytes, {bytes} the bytes decoded, {min} and {max} the accepted lengths.
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vpnsdk/files.hpp"
#include "vpnsdk/secret.hpp"

namespace vpnsdk {

struct SecretFileFormat {
  std::size_t min_bytes = 32;          // decoded length accepted
  std::size_t max_bytes = 32;
  std::size_t max_file_bytes = 4096;
  const char* empty_option = "{option} is empty; give the path of a key file (make one with: vpnhost keygen FILE)";
  const char* group_access = "key file {path} is {access} by group/others (mode {mode}); run: chmod 600 {path}";
  const char* too_large = "key file {path} is too large ({size} bytes; a key file holds one line of base64)";
  const char* empty =
      "key file {path} is empty (make a new key with: vpnhost keygen NEWFILE, then point {option} at it)";
  const char* not_base64 =
      "key file {path} is not valid base64 (expected one line of standard base64, as written by vpnhost keygen)";
  const char* wrong_length =
      "key file {path} holds a {bytes}-byte key; at least {min} bytes are needed (make a new key with: vpnhost "
      "keygen NEWFILE)";
};

namespace secret_file_detail {

using Fields = std::vector<std::pair<std::string_view, std::string>>;

inline std::string fill(std::string_view tmpl, const Fields& fields) {
  std::string out;
  std::size_t at = 0;
  while (at < tmpl.size()) {
    const std::size_t open = tmpl.find('{', at);
    const std::size_t close = open == std::string_view::npos ? open : tmpl.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(tmpl, at, open - at);
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    bool known = false;
    for (const auto& [k, v] : fields)
      if (k == name) {
        out += v;
        known = true;
      }
    if (!known) out.append(tmpl, open, close - open + 1);
    at = close + 1;
  }
  out.append(tmpl.substr(std::min(at, tmpl.size())));
  return out;
}

inline const char* access_of(mode_t mode) {
  const bool r = (mode & 044) != 0;
  const bool w = (mode & 022) != 0;
  if (r && w) return "readable and writable";
  if (r) return "readable";
  if (w) return "writable";
  return "accessible";
}

inline std::string_view trim_blanks(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// 0xff where a == b, else 0 (no branch on secret text).
inline unsigned eq_mask(unsigned a, unsigned b) { return ((((a ^ b) & 0xffu) - 1u) >> 8) & 0xffu; }
inline unsigned lt_mask(unsigned a, unsigned b) { return ((a - b) >> 8) & 0xffu; }  // a, b < 256

// The 6-bit value of a standard base64 character, or 0xff.
inline unsigned b64_value(unsigned char c) {
  const unsigned x = c;
  const unsigned upper = lt_mask(x, 'Z' + 1) & ~lt_mask(x, 'A') & 0xffu;
  const unsigned lower = lt_mask(x, 'z' + 1) & ~lt_mask(x, 'a') & 0xffu;
  const unsigned digit = lt_mask(x, '9' + 1) & ~lt_mask(x, '0') & 0xffu;
  const unsigned v = (upper & (x - 'A')) | (lower & (x - 'a' + 26)) | (digit & (x - '0' + 52)) |
                     (eq_mask(x, '+') & 62u) | (eq_mask(x, '/') & 63u);
  const unsigned valid = upper | lower | digit | eq_mask(x, '+') | eq_mask(x, '/');
  return (v & valid) | (~valid & 0xffu);
}

}  // namespace secret_file_detail

// Standard base64 with padding, strictly (as libsodium's
// sodium_base642bin with sodium_base64_VARIANT_ORIGINAL): a multiple of 4
// characters, '=' only as the last one or two, unused bits zero. True and
// the bytes in `out`; false (and `out` empty) otherwise.
inline bool decode_base64(std::string_view text, SecretBytes& out) {
  using secret_file_detail::b64_value;
  out = SecretBytes();
  if (text.empty() || text.size() % 4 != 0) return false;
  const std::size_t pad = text.back() != '=' ? 0 : text[text.size() - 2] == '=' ? 2 : 1;
  SecretBytes bytes(text.size() / 4 * 3 - pad);
  unsigned bad = 0, acc = 0, bits = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size() - pad; ++i) {
    const unsigned v = b64_value(static_cast<unsigned char>(text[i]));
    bad |= v == 0xff ? 1u : 0u;
    acc = ((acc << 6) | (v & 63u)) & 0xfffu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.data()[n++] = static_cast<std::uint8_t>(acc >> bits);
    }
  }
  bad |= (acc & ((1u << bits) - 1u)) != 0 ? 1u : 0u;  // the unused bits of the last character
  acc = 0;
  if (bad != 0 || n != bytes.size()) return false;
  out = std::move(bytes);
  return true;
}

// Reads the secret in the file named by option `option` (its text `path`;
// relative to `base_dir`; given at `where`, e.g. "m.manifest:7:1"). Returns
// "" with the secret in `out`, or "option OPTION at WHERE: <what is wrong>"
// with `out` empty. Nothing of the file stays outside the arena.
inline std::string read_secret_file(const std::string& option, const std::string& path, const std::string& base_dir,
                                    const std::string& where, SecretBytes& out, const SecretFileFormat& f = {},
                                    uid_t run_uid = ::geteuid()) {
  using secret_file_detail::fill;
  out = SecretBytes();
  const std::string prefix = "option " + option + " at " + where + ": ";
  if (path.empty()) return prefix + fill(f.empty_option, {{"option", option}});
  const std::string shown = resolve_path(path, base_dir);
  auto message = [&](const char* tmpl, secret_file_detail::Fields fields = {}) {
    fields.emplace_back("option", option);
    fields.emplace_back("path", shown);
    return prefix + fill(tmpl, fields);
  };
  auto os_error = [&](int err) { return prefix + "cannot read key file " + shown + ": " + std::strerror(err); };

  const int fd = ::open(shown.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return os_error(errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return os_error(errno);
  if (!S_ISREG(st.st_mode)) return prefix + "key file " + shown + " is not a regular file";
  if ((st.st_mode & 077) != 0)
    return message(f.group_access, {{"mode", files_detail::octal(st.st_mode)},
                                    {"access", secret_file_detail::access_of(st.st_mode)}});
  if (static_cast<std::uint64_t>(st.st_size) > f.max_file_bytes)
    return message(f.too_large, {{"size", std::to_string(st.st_size)}});
  if (std::string why = trust_problem("key file", shown, st, run_uid); !why.empty()) return prefix + why;

  // Read what fstat promised and one more byte (a file that grew is read on, up to the limit).
  SecretBytes text(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > f.max_file_bytes) break;
      SecretBytes bigger(std::min(text.size() * 2, f.max_file_bytes + 1));
      std::memcpy(bigger.data(), text.data(), got);
      text = std::move(bigger);
    }
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error(errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > f.max_file_bytes) return message(f.too_large, {{"size", std::to_string(got)}});
  const std::string_view b64 =
      secret_file_detail::trim_blanks(std::string_view(reinterpret_cast<const char*>(text.data()), got));
  if (b64.empty()) return message(f.empty);
  SecretBytes key;
  if (!decode_base64(b64, key)) return message(f.not_base64);
  if (key.size() < f.min_bytes || key.size() > f.max_bytes)
    return message(f.wrong_length, {{"bytes", std::to_string(key.size())},
                                    {"min", std::to_string(f.min_bytes)},
                                    {"max", std::to_string(f.max_bytes)}});
  out = std::move(key);
  return {};
}

}  // namespace vpnsdk
