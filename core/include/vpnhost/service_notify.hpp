// What systemd tells a service through its environment, and what the
// service tells systemd back:
// - NOTIFY_SOCKET: readiness, reload, stop and status messages (sd_notify);
//   without it every call here is a no-op.
// - JOURNAL_STREAM: whether standard error is the journal (then log lines
//   carry a syslog priority prefix instead of a timestamp).
// docs/operations.md, "Running under systemd".
#pragma once
#include <string>
#include <string_view>

namespace vpnhost {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET once.
  ServiceNotifier();
  bool enabled() const { return enabled_; }
  bool is_ready() const { return ready_; }

  // READY=1 (start-up or a reload is complete) with STATUS=.
  void ready(std::string_view status_text);
  // RELOADING=1 with MONOTONIC_USEC= (systemd >= 253 wants it; older ones
  // ignore it). Only once ready: before that a reload is not announced.
  void reloading();
  // After reloading(): READY=1 with STATUS= (also when the reload was
  // refused: the previous configuration runs on).
  void reload_done(std::string_view status_text);
  // STOPPING=1; only the first call sends it.
  void stopping();
  // STATUS=; sent only when the text changed.
  void status(std::string_view text);

 private:
  void send(const std::string& message);
  bool enabled_ = false;
  bool ready_ = false;
  bool stopping_ = false;
  bool reloading_ = false;
  std::string last_status_;
};

// True when JOURNAL_STREAM (`env`, "DEV:INODE" in decimal, may be null)
// names the file with this device and inode.
bool journal_stream_matches(const char* env, unsigned long long dev, unsigned long long ino);
// journal_stream_matches(getenv("JOURNAL_STREAM"), fstat(stderr)).
bool stderr_is_journal();
// The syslog priority journald should record for an spdlog level
// (spdlog::level::level_enum as int): trace/debug 7, info 6, warn 4, err 3,
// critical 2, anything else 6.
int syslog_priority(int spdlog_level);

}  // namespace vpnhost
