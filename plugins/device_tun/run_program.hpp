// Runs an external program (nft, the up/down scripts) to completion within a
// time bound, without a shell: input from a memory file, stdout and stderr
// captured together, the environment of this process plus `env`. The child
// runs in its own process group, with no file descriptor of ours but 0-2;
// on timeout the whole group gets SIGKILL. Blocks the caller (start/stop
// only, never the data path).
#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace device_tun {

struct RunResult {
  bool started = false;    // false: could not be run at all (see error)
  bool timed_out = false;  // killed after the time bound
  int exit_code = -1;      // when it exited normally
  int signal = 0;          // when a signal ended it
  std::string output;      // stdout + stderr (at most 64 KiB kept)
  std::string error;       // why it could not be run

  bool ok() const { return started && !timed_out && signal == 0 && exit_code == 0; }
  // "exited with status 3", "was killed by signal 9", "timed out after 10 s", "could not run: ..."
  std::string describe(std::chrono::milliseconds limit) const;
  // The last non-empty output line (for one-line error messages).
  std::string last_line() const;
};

// argv[0] must be a path (see find_program).
RunResult run_program(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::string& input, std::chrono::milliseconds limit);

// A name without '/' is searched in $PATH, then /usr/local/sbin, /usr/sbin,
// /sbin; "" if not found or not executable. A path is returned if executable.
std::string find_program(const std::string& name);

}  // namespace device_tun
