#include "state_file.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "vpnsdk/ipv4.hpp"

namespace device_tun {
namespace {

std::string netns_id() {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0) return "net0";
  return "net" + std::to_string(st.st_ino);
}

bool parse(std::istream& in, State& s) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "pid") {
      words >> s.pid;
    } else if (key == "ip_forward") {
      std::string v;
      words >> v;
      s.ip_forward = v;
    } else if (key == "nft_table") {
      words >> s.nft_table;
    } else if (key == "route") {
      std::string dst, gw;
      unsigned len = 0, table = 0;
      int oif = 0;
      words >> dst >> len >> gw >> oif >> table;
      auto d = vpnsdk::ipv4::parse_address(dst);
      auto g = vpnsdk::ipv4::parse_address(gw);
      if (!d || !g || len > 32) return false;
      Route r;
      r.dst = *d;
      r.length = static_cast<std::uint8_t>(len);
      r.gateway = *g;
      r.oif = oif;
      r.table = table;
      s.routes.push_back(r);
    } else if (key == "unreachable6") {
      std::string prefix;
      words >> prefix;
      s.unreachable6.push_back(prefix);
    } else {
      return false;
    }
    if (words.fail()) return false;
  }
  return true;
}

bool alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

// mkdir -p, mode 0755.
int make_dirs(const std::string& dir) {
  std::string sofar;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    sofar = dir.substr(0, pos);
    if (sofar.empty()) continue;
    if (::mkdir(sofar.c_str(), 0755) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

}  // namespace

StateFile::StateFile(std::string dir, const std::string& ifname)
    : dir_(std::move(dir)), prefix_("device_tun-" + netns_id() + "-") {
  path_ = dir_ + "/" + prefix_ + ifname + ".state";
}

std::optional<State> StateFile::load(std::string& error) const {
  std::ifstream in(path_);
  if (!in) return std::nullopt;
  State s;
  if (!parse(in, s)) {
    error = "cannot read the state file " + path_ + " (not written by device_tun?)";
    return State{};
  }
  return s;
}

std::string StateFile::save(const State& s) const {
  if (int err = make_dirs(dir_); err != 0)
    return "cannot create the state directory " + dir_ + ": " + std::strerror(err);
  std::ostringstream out;
  out << "# device_tun state (docs/gateway.md): what to undo if this vpnhost dies\n";
  out << "pid " << s.pid << "\n";
  if (s.ip_forward) out << "ip_forward " << *s.ip_forward << "\n";
  if (!s.nft_table.empty()) out << "nft_table " << s.nft_table << "\n";
  for (const Route& r : s.routes)
    out << "route " << vpnsdk::ipv4::to_string(r.dst) << " " << unsigned(r.length) << " "
        << vpnsdk::ipv4::to_string(r.gateway) << " " << r.oif << " " << r.table << "\n";
  for (const std::string& p : s.unreachable6) out << "unreachable6 " << p << "\n";
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << out.str();
    f.flush();
    if (!f) return "cannot write the state file " + tmp + ": " + std::strerror(errno);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return "cannot write the state file " + path_ + ": " + std::strerror(err);
  }
  return {};
}

void StateFile::remove() const noexcept { ::unlink(path_.c_str()); }

std::vector<State> StateFile::others_alive() const {
  std::vector<State> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix_.size(), prefix_) != 0) continue;
    if (name.size() < 6 || name.compare(name.size() - 6, 6, ".state") != 0) continue;
    const std::string path = dir_ + "/" + name;
    if (path == path_) continue;
    std::ifstream in(path);
    State s;
    if (in && parse(in, s) && alive(s.pid)) out.push_back(std::move(s));
  }
  ::closedir(d);
  return out;
}

}  // namespace device_tun
