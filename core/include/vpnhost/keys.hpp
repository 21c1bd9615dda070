// Key files: random secrets stored as base64 text, readable by the owner only.
#pragma once
#include <filesystem>
#include <stdexcept>
#include <string>

namespace vpnhost {

class KeyFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `bytes` random bytes as base64 + newline to `path` with mode 0600.
// Refuses to overwrite an existing file. Throws KeyFileError.
void write_random_key(const std::filesystem::path& path, std::size_t bytes = 32);

}  // namespace vpnhost
