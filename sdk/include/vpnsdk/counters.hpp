// Named counters a plugin registers with the host; the host prints them on
// request and at exit. Single-threaded, like the event loop.
#pragma once
#include <cstdint>
#include <string_view>

namespace vpnsdk {

class Counters {
 public:
  // A counter named "<plugin>.<name>"; the reference stays valid for the
  // plugin's lifetime. Registering the same name twice returns the same one.
  virtual std::uint64_t& counter(std::string_view name) = 0;

 protected:
  ~Counters() = default;
};

}  // namespace vpnsdk
