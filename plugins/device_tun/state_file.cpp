#include "state_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>

#include "nft_table.hpp"
#include "vpnsdk/files.hpp"
#include "vpnsdk/ipv4.hpp"

namespace device_tun {
namespace {

std::string netns_id() {
  struct stat st {};
  if (::stat("/proc/self/ns/net", &st) != 0) return "net0";
  return "net" + std::to_string(st.st_ino);
}

bool digits(const std::string& w) {
  return !w.empty() && w.size() <= 10 && w.find_first_not_of("0123456789") == std::string::npos;
}

bool number(const std::string& w, std::uint64_t max, std::uint64_t& out) {
  if (!digits(w)) return false;
  std::uint64_t v = 0;
  for (char c : w) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v > max) return false;
  out = v;
  return true;
}

// Every value is checked as strictly as the manifest's own options are: the
// file's contents become an nft script and route and rule deletions run as
// root, so a value that device_tun could not have written refuses the whole
// file.
// "" or why (with the line number).
std::string parse(std::istream& in, const PolicyPlace& policy, State& s) {
  std::string line;
  unsigned line_no = 0;
  bool seen_pid = false, seen_forward = false, seen_table = false;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string at = "line " + std::to_string(line_no) + ": ";
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> w;
    {
      std::istringstream words(line);
      std::string word;
      while (words >> word) w.push_back(word);
    }
    if (line.find_first_of("\t\r\v\f") != std::string::npos || line.find("  ") != std::string::npos ||
        line.front() == ' ' || line.back() == ' ')
      return at + "unexpected white space";
    const std::string& key = w.front();
    auto want = [&](std::size_t n) { return w.size() == n; };
    if (key == "pid") {
      std::uint64_t pid = 0;
      if (seen_pid || !want(2) || !number(w[1], 0x7fffffff, pid) || pid == 0)
        return at + "'pid' must appear once, with a process id (1-2147483647)";
      seen_pid = true;
      s.pid = static_cast<long>(pid);
    } else if (key == "ip_forward") {
      if (seen_forward || !want(2) || (w[1] != "0" && w[1] != "1"))
        return at + "'ip_forward' must appear once, with 0 or 1";
      seen_forward = true;
      s.ip_forward = w[1];
    } else if (key == "nft_table") {
      if (seen_table || !want(2) || !valid_nft_table(w[1]))
        return at + "'nft_table' must appear once, with a table name device_tun makes (vpnhost_ and up to 15 of "
                    "a-z A-Z 0-9 _)";
      seen_table = true;
      s.nft_table = w[1];
    } else if (key == "route") {
      // dst length gateway oif table
      std::uint64_t len = 0, oif = 0, table = 0;
      auto d = want(6) ? vpnsdk::ipv4::parse_address(w[1]) : std::nullopt;
      auto g = want(6) ? vpnsdk::ipv4::parse_address(w[3]) : std::nullopt;
      if (!d || !g || vpnsdk::ipv4::to_string(*d) != w[1] || vpnsdk::ipv4::to_string(*g) != w[3] ||
          !number(w[2], 32, len) || len != 32 || !number(w[4], 0x7fffffff, oif) || oif == 0 ||
          !number(w[5], 0xffffffffu, table) || table == 0)
        // device_tun records only the host routes it keeps to the server
        // (keep_route_to): never a network, let alone a default route.
        return at + "'route' must be: route <IPv4 address> 32 <IPv4 gateway> <interface index 1-2147483647> "
                    "<table 1-4294967295>";
      Route r;
      r.dst = *d;
      r.length = static_cast<std::uint8_t>(len);
      r.gateway = *g;
      r.oif = static_cast<int>(oif);
      r.table = static_cast<std::uint32_t>(table);
      s.routes.push_back(r);
    } else if (key == "rule") {
      // family priority table to|all
      std::uint64_t priority = 0, table = 0;
      const bool shape = want(5) && (w[1] == "4" || w[1] == "6") && number(w[2], 0xffffffffu, priority) &&
                         number(w[3], 0xffffffffu, table);
      const Rule r{shape && w[1] == "6", static_cast<std::uint32_t>(priority), static_cast<std::uint32_t>(table),
                   shape && w[4] != "all" ? w[4] : ""};
      if (!shape || !is_policy_rule(policy, r))
        return at + "'rule' must be one of route_all's policy rules with route_table " +
               std::to_string(policy.table) + " and route_rule_priority " + std::to_string(policy.priority) +
               ": rule 4 " + std::to_string(policy.priority) + " 254 <IPv4 address>/32, rule 6 " +
               std::to_string(policy.priority) + " 254 fe80::/10 or ff00::/8, rule 4|6 " +
               std::to_string(policy.priority + 2) + " " + std::to_string(policy.table) + " all";
      for (const Rule& seen : s.rules)
        if (seen == r) return at + "'" + line + "' appears twice";
      s.rules.push_back(r);
    } else if (key == "unreachable6") {
      // "::/0 <route_table>": route_all's block in its own table; "::/1",
      // "8000::/1": the main table's, from versions before policy routing.
      Unreachable6 u;
      if (want(2) && (w[1] == "::/1" || w[1] == "8000::/1"))
        u = Unreachable6{w[1], 254};
      else if (want(3) && w[1] == "::/0" && w[2] == std::to_string(policy.table))
        u = ipv6_block(policy);
      else
        return at + "'unreachable6' must be ::/0 " + std::to_string(policy.table) +
               " (route_all's IPv6 block in route_table), or ::/1 or 8000::/1 (older versions')";
      for (const Unreachable6& seen : s.unreachable6)
        if (seen == u) return at + "'" + line + "' appears twice";
      s.unreachable6.push_back(u);
    } else {
      return at + "unknown item '" + key.substr(0, 32) + "'";
    }
  }
  if (in.bad()) return "cannot read it";
  if (!seen_pid) return "no 'pid' line";
  return {};
}

