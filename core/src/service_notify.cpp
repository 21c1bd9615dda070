#include "vpnhost/service_notify.hpp"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <cstdlib>
#include <ctime>

#include <spdlog/spdlog.h>

namespace vpnhost {

ServiceNotifier::ServiceNotifier() {
  const char* s = std::getenv("NOTIFY_SOCKET");
  enabled_ = s != nullptr && *s != '\0';
}

namespace {
// A STATUS= value is one line: a newline would start another assignment.
std::string one_line(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}
}  // namespace

void ServiceNotifier::send(const std::string& message) {
  if (!enabled_) return;
  // 0: keep NOTIFY_SOCKET, later messages (STATUS, RELOADING) need it.
  const int r = sd_notify(0, message.c_str());
  if (r < 0) spdlog::debug("sd_notify failed: {}", std::strerror(-r));
}

void ServiceNotifier::ready(std::string_view status_text) {
  if (stopping_) return;
  ready_ = true;
  last_status_ = one_line(status_text);
  send("READY=1\nSTATUS=" + last_status_);
}

void ServiceNotifier::reloading() {
  if (!ready_ || stopping_) return;
  reloading_ = true;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  last_status_ = "reloading";
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading");
}

void ServiceNotifier::reload_done(std::string_view status_text) {
  if (!reloading_) return;
  reloading_ = false;
  ready(status_text);
}

void ServiceNotifier::stopping() {
  if (stopping_) return;
  stopping_ = true;
  last_status_ = "stopping";
  send("STOPPING=1\nSTATUS=stopping");
}

void ServiceNotifier::status(std::string_view text) {
  const std::string line = one_line(text);
  if (stopping_ || line == last_status_) return;
  last_status_ = line;
  send("STATUS=" + last_status_);
}

bool journal_stream_matches(const char* env, unsigned long long dev, unsigned long long ino) {
  if (env == nullptr) return false;
  const std::string_view s(env);
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  unsigned long long d = 0, i = 0;
  const char* end = s.data() + s.size();
  auto r1 = std::from_chars(s.data(), s.data() + colon, d);
  if (r1.ec != std::errc() || r1.ptr != s.data() + colon) return false;
  auto r2 = std::from_chars(s.data() + colon + 1, end, i);
  if (r2.ec != std::errc() || r2.ptr != end) return false;
  return d == dev && i == ino;
}

bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return journal_stream_matches(env, static_cast<unsigned long long>(st.st_dev),
                                static_cast<unsigned long long>(st.st_ino));
}

int syslog_priority(int spdlog_level) {
  switch (spdlog_level) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
  }
}

}  // namespace vpnhost
