// Reading and writing /proc/sys values of this process's network namespace.
#pragma once
#include <string>

namespace device_tun {

inline constexpr const char* kIpForward = "/proc/sys/net/ipv4/ip_forward";

// 0 or an errno; `value` without the trailing newline.
int read_sysctl(const std::string& path, std::string& value);
int write_sysctl(const std::string& path, const std::string& value);

}  // namespace device_tun
