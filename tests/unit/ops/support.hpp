// Helpers for the operations tests: a sample snapshot, a temp dir, and a
// validator for the Prometheus text format.
#pragma once
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "vpnhost/ops.hpp"

namespace opstest {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    // Short (UNIX socket paths are limited to 107 bytes).
    std::string tmpl = "/tmp/vhops.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline vpnhost::StatusSnapshot sample_snapshot() {
  vpnhost::StatusSnapshot s;
  s.version = "0.1.0";
  s.manifest = "/etc/vpnhost/server.manifest";
  s.pid = 4242;
  s.uptime_seconds = 3725.5;
  s.now = 1700000000;
  s.stages = {{"transport", "transport", "transport_tcp"},
              {"cipher", "cipher", "cipher_xor"},
              {"router", "router", "router_hub"},
              {"responder", "responder #1", "responder_icmp_echo"}};
  vpnhost::SessionSnapshot a;
  a.id = 3;
  a.address = "10.10.0.2";
  a.prefix_len = 24;
  a.peer = "172.31.1.2:40001";
  a.role = "responder";
  a.state = "established";
  a.name = "alice \"the admin\"";
  a.connected_seconds = 65.25;
  a.connected_since = 1699999935;
  a.last_rx_seconds = 0.5;
  a.last_tx_seconds = 1.25;
  a.rx_packets = 10;
  a.rx_bytes = 840;
  a.tx_packets = 12;
  a.tx_bytes = 2048;
  a.drops = 1;
  vpnhost::SessionSnapshot b;
  b.id = 7;
  b.peer = "172.31.2.2:40002";
  b.role = "responder";
  b.state = "handshaking";
  s.sessions = {a, b};
  s.counters = {{"cipher_xor.frames_sealed", 30},
                {"drop.no_route", 4},
                {"drop.session_timeout", 1},
                {"host.rx_packets", 10},
                {"host.sessions_active", 99},  // stale in the registry: the snapshot has 2 sessions
                {"host.sessions_opened", 5},
                {"mystery.thing", 2},
                {"responder_icmp_echo.echo_replies", 8},
                {"transport_tcp.frames-in", 50}};
  return s;
}

// python3 parses `json`; returns its verdict (the empty string = valid), or
// "no python3" when it is not installed.
inline std::string python_json_check(const std::string& json, const std::string& expr = "True") {
  TempDir d;
  const fs::path in = d / "in.json", script = d / "check.py";
  auto write = [](const fs::path& f, const std::string& text) {
    FILE* out = std::fopen(f.c_str(), "wb");
    if (out == nullptr) throw std::runtime_error("cannot write temp file");
    std::fwrite(text.data(), 1, text.size(), out);
    std::fclose(out);
  };
  write(in, json);
  write(script, "import json, sys\nd = json.load(open(sys.argv[1], encoding='utf-8'))\nsys.exit(0 if (" + expr +
                    ") else 3)\n");
  const std::string cmd = "python3 " + script.string() + " " + in.string() + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "cannot run python3";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  if (rc == 0) return "";
  if (WEXITSTATUS(rc) == 127) return "no python3";
  if (WEXITSTATUS(rc) == 3) return "expression false: " + expr;
  return out.empty() ? "python3 failed" : out;
}

// Checks the Prometheus text format 0.0.4 rules a scraper (and promtool)
// relies on; returns the problems found (empty = valid).
inline std::vector<std::string> exposition_problems(const std::string& text) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$)");
  static const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex help_line(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  std::vector<std::string> problems;
  std::map<std::string, std::string> types;
  std::set<std::string> finished, series;
  std::string current;
  std::istringstream in(text);
  if (text.empty() || text.back() != '\n') problems.push_back("does not end with a newline");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, type_line)) {
      const std::string name = m[1];
      if (types.count(name)) problems.push_back("second TYPE for " + name);
      types[name] = m[2];
      if (!current.empty() && current != name) finished.insert(current);
      current = name;
      continue;
    }
    if (std::regex_match(line, m, help_line)) continue;
    if (!std::regex_match(line, m, sample)) {
      problems.push_back("not a sample line: " + line);
      continue;
    }
    const std::string name = m[1];
    if (!types.count(name)) problems.push_back("sample before its TYPE: " + line);
    if (finished.count(name)) problems.push_back("family " + name + " is not contiguous");
    if (types[name] == "counter" && !name.ends_with("_total")) problems.push_back("counter without _total: " + name);
    if (!series.insert(name + std::string(m[2])).second) problems.push_back("duplicate series: " + line);
    if (!current.empty() && current != name) {
      finished.insert(current);
      current = name;
    }
  }
  return problems;
}

}  // namespace opstest
