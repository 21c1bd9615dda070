// Test helpers: a private temporary directory and key files in it.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace xor_test {

// Standard base64 with padding (RFC 4648), written independently of libsodium.
inline std::string base64(const std::vector<std::uint8_t>& in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += abc[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out += abc[(v >> 18) & 63];
    out += abc[(v >> 12) & 63];
    out += abc[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xorkey.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to <dir>/<name> with `mode`; returns the full path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const auto p = path_ / name;
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f << text;
      if (!f) throw std::runtime_error("cannot write " + p.string());
    }
    if (::chmod(p.c_str(), mode) != 0) throw std::runtime_error("chmod failed");
    return p.string();
  }
  // A key file as `vpnhost keygen` writes it: base64, newline, mode 0600.
  std::string write_key(const std::string& name, const std::vector<std::uint8_t>& key) const {
    return write(name, base64(key) + "\n");
  }

 private:
  std::filesystem::path path_;
};

}  // namespace xor_test