// Opens `path` for reading only if it is a regular file that neither another
// user nor group/others could have written (StrictModes, vpnsdk/files.hpp).
// -1 with errno ENOENT: no file; -1 with `error` set: refused.
int open_trusted(const std::string& path, uid_t run_uid, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err != ENOENT) error = "cannot open the state file " + path + ": " + std::strerror(err);
    errno = err;
    return -1;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "cannot read the state file " + path + ": " + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    error = "the state file " + path + " is not a regular file";
  } else if ((st.st_mode & 022) != 0) {
    error = "the state file " + path + " is writable by group/others (mode " + std::to_string((st.st_mode >> 6) & 7) +
            std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
            "), so anyone could have written what it says: run chmod go-w " + path + " after checking it";
  } else {
    error = vpnsdk::trust_problem("the state file", path, st, run_uid);
  }
  if (!error.empty()) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The whole file (at most 64 KiB: device_tun writes a few lines).
bool read_all(int fd, std::string& out) {
  out.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 65536) return false;
  }
}

// "" with `s` filled, or why the file at `path` is refused.
std::string load_file(const std::string& path, uid_t run_uid, const PolicyPlace& policy, State& s, bool& exists) {
  std::string error;
  exists = true;
  const int fd = open_trusted(path, run_uid, error);
  if (fd < 0) {
    exists = !error.empty();
    return error;
  }
  std::string text;
  const bool ok = read_all(fd, text);
  ::close(fd);
  if (!ok) return "cannot read the state file " + path + " (unreadable or larger than 64 KiB)";
  std::istringstream in(text);
  if (std::string why = parse(in, policy, s); !why.empty()) return "the state file " + path + " is not valid: " + why;
  return {};
}

}  // namespace

bool valid_nft_table(const std::string& name) {
  static const std::string kPrefix = "vpnhost_";
  if (name.size() <= kPrefix.size() || name.size() > kPrefix.size() + 15) return false;
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  for (char c : name.substr(kPrefix.size()))
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

namespace {

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

std::string prepare_state_dir(const std::string& dir, uid_t uid, gid_t gid) {
  struct stat st {};
  const bool existed = ::stat(dir.c_str(), &st) == 0;
  if (!existed) {
    if (int err = make_dirs(dir); err != 0) return "cannot create the state directory " + dir + ": " + std::strerror(err);
    if (::chown(dir.c_str(), uid, gid) != 0)
      return "cannot hand the state directory " + dir + " to uid " + std::to_string(uid) + ": " + std::strerror(errno);
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return "state_dir " + dir + " is not a directory";
  if (st.st_uid == uid && (st.st_mode & S_IWUSR) != 0) return {};
  return "state_dir " + dir + " is owned by " + (st.st_uid == 0 ? std::string("root") : "uid " + std::to_string(st.st_uid)) +
         ", but after setup vpnhost runs as uid " + std::to_string(uid) +
         " ([host] user), which must write the crash-recovery state there: run chown " + std::to_string(uid) + ":" +
         std::to_string(gid) + " " + dir + ", or set state_dir to a directory of that user (it is created if missing)";
}

StateFile::StateFile(std::string dir, const std::string& ifname, uid_t run_uid, const PolicyPlace& policy)
    : dir_(std::move(dir)),
      run_uid_(run_uid),
      prefix_("device_tun-" + netns_id() + "-"),
      table_(nft_table_name(ifname)),
      policy_(policy) {
  path_ = dir_ + "/" + prefix_ + ifname + ".state";
}

std::optional<State> StateFile::load(std::string& error) const {
  State s;
  bool exists = false;
  error = load_file(path_, run_uid_, policy_, s, exists);
  if (!exists) return std::nullopt;
  if (error.empty() && !s.nft_table.empty() && s.nft_table != table_)
    error = "the state file " + path_ + " is not valid: it names the nftables table " + s.nft_table +
            ", but this device's table is " + table_;
  if (!error.empty()) return State{};
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
  for (const Rule& r : s.rules)
    out << "rule " << (r.ipv6 ? 6 : 4) << " " << r.priority << " " << r.table << " " << (r.to.empty() ? "all" : r.to)
        << "\n";
  for (const Unreachable6& u : s.unreachable6)
    out << "unreachable6 " << u.prefix << (u.table == 254 ? "" : " " + std::to_string(u.table)) << "\n";
  // A random temporary name, O_EXCL|O_NOFOLLOW: nothing planted in state_dir
  // is written through.
  if (std::string err = vpnsdk::write_file_atomically(path_, out.str(), 0644); !err.empty())
    return "cannot write the state file: " + err;
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
    State s;
    bool exists = false;
    if (load_file(path, run_uid_, policy_, s, exists).empty() && alive(s.pid)) out.push_back(std::move(s));
  }
  ::closedir(d);
  return out;
}

}  // namespace device_tun
