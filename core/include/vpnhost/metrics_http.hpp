// The optional Prometheus endpoint ([host] metrics = "9586", i.e.
// 127.0.0.1:9586): a minimal HTTP/1.0 responder on the host's io_context.
// GET (or HEAD) /metrics answers the text exposition format; any other path
// is 404, any other method 405, a malformed request 400, a request head over
// 8 KiB 431. One request per connection.
//
// No client can hold it for the others: a connection has `head_timeout`
// (2 s) to send its request head and kWriteTimeout to take the answer; at
// most kMaxConnections are open at once, and a new one beyond that closes
// the oldest connection that has not sent its request yet (or, if every one
// has, the oldest), so a scrape is always accepted and answered at once.
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
  static constexpr std::size_t kMaxConnections = 64;
  static constexpr std::chrono::seconds kWriteTimeout{10};

  MetricsServer(boost::asio::io_context& io, std::function<std::string()> body,
                std::chrono::milliseconds head_timeout = std::chrono::seconds(2));
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on host:port (numeric address; port 0 = any, see port()).
  // Throws std::runtime_error naming the address.
  void open(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  void close();
  // Connections open now, and how many were closed to make room (tests).
  std::size_t connections() const;
  std::uint64_t evicted() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace vpnhost
