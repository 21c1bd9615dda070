// Which counters moved, and by how much, since a mark: tests assert the
// exact set (docs/testing.md: counters by exact name and delta).
#pragma once
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "vpnhost/counters.hpp"

namespace coretest {

using Moved = std::map<std::string, long long>;

class CounterDiff {
 public:
  explicit CounterDiff(const vpnhost::CounterRegistry& counters) : counters_(counters) { mark(); }
  void mark() {
    before_.clear();
    for (const auto& [name, value] : counters_.snapshot()) before_[name] = value;
  }
  // Every counter whose value differs from the mark, with the difference.
  Moved moved() const {
    Moved out;
    for (const auto& [name, value] : counters_.snapshot()) {
      auto it = before_.find(name);
      const long long delta = static_cast<long long>(value) - (it == before_.end() ? 0LL : static_cast<long long>(it->second));
      if (delta != 0) out[name] = delta;
    }
    return out;
  }

 private:
  const vpnhost::CounterRegistry& counters_;
  std::map<std::string, std::uint64_t> before_;
};

}  // namespace coretest

// "{ drop.auth: 2, host.rx_packets: 1 }" in Catch's messages.
template <>
struct Catch::StringMaker<coretest::Moved> {
  static std::string convert(const coretest::Moved& m) {
    std::string out = "{";
    for (const auto& [name, delta] : m) out += (out.size() > 1 ? ", " : " ") + name + ": " + std::to_string(delta);
    return out + " }";
  }
};
