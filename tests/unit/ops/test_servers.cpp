// The control socket and the metrics endpoint over real sockets: the
// io_context runs on a helper thread (the host runs it on its one thread),
// the test is the client.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "support.hpp"
#include "vpnhost/control_socket.hpp"
#include "vpnhost/metrics_http.hpp"

using namespace opstest;
using namespace std::chrono_literals;

namespace {

// An io_context running on its own thread while the test lives.
class Loop {
 public:
  Loop() : guard_(io.get_executor()), thread_([this] { io.run(); }) {}
  ~Loop() {
    guard_.reset();
    io.stop();
    thread_.join();
  }
  // Runs f on the loop's thread and waits for it.
  template <class F>
  void run(F f) {
    std::promise<void> done;
    boost::asio::post(io, [&] {
      try {
        f();
        done.set_value();
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    done.get_future().get();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Reads until the peer closes (or `limit` passes); returns what came.
std::string read_all(int fd, std::chrono::milliseconds limit, bool& closed) {
  std::string out;
  closed = false;
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      closed = true;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

int tcp_connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

std::string http(std::uint16_t port, const std::string& request) {
  const int fd = tcp_connect(port);
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  bool closed = false;
  std::string r = read_all(fd, 5s, closed);
  ::close(fd);
  CHECK(closed);
  return r;
}

// A socket file nobody listens on, as a crashed host leaves it.
void make_stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("ops: control socket answers a request, is mode 0600, and is removed on close", "[ops][control]") {
  TempDir d;
  const std::string path = (d / "run" / "host.sock").string();  // its directory does not exist yet
  Loop loop;
  std::vector<std::string> seen;
  vpnhost::ControlServer server(loop.io, [&](const std::string& r) {
    seen.push_back(r);
    return "answer to " + r + "\n";
  });
  loop.run([&] { server.open(path); });
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::geteuid());
  CHECK(vpnhost::control_request(path, "status") == "answer to status\n");
  CHECK(vpnhost::control_request(path, "  status json \r") == "answer to status json\n");
  loop.run([&] { server.close(); });
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(seen == std::vector<std::string>{"status", "status json"});
  CHECK_THROWS_WITH(vpnhost::control_request(path, "status"),
                    Catch::Contains("cannot connect to control socket " + path) && Catch::Contains("is vpnhost running"));
}

TEST_CASE("ops: a large answer arrives whole, an exception becomes an error answer", "[ops][control]") {
  TempDir d;
  const std::string path = (d / "c.sock").string();
  Loop loop;
  const std::string big(3 << 20, 'x');
  vpnhost::ControlServer server(loop.io, [&](const std::string& r) -> std::string {
    if (r == "big") return big;
    throw std::runtime_error("no such thing");
  });
  loop.run([&] { server.open(path); });
  CHECK(vpnhost::control_request(path, "big") == big);
  CHECK(vpnhost::control_request(path, "boom") == "error: no such thing\n");
  loop.run([&] { server.close(); });
}

TEST_CASE("ops: control socket limits request size and time", "[ops][control]") {
  TempDir d;
  const std::string path = (d / "c.sock").string();
  Loop loop;
  std::atomic<int> calls = 0;
  vpnhost::ControlServer server(
      loop.io, [&](const std::string&) { ++calls;
        return std::string("ok\n"); }, 300ms);
  loop.run([&] { server.open(path); });

  CHECK(vpnhost::control_request(path, std::string(1000, 'a')) == "error: request longer than 256 bytes\n");

  // A client that connects and says nothing is disconnected after the timeout.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  CHECK(read_all(fd, 5s, closed).empty());
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  ::close(fd);
  CHECK(calls == 0);
  // A request ended by closing the write side (no newline) is answered.
  CHECK(vpnhost::control_request(path, "status") == "ok\n");
  CHECK(calls == 1);
  loop.run([&] { server.close(); });
}

TEST_CASE("ops: a stale control socket is replaced, a live one or a plain file is refused", "[ops][control]") {
  TempDir d;
  const std::string path = (d / "c.sock").string();
  Loop loop;
  auto answer = [](const std::string&) { return std::string("one\n"); };
  make_stale_socket(path);
  REQUIRE(std::filesystem::is_socket(path));
  vpnhost::ControlServer first(loop.io, answer);
  loop.run([&] { first.open(path); });
  CHECK(vpnhost::control_request(path, "status") == "one\n");

  vpnhost::ControlServer second(loop.io, [](const std::string&) { return std::string("two\n"); });
  CHECK_THROWS_WITH(loop.run([&] { second.open(path); }), Catch::Contains("in use by another running vpnhost"));
  CHECK(vpnhost::control_request(path, "status") == "one\n");  // the first one still owns it
  loop.run([&] { first.close(); });

  const std::string plain = (d / "plain").string();
  { std::ofstream(plain) << "keep me"; }
  vpnhost::ControlServer third(loop.io, answer);
  CHECK_THROWS_WITH(loop.run([&] { third.open(plain); }), Catch::Contains("exists and is not a socket"));
  std::ifstream in(plain);
  std::string text;
  std::getline(in, text);
  CHECK(text == "keep me");
}

TEST_CASE("ops: close() leaves a socket file that another host made since", "[ops][control]") {
  TempDir d;
  const std::string path = (d / "c.sock").string();
  Loop loop;
  vpnhost::ControlServer server(loop.io, [](const std::string&) { return std::string("x\n"); });
  loop.run([&] { server.open(path); });
  REQUIRE(::unlink(path.c_str()) == 0);
  make_stale_socket(path);  // someone else's file now
  loop.run([&] { server.close(); });
  CHECK(std::filesystem::is_socket(path));
}

TEST_CASE("ops: the metrics endpoint serves /metrics over HTTP and bounds requests", "[ops][metrics][http]") {
  Loop loop;
  std::atomic<int> scrapes = 0;
  vpnhost::MetricsServer server(
      loop.io, [&] { return "vpnhost_scrapes " + std::to_string(++scrapes) + "\n"; }, 300ms);
  loop.run([&] { server.open("127.0.0.1", 0); });
  const std::uint16_t port = server.port();
  REQUIRE(port != 0);

  std::string r = http(port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
  CHECK(r.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(r.find("\r\n\r\nvpnhost_scrapes 1\n") != std::string::npos);
  r = http(port, "GET /metrics HTTP/1.0\n\n");  // bare newlines are accepted too
  CHECK(r.find("\r\n\r\nvpnhost_scrapes 2\n") != std::string::npos);
  CHECK(http(port, "GET /other HTTP/1.1\r\n\r\n").rfind("HTTP/1.0 404 Not Found\r\n", 0) == 0);
  CHECK(http(port, "DELETE /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.0 405 ", 0) == 0);
  CHECK(http(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a')).rfind("HTTP/1.0 431 ", 0) == 0);
  CHECK(scrapes == 2);

  // A client that never finishes its request is disconnected after the timeout.
  const int fd = tcp_connect(port);
  REQUIRE(::send(fd, "GET /metr", 9, MSG_NOSIGNAL) == 9);
  bool closed = false;
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(read_all(fd, 5s, closed).empty());
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  ::close(fd);
  loop.run([&] { server.close(); });
}

// One GET /metrics that must be answered within `bound`.
static void scrape_within(std::uint16_t port, std::chrono::milliseconds bound) {
  const auto t0 = std::chrono::steady_clock::now();
  const int fd = tcp_connect(port);
  const std::string req = "GET /metrics HTTP/1.0\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  bool closed = false;
  const std::string r = read_all(fd, bound, closed);
  const auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  INFO("took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(r.find("\r\n\r\nm 1\n") != std::string::npos);
  CHECK(closed);
  CHECK(took < bound);
}

TEST_CASE("ops: 32 idle connections do not keep a scrape from being answered", "[ops][metrics][http]") {
  Loop loop;
  // The host's settings: the default timeout.
  vpnhost::MetricsServer server(loop.io, [] { return std::string("m 1\n"); });
  loop.run([&] { server.open("127.0.0.1", 0); });
  std::vector<int> idle;
  for (int i = 0; i < 32; ++i) idle.push_back(tcp_connect(server.port()));
  std::this_thread::sleep_for(100ms);  // all of them accepted and waiting
  for (int i = 0; i < 3; ++i) scrape_within(server.port(), 500ms);
  for (int fd : idle) ::close(fd);
  loop.run([&] { server.close(); });
}

TEST_CASE("ops: beyond the connection cap the oldest idle connection makes room", "[ops][metrics][http]") {
  Loop loop;
  vpnhost::MetricsServer server(loop.io, [] { return std::string("m 1\n"); }, 30s);  // idle ones never time out here
  loop.run([&] { server.open("127.0.0.1", 0); });
  constexpr std::size_t kCap = vpnhost::MetricsServer::kMaxConnections;
  std::vector<int> idle;
  for (std::size_t i = 0; i < kCap + 8; ++i) idle.push_back(tcp_connect(server.port()));
  std::size_t open = 0;
  std::uint64_t evicted = 0;
  for (int i = 0; i < 100; ++i) {
    loop.run([&] { open = server.connections(), evicted = server.evicted(); });
    if (evicted == 8) break;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(open == kCap);
  CHECK(evicted == 8);
  // The 8 oldest were closed (EOF now), the newest still open.
  for (std::size_t i = 0; i < idle.size(); ++i) {
    bool closed = false;
    read_all(idle[i], i < 8 ? 1000ms : 20ms, closed);
    INFO("connection " << i);
    CHECK(closed == (i < 8));
  }
  scrape_within(server.port(), 500ms);
  for (int fd : idle) ::close(fd);
  loop.run([&] { server.close(); });
}

TEST_CASE("ops: a client that trickles its request is cut off at the head deadline", "[ops][metrics][http]") {
  Loop loop;
  vpnhost::MetricsServer server(loop.io, [] { return std::string("m 1\n"); }, 400ms);
  loop.run([&] { server.open("127.0.0.1", 0); });
  const int fd = tcp_connect(server.port());
  const auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {  // one byte every 100 ms: never a whole head in time
    if (::send(fd, "G", 1, MSG_NOSIGNAL) != 1) break;
    read_all(fd, 100ms, closed);
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  ::close(fd);
  scrape_within(server.port(), 500ms);
  loop.run([&] { server.close(); });
}

TEST_CASE("ops: the metrics endpoint reports an address it cannot bind", "[ops][metrics][http]") {
  Loop loop;
  vpnhost::MetricsServer first(loop.io, [] { return std::string(); });
  loop.run([&] { first.open("127.0.0.1", 0); });
  vpnhost::MetricsServer second(loop.io, [] { return std::string(); });
  CHECK_THROWS_WITH(loop.run([&] { second.open("127.0.0.1", first.port()); }),
                    Catch::StartsWith("cannot serve metrics on 127.0.0.1:" + std::to_string(first.port())));
  CHECK_THROWS_WITH(loop.run([&] { second.open("not-an-ip", 1); }), Catch::Contains("not a numeric IP address"));
  loop.run([&] { first.close(); });
}
