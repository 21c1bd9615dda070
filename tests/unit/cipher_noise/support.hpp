// Helpers shared by the cipher_noise unit tests.
#pragma once
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../../plugins/cipher_noise/noise_primitives.hpp"

namespace noise_test {

using cipher_noise::Bytes;
using cipher_noise::View;

inline Bytes unhex(const std::string& h) {
  if (h.size() % 2 != 0) throw std::invalid_argument("odd hex length");
  Bytes out(h.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(std::stoul(h.substr(2 * i, 2), nullptr, 16));
  return out;
}

inline std::string hex(View b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline Bytes text_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace noise_test
