#include <utility>  // first: Boost 1.74's Asio misses it in C++20

#include "vpnhost/control_socket.hpp"

#include "reply_and_close.hpp"
#include "vpnhost/control_request.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace vpnhost {
namespace {

using local = boost::asio::local::stream_protocol;

std::string errno_text(int e) { return std::strerror(e); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path)
    throw ControlError("control socket path '" + path + "' is empty or longer than " +
                       std::to_string(sizeof a.sun_path - 1) + " bytes");
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// 0: connected; else the errno of connect().
int try_connect(int fd, const std::string& path) {
  const sockaddr_un a = unix_address(path);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return 0;
  return errno;
}

// Waits for `events` on fd until `deadline`; throws on timeout.
void wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline, const std::string& path) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw ControlError("no answer from control socket " + path + " in time");
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return;
    if (r < 0 && errno != EINTR) throw ControlError("poll on control socket " + path + ": " + errno_text(errno));
  }
}

}  // namespace

struct ControlServer::Shared {
  explicit Shared(boost::asio::io_context& io) : acceptor(io) {}
  local::acceptor acceptor;
  Handler handler;
  std::chrono::milliseconds timeout{5000};
  std::size_t active = 0;
};

namespace {

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(std::shared_ptr<ControlServer::Shared> sh, local::socket s)
      : shared(std::move(sh)), sock(std::move(s)), timer(sock.get_executor()) {
    ++shared->active;
  }
  ~Connection() { --shared->active; }

  std::shared_ptr<ControlServer::Shared> shared;
  local::socket sock;
  boost::asio::steady_timer timer;
  std::array<char, 128> chunk{};
  ControlRequestReader request;  // the request line, as it arrives (control_request.hpp)
  std::string reply;

  void start() {
    timer.expires_after(shared->timeout);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      boost::system::error_code ignored;
      self->sock.close(ignored);  // a client that neither asks nor reads in time
    });
    read();
  }

  void read() {
    sock.async_read_some(boost::asio::buffer(chunk), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                              std::size_t n) {
      using Result = ControlRequestReader::Result;
      switch (self->request.add(std::string_view(self->chunk.data(), n), ec == boost::asio::error::eof)) {
        case Result::ready:
          return self->answer();
        case Result::too_long:
          self->reply = ControlRequestReader::too_long_answer();
          return self->send();
        case Result::need_more:
          break;
      }
      if (ec) {
        self->timer.cancel();
        return;
      }
      self->read();
    });
  }

  void answer() {
    try {
      reply = shared->handler(request.request());
    } catch (const std::exception& e) {
      reply = std::string("error: ") + e.what() + "\n";
    } catch (...) {
      reply = "error: internal error\n";
    }
    send();
  }

  void send() { detail::reply_and_close(shared_from_this()); }
};

void accept_next(const std::shared_ptr<ControlServer::Shared>& shared) {
  shared->acceptor.async_accept([shared](const boost::system::error_code& ec, local::socket s) {
    if (ec == boost::asio::error::operation_aborted || !shared->acceptor.is_open()) return;
    if (!ec) {
      if (shared->active >= ControlServer::kMaxConnections) {
        boost::system::error_code ignored;
        s.close(ignored);  // too many at once: the client sees the connection closed
      } else {
        std::make_shared<Connection>(shared, std::move(s))->start();
      }
    }
    accept_next(shared);
  });
}

}  // namespace

static_assert(ControlServer::kMaxRequest == ControlRequestReader::kMaxRequest);

ControlServer::ControlServer(boost::asio::io_context& io, Handler handler, std::chrono::milliseconds timeout)
    : shared_(std::make_shared<Shared>(io)) {
  shared_->handler = std::move(handler);
  shared_->timeout = timeout;
}

ControlServer::~ControlServer() { close(); }

void ControlServer::open(const std::string& path) {
  namespace fs = std::filesystem;
  (void)unix_address(path);  // length check first
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec) throw ControlError("cannot create the directory " + dir.string() + " of control socket " + path + ": " + ec.message());
      ::chmod(dir.c_str(), 0755);
    }
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw ControlError("control socket " + path + " exists and is not a socket; remove it or choose another [host] control_socket");
    Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.get() < 0) throw ControlError("socket(): " + errno_text(errno));
    const int e = try_connect(probe.get(), path);
    if (e == 0)
      throw ControlError("control socket " + path + " is in use by another running vpnhost; choose another [host] control_socket");
    if (e != ECONNREFUSED)
      throw ControlError("control socket " + path + " exists and cannot be checked: " + errno_text(e));
    if (::unlink(path.c_str()) != 0)
      throw ControlError("cannot remove stale control socket " + path + ": " + errno_text(errno));
    spdlog::info("replaced stale control socket {} (left by a run that did not exit cleanly)", path);
  }
  boost::system::error_code ec;
  auto& acc = shared_->acceptor;
  acc.open(local(), ec);
  if (ec) throw ControlError("control socket " + path + ": " + ec.message());
  // Created 0600 from the start (no window with a wider mode): umask while binding.
  const mode_t old = ::umask(0177);
  acc.bind(local::endpoint(path), ec);
  ::umask(old);
  if (ec) {
    acc.close();
    throw ControlError("cannot create control socket " + path + ": " + ec.message());
  }
  ::chmod(path.c_str(), 0600);
  acc.listen(static_cast<int>(kMaxConnections), ec);
  if (ec) {
    acc.close();
    ::unlink(path.c_str());
    throw ControlError("cannot listen on control socket " + path + ": " + ec.message());
  }
  if (::lstat(path.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
  path_ = path;
  accept_next(shared_);
}

void ControlServer::close() {
  boost::system::error_code ignored;
  if (shared_->acceptor.is_open()) shared_->acceptor.close(ignored);
  if (!path_.empty()) {
    // Only the file we made: another host may have replaced it meanwhile.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
    path_.clear();
  }
}

std::string control_request(const std::string& path, const std::string& request, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throw ControlError("socket(): " + errno_text(errno));
  if (int e = try_connect(fd.get(), path); e != 0) {
    std::string hint;
    if (e == ENOENT || e == ECONNREFUSED) hint = " (is vpnhost running with this control socket?)";
    if (e == EACCES || e == EPERM) hint = " (the control socket is root's: run as root)";
    throw ControlError("cannot connect to control socket " + path + ": " + errno_text(e) + hint);
  }
  const std::string line = request + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    wait_fd(fd.get(), POLLOUT, deadline, path);
    const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ControlError("cannot send to control socket " + path + ": " + errno_text(errno));
    sent += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    wait_fd(fd.get(), POLLIN, deadline, path);
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ControlError("cannot read from control socket " + path + ": " + errno_text(errno));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > (64u << 20)) throw ControlError("answer from control socket " + path + " is larger than 64 MiB");
  }
  return out;
}

}  // namespace vpnhost
