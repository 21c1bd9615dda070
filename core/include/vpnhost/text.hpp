// Small helpers for human-readable messages.
#pragma once
#include <string>

namespace vpnhost {

// "an integer", "a string", "an array of strings".
inline std::string with_article(const std::string& noun) {
  const bool vowel = !noun.empty() && std::string("aeiou").find(noun[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + noun;
}

}  // namespace vpnhost
