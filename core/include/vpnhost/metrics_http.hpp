// The optional Prometheus endpoint ([host] metrics = "127.0.0.1:9586"): a
// minimal HTTP/1.0 responder on the host's io_context. GET (or HEAD)
// /metrics answers the text exposition format; any other path is 404, any
// other method 405, a malformed request 400, a request head over 8 KiB 431.
// One request per connection; at most 16 connections at once, each closed
// after 5 seconds.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

namespace vpnhost {

// The whole HTTP response to `head` (the request up to its blank line).
std::string metrics_http_reply(std::string_view head, const std::function<std::string()>& body);

class MetricsServer {
 public:
  static constexpr std::size_t kMaxHead = 8192;
  static constexpr std::size_t kMaxConnections = 16;

  MetricsServer(boost::asio::io_context& io, std::function<std::string()> body,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on host:port (numeric address; port 0 = any, see port()).
  // Throws std::runtime_error naming the address.
  void open(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  void close();

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace vpnhost
