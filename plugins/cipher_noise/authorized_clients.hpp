// The server's authorized_clients file: one client per line,
//
//   <base64 public key> <name> [fixed tunnel address]
//
// '#' starts a comment (to the end of the line); blank lines are ignored.
// Names are 1-64 characters of [A-Za-z0-9._@-]. Every problem is refused
// with "file:line: what": malformed keys, bad names or addresses, extra
// fields, and any duplicate key, name or fixed address.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "noise_primitives.hpp"

namespace cipher_noise {

struct AuthorizedClient {
  PublicKey key{};
  std::string name;
  std::optional<std::uint32_t> fixed_address;  // host byte order
  int line = 0;
};

class AuthorizedClients {
 public:
  const AuthorizedClient* find(const PublicKey& key) const;
  const std::vector<AuthorizedClient>& all() const { return clients_; }
  std::size_t size() const { return clients_.size(); }

  // Parses `text` (named `file` in messages). Throws std::invalid_argument
  // with "file:line: ..." on the first problem.
  static AuthorizedClients parse(const std::string& text, const std::string& file);

 private:
  std::vector<AuthorizedClient> clients_;
  std::map<PublicKey, std::size_t> by_key_;
};

// Reads and parses the file at `path` (already resolved). Throws
// std::invalid_argument for problems in the file; refuses a file that
// group/others may write (anyone who can write it can authorize a key).
AuthorizedClients load_authorized_clients(const std::string& path, uid_t run_uid = ::geteuid());

}  // namespace cipher_noise
