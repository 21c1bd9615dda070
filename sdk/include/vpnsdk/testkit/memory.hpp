// What the kernel says about memory, for tests that keys are where they
// should be (vpnsdk/secret.hpp): the flags of the mapping that holds an
// address (/proc/self/smaps: "lo" locked, "dd" left out of core dumps) and
// the process's locked memory (VmLck in /proc/self/status), what a plugin
// said about it, and a child process under a locked-memory limit. Linux only.
//
//   const auto f = vpnsdk::testkit::mapping_flags(key.data());
//   CHECK(f.locked); CHECK(f.no_dump);
#pragma once
#include <dlfcn.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <exception>
#include <functional>
#include <sstream>
#include <string>

namespace vpnsdk::testkit {

struct MappingFlags {
  bool found = false;    // `p` lies in a mapping of this process
  bool locked = false;   // VmFlags "lo": mlock'ed
  bool no_dump = false;  // VmFlags "dd": MADV_DONTDUMP
};

inline MappingFlags mapping_flags(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  MappingFlags out;
  while (std::getline(smaps, line)) {
    unsigned long long lo = 0, hi = 0;
    // A mapping's first line: "start-end perms offset dev inode [path]".
    if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find('-') < line.find(' ')) {
      inside = at >= lo && at < hi;
      continue;
    }
    if (!inside || line.rfind("VmFlags:", 0) != 0) continue;
    out.found = true;
    std::istringstream flags(line.substr(8));
    std::string f;
    while (flags >> f) {
      if (f == "lo") out.locked = true;
      if (f == "dd") out.no_dump = true;
    }
    return out;
  }
  return out;
}

// VmLck of this process in KiB (0 if it cannot be read).
inline std::size_t locked_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmLck:", 0) == 0) return static_cast<std::size_t>(std::stoull(line.substr(6)));
  return 0;
}

// Whether the shared object `so` is loaded in this process already (then
// its arena may hold chunks from an earlier instance: a new one need not
// lock more).
inline bool loaded_already(const std::string& so) {
  void* h = ::dlopen(so.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) return false;
  ::dlclose(h);
  return true;
}

// N of the line "keys in locked memory (N KiB)" that vpnsdk::log_secret_memory
// writes at a plugin's start, found in a captured log; -1 if it is not there.
inline long locked_kib_logged(const std::string& log_text) {
  const std::string key = "keys in locked memory (";
  const auto at = log_text.find(key);
  if (at == std::string::npos) return -1;
  return std::strtol(log_text.c_str() + at + key.size(), nullptr, 10);
}

// Runs `body` in a forked child whose RLIMIT_MEMLOCK is `limit` bytes and
// which has no CAP_IPC_LOCK (with it, root locks past any limit): as a
// service with a small LimitMEMLOCK= runs. Returns what `body` returned
// ("" when every check held) or why the child failed. `body` must not use
// the test framework's assertions (they would report in the child).
inline std::string in_child_with_memlock_limit(rlim_t limit, const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return std::string("pipe: ") + std::strerror(errno);
  const pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::close(fds[0]);
    std::string r;
    const struct rlimit rl {limit, limit};
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3]{};
    if (::setrlimit(RLIMIT_MEMLOCK, &rl) != 0) r = std::string("setrlimit: ") + std::strerror(errno);
    if (r.empty() && ::syscall(SYS_capget, &hdr, caps) != 0) r = std::string("capget: ") + std::strerror(errno);
    if (r.empty()) {
      auto& c = caps[CAP_TO_INDEX(CAP_IPC_LOCK)];
      c.effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
      c.permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
      c.inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
      if (::syscall(SYS_capset, &hdr, caps) != 0) r = std::string("capset: ") + std::strerror(errno);
    }
    if (r.empty()) {
      try {
        r = body();
      } catch (const std::exception& e) {
        r = std::string("exception: ") + e.what();
      }
    }
    if (!r.empty() && ::write(fds[1], r.data(), r.size()) < 0) r = "write";
    ::_exit(r.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "waitpid failed";
  if (!WIFEXITED(status)) return "the child was killed (signal " + std::to_string(WTERMSIG(status)) + ")";
  if (WEXITSTATUS(status) != 0 && out.empty()) return "the child failed without a reason";
  return out;
}

}  // namespace vpnsdk::testkit
