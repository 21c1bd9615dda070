// systemd integration: the JOURNAL_STREAM decision, level -> syslog
// priority, and the sd_notify messages as a service manager receives them.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <catch2/catch.hpp>
#include <spdlog/spdlog.h>

#include "vpnhost/service_notify.hpp"

using vpnhost::journal_stream_matches;

TEST_CASE("JOURNAL_STREAM matches only the exact device and inode") {
  CHECK(journal_stream_matches("8:1234", 8, 1234));
  CHECK(journal_stream_matches("0:0", 0, 0));
  CHECK(journal_stream_matches("18446744073709551615:1", 18446744073709551615ULL, 1));
  CHECK_FALSE(journal_stream_matches(nullptr, 8, 1234));
  CHECK_FALSE(journal_stream_matches("", 8, 1234));
  CHECK_FALSE(journal_stream_matches("8:1235", 8, 1234));   // another stream (stderr redirected)
  CHECK_FALSE(journal_stream_matches("9:1234", 8, 1234));
  CHECK_FALSE(journal_stream_matches("8:1234x", 8, 1234));  // trailing garbage
  CHECK_FALSE(journal_stream_matches("8:", 8, 0));
  CHECK_FALSE(journal_stream_matches(":1234", 0, 1234));
  CHECK_FALSE(journal_stream_matches("8 1234", 8, 1234));
  CHECK_FALSE(journal_stream_matches("-8:1234", 8, 1234));
  CHECK_FALSE(journal_stream_matches("99999999999999999999:1", 0, 1));  // overflow
}

TEST_CASE("stderr is the journal only when JOURNAL_STREAM names stderr") {
  struct stat st {};
  REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  CHECK(vpnhost::stderr_is_journal());
  ::setenv("JOURNAL_STREAM", other.c_str(), 1);
  CHECK_FALSE(vpnhost::stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(vpnhost::stderr_is_journal());
}

TEST_CASE("log levels map to syslog priorities") {
  CHECK(vpnhost::syslog_priority(spdlog::level::trace) == 7);
  CHECK(vpnhost::syslog_priority(spdlog::level::debug) == 7);
  CHECK(vpnhost::syslog_priority(spdlog::level::info) == 6);
  CHECK(vpnhost::syslog_priority(spdlog::level::warn) == 4);
  CHECK(vpnhost::syslog_priority(spdlog::level::err) == 3);
  CHECK(vpnhost::syslog_priority(spdlog::level::critical) == 2);
  CHECK(vpnhost::syslog_priority(spdlog::level::off) == 6);
}

namespace {

// A UNIX datagram socket standing in for systemd's notification socket.
class FakeServiceManager {
 public:
  FakeServiceManager() {
    dir_ = std::filesystem::temp_directory_path() / ("vh-notify-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "notify").string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path_.copy(a.sun_path, sizeof a.sun_path - 1);
    ::unlink(path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeServiceManager() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // The next message already sent, if any (sd_notify's sendmsg is complete
  // when it returns, so no waiting is needed).
  std::optional<std::string> next() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  std::filesystem::path dir_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("service notifier sends READY, STATUS on change, RELOADING with MONOTONIC_USEC then READY, one STOPPING") {
  FakeServiceManager manager;
  vpnhost::ServiceNotifier n;
  REQUIRE(n.enabled());
  CHECK_FALSE(n.is_ready());

  n.status("waiting for a tunnel address");
  CHECK(manager.next() == std::optional<std::string>("STATUS=waiting for a tunnel address"));
  n.reloading();  // not ready yet: a reload is not announced, and does not make it ready
  n.reload_done("reloaded");
  CHECK_FALSE(manager.next());
  CHECK_FALSE(n.is_ready());
  n.ready("tunnel address 10.10.0.2/24");
  CHECK(n.is_ready());
  CHECK(manager.next() == std::optional<std::string>("READY=1\nSTATUS=tunnel address 10.10.0.2/24"));
  n.status("tunnel address 10.10.0.2/24");  // unchanged: nothing sent
  CHECK_FALSE(manager.next());

  n.reloading();
  const auto reloading = manager.next();
  REQUIRE(reloading);
  CHECK(reloading->rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  const auto usec = reloading->substr(reloading->find('=', 12) + 1, reloading->find('\n', 12) - reloading->find('=', 12) - 1);
  CHECK(std::stoull(usec) > 0);
  n.reload_done("reloaded");
  CHECK(manager.next() == std::optional<std::string>("READY=1\nSTATUS=reloaded"));
  n.reload_done("twice");  // no reload announced
  CHECK_FALSE(manager.next());
  n.status("a.manifest:3:1: bad\nREADY=1");  // one line: no second assignment
  CHECK(manager.next() == std::optional<std::string>("STATUS=a.manifest:3:1: bad READY=1"));

  n.stopping();
  CHECK(manager.next() == std::optional<std::string>("STOPPING=1\nSTATUS=stopping"));
  n.stopping();
  n.status("3 sessions");
  n.ready("late");
  n.reloading();
  n.reload_done("late");
  CHECK_FALSE(manager.next());
}

TEST_CASE("service notifier without NOTIFY_SOCKET is disabled and sends nothing") {
  ::unsetenv("NOTIFY_SOCKET");
  vpnhost::ServiceNotifier n;
  CHECK_FALSE(n.enabled());
  n.ready("x");
  n.reloading();
  n.stopping();
}
