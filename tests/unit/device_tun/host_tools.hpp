// Helpers for the device_tun tests of what it changes around the interface
// (routes, nftables, ip_forward, scripts): shell commands run in the test
// process's own (private) network namespace, a temporary directory, a
// logger whose output the test can read.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace tun_test {

// Output (stdout+stderr) of a shell command; `rc` gets its exit status.
inline std::string sh(const std::string& cmd, int* rc = nullptr) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (rc != nullptr) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

inline bool has_line(const std::string& text, const std::string& line_prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, line_prefix.size(), line_prefix) == 0) return true;
  return false;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  { std::ofstream(path, std::ios::trunc) << text; }
  ::chmod(path.c_str(), mode);
}

inline std::string ip_forward() {
  std::string v = read_file("/proc/sys/net/ipv4/ip_forward");
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

// The IPv4 routing state of this namespace, for before/after comparisons.
inline std::string routes_snapshot() { return sh("ip -4 route show table all"); }
// IPv6 routes of the main table but the kernel's own (those of a fresh
// veth appear a moment later, as its addresses settle).
inline std::string routes6_snapshot() { return sh("ip -6 route show | grep -v 'proto kernel'"); }
// The policy rules of both families.
inline std::string rules_snapshot() { return sh("ip -4 rule show; ip -6 rule show"); }

// A veth pair vhA (172.31.9.2/24, default route via 172.31.9.1) / vhB
// inside this namespace: an underlay with a gateway, and an outward
// interface for masquerade.
inline std::string make_underlay() {
  int rc = 0;
  std::string out = sh(
      "ip link add vhA type veth peer name vhB && ip addr add 172.31.9.2/24 dev vhA && ip link set vhA up && "
      "ip link set vhB up && ip route add default via 172.31.9.1 dev vhA",
      &rc);
  return rc == 0 ? std::string() : out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/device_tun_test.XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  bool empty_dir(const std::string& sub) const {
    std::error_code ec;
    auto it = std::filesystem::directory_iterator(path_ + "/" + sub, ec);
    return ec || it == std::filesystem::directory_iterator();
  }

 private:
  std::string path_;
};

// The state file device_tun keeps for `ifname` in this namespace.
inline std::string state_path(const std::string& dir, const std::string& ifname) {
  struct stat st {};
  ::stat("/proc/self/ns/net", &st);
  return dir + "/device_tun-net" + std::to_string(st.st_ino) + "-" + ifname + ".state";
}

// A logger whose lines the test reads back.
struct CapturedLog {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> logger;
  CapturedLog() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    sink->set_pattern("%l %v");
    logger = std::make_shared<spdlog::logger>("device_tun", sink);
    logger->set_level(spdlog::level::debug);
  }
  std::string str() {
    logger->flush();
    return text.str();
  }
};

}  // namespace tun_test
