// The host's control socket (UNIX stream socket, mode 0600) and its client.
//
// Protocol: the client sends one request line ("status", "status json",
// "status text"; at most 256 bytes, ended by "\n" or by closing its write
// side), the host answers and closes the connection. Served on the host's
// io_context; at most 16 connections at once, each limited to 5 seconds.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <boost/asio/io_context.hpp>

namespace vpnhost {

class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ControlServer {
 public:
  // Called with the request line (without the newline, trimmed); returns the
  // whole answer. An exception becomes the answer "error: <what>".
  using Handler = std::function<std::string(const std::string& request)>;
  static constexpr std::size_t kMaxRequest = 256;
  static constexpr std::size_t kMaxConnections = 16;

  ControlServer(boost::asio::io_context& io, Handler handler,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket at `path` (its directory, mode 0755, if missing).
  // A socket file nobody listens on (left by a crashed run) is replaced; one
  // another process still serves, or a file that is not a socket, is an
  // error. Throws ControlError naming the path and the cause.
  void open(const std::string& path);
  // Stops accepting and removes the socket file (if it is still ours).
  void close();
  const std::string& path() const { return path_; }

  struct Shared;  // (defined in control_socket.cpp)

 private:
  std::shared_ptr<Shared> shared_;
  std::string path_;
  unsigned long long dev_ = 0, ino_ = 0;  // of the socket file we made
};

// Sends `request` to the control socket at `path` and returns the answer.
// Throws ControlError ("cannot connect to PATH: ...", timeouts).
std::string control_request(const std::string& path, const std::string& request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace vpnhost
