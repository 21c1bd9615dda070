// Reads the shared XOR key from a key file (as written by `vpnhost keygen`:
// standard base64 of random bytes, a newline, mode 0600) through the SDK's
// reader (vpnsdk/secret_file.hpp), straight into locked memory.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <string>

#include "vpnsdk/secret.hpp"

namespace cipher_xor {

inline constexpr std::size_t kMinKeyBytes = 16;
inline constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;

// `path` is the option's text; a relative path is resolved against
// `base_dir`. `where` is the option's manifest location, for messages.
// Throws vpnsdk::ConfigError naming the resolved path and `where` when the
// file is missing, unreadable, not a regular file, group/world accessible,
// not trusted (StrictModes), empty, not base64, or decodes to fewer than
// kMinKeyBytes bytes.
// A key file owned by `run_uid` (the user vpnhost runs as after setup) is trusted too.
vpnsdk::SecretBytes load_key_file(const std::string& path, const std::string& base_dir, const std::string& where,
                                  uid_t run_uid = ::geteuid());

}  // namespace cipher_xor
