#include "key_files.hpp"

#include <cstring>

#include "vpnsdk/secret_file.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_noise {
namespace {

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

// The messages cipher_noise has always given (tests and docs quote them).
constexpr vpnsdk::SecretFileFormat kKeyFile{
    .min_bytes = kKeyLen,
    .max_bytes = kKeyLen,
    .max_file_bytes = kMaxKeyFileBytes,
    .empty_option = "empty; give the path of a key file (make one with: vpnhost keygen FILE)",
    .group_access = "key file {path} is accessible by group/others (mode {mode}); a private key must be readable by "
                    "its owner only: run chmod 600 {path}",
    .too_large = "key file {path} is too large (a key file holds one line of base64)",
    .empty = "key file {path} is empty (make a key with: vpnhost keygen FILE)",
    .not_base64 = "key file {path} does not hold a 32-byte key in standard base64 (as written by vpnhost keygen)",
    .wrong_length = "key file {path} does not hold a 32-byte key in standard base64 (as written by vpnhost keygen)",
};

}  // namespace

Key load_secret_file(const std::string& option, const std::string& path, const std::string& base_dir,
                     const std::string& where, uid_t run_uid) {
  vpnsdk::SecretBytes bytes;
  if (std::string why = vpnsdk::read_secret_file(option, path, base_dir, where, bytes, kKeyFile, run_uid); !why.empty())
    throw vpnsdk::ConfigError(why);
  return Key(bytes.view());
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
