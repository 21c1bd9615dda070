// The host's counter registry: named uint64 counters with stable addresses.
// Plugins see it through vpnsdk::Counters with their name as prefix.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vpnsdk/counters.hpp"

namespace vpnhost {

class CounterRegistry {
 public:
  std::uint64_t& get(const std::string& name);
  // Value or 0 if never registered.
  std::uint64_t value(const std::string& name) const;
  std::vector<std::pair<std::string, std::uint64_t>> snapshot() const;
  // "name value\n" per counter, sorted by name.
  std::string render() const;

 private:
  std::map<std::string, std::unique_ptr<std::uint64_t>, std::less<>> counters_;
};

// A plugin's view: every name gets "<plugin>." in front.
class PrefixedCounters final : public vpnsdk::Counters {
 public:
  PrefixedCounters(CounterRegistry& registry, std::string prefix)
      : registry_(registry), prefix_(std::move(prefix)) {}
  std::uint64_t& counter(std::string_view name) override {
    return registry_.get(prefix_ + "." + std::string(name));
  }

 private:
  CounterRegistry& registry_;
  std::string prefix_;
};

// Writes `text` to `path` atomically, mode 0644 (vpnsdk::write_file_atomically:
// a new temporary file with a random name, O_EXCL|O_NOFOLLOW, fsync, rename);
// false on error, with the reason in *error when given. Nothing is left
// behind on failure.
bool write_file_atomically(const std::string& path, const std::string& text, std::string* error = nullptr);

}  // namespace vpnhost
