#include "vpnhost/counters.hpp"

#include "vpnsdk/files.hpp"

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

bool write_file_atomically(const std::string& path, const std::string& text, std::string* error) {
  // A random temporary name created O_EXCL|O_NOFOLLOW, fsync, rename: a
  // file or symlink someone planted next to the stats file is never opened.
  std::string err = vpnsdk::write_file_atomically(path, text, 0644);
  if (error != nullptr) *error = err;
  return err.empty();
}

}  // namespace vpnhost
