#include "vpnhost/counters.hpp"

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace vpnhost {

std::uint64_t& CounterRegistry::get(const std::string& name) {
  auto it = counters_.find(name);
  if (it == counters_.end()) it = counters_.emplace(name, std::make_unique<std::uint64_t>(0)).first;
  return *it->second;
}

std::uint64_t CounterRegistry::value(const std::string& name) const {
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : *it->second;
}

std::vector<std::pair<std::string, std::uint64_t>> CounterRegistry::snapshot() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  out.reserve(counters_.size());
  for (const auto& [name, v] : counters_) out.emplace_back(name, *v);
  return out;
}

std::string CounterRegistry::render() const {
  std::string out;
  for (const auto& [name, v] : counters_) out += name + " " + std::to_string(*v) + "\n";
  return out;
}

bool write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  bool written = false;
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return false;
    f << text;
    f.flush();
    written = static_cast<bool>(f);
  }
  if (written && std::rename(tmp.c_str(), path.c_str()) == 0) return true;
  std::remove(tmp.c_str());  // never leave the temporary behind
  return false;
}

}  // namespace vpnhost
