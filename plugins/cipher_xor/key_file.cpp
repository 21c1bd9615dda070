#include "key_file.hpp"

#include <limits>

#include "vpnsdk/secret_file.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_xor {

vpnsdk::SecretBytes load_key_file(const std::string& path, const std::string& base_dir, const std::string& where,
                                  uid_t run_uid) {
  // The SDK's default messages are cipher_xor's own (docs/user-guide.md quotes them).
  vpnsdk::SecretFileFormat format;
  format.min_bytes = kMinKeyBytes;
  format.max_bytes = std::numeric_limits<std::size_t>::max();
  format.max_file_bytes = kMaxKeyFileBytes;
  vpnsdk::SecretBytes key;
  if (std::string why = vpnsdk::read_secret_file("key_file", path, base_dir, where, key, format, run_uid); !why.empty())
    throw vpnsdk::ConfigError(why);
  return key;
}

}  // namespace cipher_xor
