#include "run_program.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

extern char** environ;

namespace device_tun {
namespace {

constexpr std::size_t kMaxOutput = 64 * 1024;

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

int memory_file(const char* name) {
  // Close-on-exec: the child gets its own copies through dup2, which clears the flag.
  return static_cast<int>(::syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */));
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return ::lseek(fd, 0, SEEK_SET) == 0;
}

std::string read_back(int fd) {
  std::string out;
  if (::lseek(fd, 0, SEEK_SET) != 0) return out;
  char buf[4096];
  while (out.size() < kMaxOutput) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (out.size() > kMaxOutput) out.resize(kMaxOutput);
  return out;
}

// Our environment with `extra` (NAME=value) replacing same-named entries.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& x : extra)
      if (x.compare(0, name.size() + 1, name + "=") == 0) replaced = true;
    if (!replaced) out.push_back(std::move(entry));
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

bool executable_file(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

void nap(long ns) {
  timespec ts{0, ns};
  ::nanosleep(&ts, nullptr);
}

}  // namespace

std::string RunResult::describe(std::chrono::milliseconds limit) const {
  if (!started) return "could not run: " + error;
  if (timed_out) {
    std::ostringstream s;
    s << "did not finish within " << limit.count() / 1000.0 << " s and was killed";
    return s.str();
  }
  if (signal != 0) return "was killed by signal " + std::to_string(signal);
  return "exited with status " + std::to_string(exit_code);
}

std::string RunResult::last_line() const {
  std::size_t end = output.size();
  while (end > 0) {
    while (end > 0 && (output[end - 1] == '\n' || output[end - 1] == '\r' || output[end - 1] == ' ')) --end;
    if (end == 0) break;
    std::size_t start = output.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    return output.substr(start, end - start);
  }
  return {};
}

std::string find_program(const std::string& name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return executable_file(name) ? name : std::string();
  std::string dirs;
  if (const char* path = std::getenv("PATH")) dirs = path;
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (executable_file(candidate)) return candidate;
    }
    start = colon + 1;
  }
  return {};
}

RunResult run_program(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::string& input, std::chrono::milliseconds limit) {
  RunResult r;
  if (argv.empty() || argv[0].empty()) {
    r.error = "no program given";
    return r;
  }
  Fd in, out;
  in.fd = memory_file("device_tun-input");
  out.fd = memory_file("device_tun-output");
  if (in.fd < 0 || out.fd < 0) {
    r.error = std::string("memfd_create: ") + std::strerror(errno);
    return r;
  }
  if (!input.empty() && !write_all(in.fd, input)) {
    r.error = std::string("cannot buffer the program's input: ") + std::strerror(errno);
    return r;
  }

  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls.
  std::vector<std::string> envs = merged_environment(env);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const char* path = argv[0].c_str();
  sigset_t none;
  sigemptyset(&none);

  const pid_t pid = ::fork();
  if (pid < 0) {
    r.error = std::string("fork: ") + std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(in.fd, 0);
    ::dup2(out.fd, 1);
    ::dup2(out.fd, 2);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGQUIT}) ::sigaction(sig, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    ::execve(path, cargv.data(), cenv.data());
    const char* why = std::strerror(errno);
    (void)!::write(2, "exec failed: ", 13);
    (void)!::write(2, why, std::strlen(why));
    (void)!::write(2, "\n", 1);
    ::_exit(127);
  }
  r.started = true;

  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  long wait_ns = 200'000;  // 0.2 ms, growing to 10 ms
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {  // e.g. SIGCHLD ignored by the host: the child was reaped for us
      r.error = std::string("waitpid: ") + std::strerror(errno);
      r.started = false;
      return r;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      r.timed_out = true;
      break;
    }
    nap(wait_ns);
    if (wait_ns < 10'000'000) wait_ns *= 2;
  }
  if (!r.timed_out) {
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  }
  r.output = read_back(out.fd);
  return r;
}

}  // namespace device_tun
