// Key files: random secrets stored as base64 text, readable by the owner only.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vpnhost {

class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `bytes` random bytes as base64 + newline to `path` with mode 0600.
// Refuses to overwrite an existing file. Throws KeyFileError.
void write_random_key(const std::filesystem::path& path, std::size_t bytes = 32);

// The X25519 public key, as standard base64, of a private key given as
// standard base64 text of 32 bytes (surrounding blanks ignored). A key file
// written by write_random_key() is such a private key (cipher_noise).
// Throws KeyFileError when the text is not base64 of exactly 32 bytes.
std::string public_key_from_private(std::string_view base64_private);

// public_key_from_private() of the file at `path`. Throws KeyFileError.
std::string public_key_of_file(const std::filesystem::path& path);

}  // namespace vpnhost
