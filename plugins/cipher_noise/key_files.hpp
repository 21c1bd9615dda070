// Key material from the manifest: private key and pre-shared key files (one
// line of standard base64 of exactly 32 bytes, as `vpnhost keygen` writes
// them, readable by the owner only) and base64 public keys.
#pragma once
#include <unistd.h>

#include <optional>
#include <string>
#include <string_view>

#include "noise_primitives.hpp"

namespace cipher_noise {

inline constexpr std::size_t kMaxKeyFileBytes = 4096;

// Reads a 32-byte secret from the file named by option `option` (text
// `path`, relative paths resolved against `base_dir`) through the SDK's
// reader (vpnsdk/secret_file.hpp), straight into the locked arena. Throws
// vpnsdk::ConfigError naming the option, its manifest location `where` and
// the resolved path when the file is missing, unreadable, not a regular
// file, group/world accessible, not trusted (StrictModes; a file owned by
// `run_uid`, the user vpnhost runs as after setup, is trusted as one of
// root's or this user's is), empty, not base64, or not 32 bytes.
Key load_secret_file(const std::string& option, const std::string& path, const std::string& base_dir,
                     const std::string& where, uid_t run_uid = ::geteuid());

// Standard base64 of exactly 32 bytes (surrounding blanks ignored).
std::optional<PublicKey> parse_public_key(std::string_view text);

// Standard base64 with padding.
std::string to_base64(View bytes);

}  // namespace cipher_noise
