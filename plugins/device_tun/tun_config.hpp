// device_tun's options, parsed and validated once at construction.
#pragma once
#include <cstdint>
#include <string>

#include "vpnsdk/options.hpp"

namespace device_tun {

struct TunConfig {
  std::string name = "vpn%d";  // "%d": the kernel picks the number
  std::uint16_t mtu = 0;       // 0: the assignment's MTU
  int txqueuelen = 500;
};

// Throws vpnsdk::ConfigError naming the option and where it was given.
TunConfig parse_tun_config(const vpnsdk::Options& opts);

}  // namespace device_tun
