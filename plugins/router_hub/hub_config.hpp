// router_hub's options, parsed and validated once at construction.
#pragma once
#include <cstdint>
#include <vector>

#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/options.hpp"

namespace router_hub {

struct HubConfig {
  vpnsdk::ipv4::Prefix network;
  std::uint32_t server = 0;
  std::uint32_t pool_start = 0;  // inclusive
  std::uint32_t pool_end = 0;    // inclusive
  std::uint16_t mtu = 0;  // 0: the host's derived tunnel MTU rules; else an upper bound for it
  std::vector<std::uint32_t> dns;
};

// The largest network the pool serves (its table is indexed by host offset).
inline constexpr std::uint8_t kMinPrefixLen = 16;
inline constexpr std::uint8_t kMaxPrefixLen = 30;  // room for server + one client

// Throws vpnsdk::ConfigError naming the option and where it was given.
HubConfig parse_hub_config(const vpnsdk::Options& opts);

}  // namespace router_hub
