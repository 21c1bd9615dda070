// Helpers shared by the core unit tests: a private temporary directory,
// file writing, the test plugin loader and running the vpnhost binary.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "vpnhost/plugin_loader.hpp"

extern char** environ;

namespace coretest {

namespace fs = std::filesystem;

inline const std::string kPluginDir = VPNHOST_TEST_PLUGIN_DIR;
inline const std::string kFixtureDir = VPNHOST_TEST_FIXTURE_PLUGIN_DIR;
inline const std::string kManifestDir = std::string(VPNHOST_TEST_DATA_DIR) + "/manifests";

// The loader every test uses: stock plugins, then the test fixtures.
inline vpnhost::PluginLoader test_loader() { return vpnhost::PluginLoader({kPluginDir, kFixtureDir}); }

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vhcore.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline void write_text(const fs::path& p, const std::string& text, mode_t mode = 0644) {
  {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + p.string());
    f << text;
  }
  fs::permissions(p, static_cast<fs::perms>(mode), fs::perm_options::replace);
}

inline std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

inline int count_containing(const std::string& text, const std::string& needle) {
  int n = 0;
  for (const auto& l : lines_of(text))
    if (l.find(needle) != std::string::npos) ++n;
  return n;
}

struct RunResult {
  bool exited = false;  // false: killed by a signal (or timed out)
  int code = -1;        // exit code when exited
  int signal = 0;       // signal when !exited
  bool timed_out = false;
  std::string out, err;
};

// Runs `argv` (argv[0] is the program path) with stdin from /dev/null and
// stdout/stderr captured; kills it after `limit`.
inline RunResult run_program(const std::vector<std::string>& argv, const fs::path& workdir,
                             std::chrono::seconds limit = std::chrono::seconds(30)) {
  const fs::path out_file = workdir / ".run.stdout";
  const fs::path err_file = workdir / ".run.stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");

  RunResult r;
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.exited = WIFEXITED(status);
  r.code = r.exited ? WEXITSTATUS(status) : -1;
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  r.out = read_text(out_file);
  r.err = read_text(err_file);
  return r;
}

inline RunResult run_vpnhost(const std::vector<std::string>& args, const fs::path& workdir) {
  std::vector<std::string> argv{VPNHOST_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, workdir);
}

}  // namespace coretest
