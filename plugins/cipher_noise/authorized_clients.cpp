#include "authorized_clients.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "key_files.hpp"
#include "vpnsdk/files.hpp"
#include "vpnsdk/ipv4.hpp"

namespace cipher_noise {
namespace {

constexpr std::size_t kMaxAuthorizedFileBytes = 4 * 1024 * 1024;

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

bool all_zero(const PublicKey& k) {
  std::uint8_t acc = 0;
  for (auto b : k) acc |= b;
  return acc == 0;
}

}  // namespace

const AuthorizedClient* AuthorizedClients::find(const PublicKey& key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &clients_[it->second];
}

AuthorizedClients AuthorizedClients::parse(const std::string& text, const std::string& file) {
  AuthorizedClients out;
  std::map<std::string, int> names;
  std::map<std::uint32_t, int> addresses;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string at = file + ":" + std::to_string(line_no) + ": ";
    auto fail = [&](const std::string& why) { throw std::invalid_argument(at + why); };
    const auto hash = raw.find('#');
    const std::string line = hash == std::string::npos ? raw : raw.substr(0, hash);
    const auto f = fields_of(line);
    if (f.empty()) continue;
    if (f.size() < 2)
      fail("expected '<base64 public key> <name> [fixed address]', got only one field");
    if (f.size() > 3)
      fail("expected '<base64 public key> <name> [fixed address]', got " + std::to_string(f.size()) +
           " fields (a comment starts with #)");
    AuthorizedClient c;
    c.line = line_no;
    auto key = parse_public_key(f[0]);
    if (!key) fail("'" + f[0] + "' is not a public key (standard base64 of 32 bytes, as printed by vpnhost pubkey)");
    if (all_zero(*key)) fail("the all-zero public key is not a valid key");
    c.key = *key;
    if (!valid_name(f[1]))
      fail("client name '" + f[1] + "' is not valid (1-64 characters: letters, digits, . _ @ -)");
    c.name = f[1];
    if (f.size() == 3) {
      auto a = vpnsdk::ipv4::parse_address(f[2]);
      if (!a) fail("fixed address '" + f[2] + "' is not an IPv4 address such as 10.10.0.5");
      c.fixed_address = *a;
    }
    if (auto it = out.by_key_.find(c.key); it != out.by_key_.end())
      fail("duplicate public key (already listed on line " + std::to_string(out.clients_[it->second].line) +
           " for '" + out.clients_[it->second].name + "')");
    if (auto it = names.find(c.name); it != names.end())
      fail("duplicate client name '" + c.name + "' (already on line " + std::to_string(it->second) + ")");
    if (c.fixed_address) {
      if (auto it = addresses.find(*c.fixed_address); it != addresses.end())
        fail("fixed address " + f[2] + " is already given to the client on line " + std::to_string(it->second));
      addresses.emplace(*c.fixed_address, line_no);
    }
    names.emplace(c.name, line_no);
    out.by_key_.emplace(c.key, out.clients_.size());
    out.clients_.push_back(std::move(c));
  }
  return out;
}

AuthorizedClients load_authorized_clients(const std::string& path, uid_t run_uid) {
  // Opened once and checked on the descriptor: what is read is what was checked.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw std::invalid_argument("cannot read " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::invalid_argument("cannot read " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw std::invalid_argument(path + " is not a regular file");
  if ((st.st_mode & 022) != 0)
    throw std::invalid_argument(path + " is writable by group/others; anyone who can write it can authorize a key: "
                                "run chmod go-w " + path);
  // Owned by another user (or in a directory others can write): that user
  // could authorize keys.
  if (std::string why = vpnsdk::trust_problem("authorized_clients", path, st, run_uid); !why.empty())
    throw std::invalid_argument(why + " (anyone who can change it can authorize a key)");
  if (static_cast<std::uint64_t>(st.st_size) > kMaxAuthorizedFileBytes)
    throw std::invalid_argument(path + " is larger than 4 MiB");
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::invalid_argument("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxAuthorizedFileBytes) throw std::invalid_argument(path + " is larger than 4 MiB");
  }
  return AuthorizedClients::parse(text, path);
}

}  // namespace cipher_noise
