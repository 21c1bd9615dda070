// Faults on command for the fake stages: a fake told to throw in a call
// (by the call's name, "send", "open", "route", ...) throws
// std::runtime_error there, for one session or for all.
#pragma once
#include <map>
#include <stdexcept>
#include <string>

#include "vpnsdk/packet.hpp"

namespace coretest {

class Faults {
 public:
  static constexpr vpnsdk::SessionId kAny = 0;

  // From now on `call` throws (for `session` only, unless kAny).
  void throw_in(const std::string& call, vpnsdk::SessionId session = kAny) { throws_[call] = session; }
  void clear() { throws_.clear(); }
  // Called by the fake at the top of `call`.
  void check(const std::string& call, vpnsdk::SessionId session = kAny) const {
    auto it = throws_.find(call);
    if (it != throws_.end() && (it->second == kAny || it->second == session))
      throw std::runtime_error("fake throws in " + call + " on purpose");
  }

 private:
  std::map<std::string, vpnsdk::SessionId> throws_;
};

}  // namespace coretest
