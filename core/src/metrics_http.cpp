#include <utility>  // first: Boost 1.74's Asio misses it in C++20

#include "vpnhost/metrics_http.hpp"

#include "reply_and_close.hpp"

#include <array>
#include <stdexcept>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace vpnhost {

using tcp = boost::asio::ip::tcp;

std::string metrics_http_reply(std::string_view head, const std::function<std::string()>& body) {
  auto response = [](const char* status, const std::string& text, const char* type, bool with_body,
                     const char* extra = "") {
    std::string r = std::string("HTTP/1.0 ") + status + "\r\nContent-Type: " + type +
                    "\r\nContent-Length: " + std::to_string(text.size()) + "\r\n" + extra +
                    "Connection: close\r\n\r\n";
    if (with_body) r += text;
    return r;
  };
  const std::size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol == std::string_view::npos ? head.size() : eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos ||
      !line.substr(sp2 + 1).starts_with("HTTP/1."))
    return response("400 Bad Request", "bad request\n", "text/plain; charset=utf-8", true);
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const std::size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  const bool head_only = method == "HEAD";
  if (method != "GET" && !head_only)
    return response("405 Method Not Allowed", "only GET and HEAD\n", "text/plain; charset=utf-8", true,
                    "Allow: GET, HEAD\r\n");
  if (target != "/metrics")
    return response("404 Not Found", "not found; the metrics are at /metrics\n", "text/plain; charset=utf-8",
                    !head_only);
  return response("200 OK", body(), "text/plain; version=0.0.4; charset=utf-8", !head_only);
}

struct MetricsServer::Shared {
  explicit Shared(boost::asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  std::function<std::string()> body;
  std::chrono::milliseconds timeout{5000};
  std::size_t active = 0;
};

namespace {

struct HttpConnection : std::enable_shared_from_this<HttpConnection> {
  HttpConnection(std::shared_ptr<MetricsServer::Shared> sh, tcp::socket s)
      : shared(std::move(sh)), sock(std::move(s)), timer(sock.get_executor()) {
    ++shared->active;
  }
  ~HttpConnection() { --shared->active; }

  std::shared_ptr<MetricsServer::Shared> shared;
  tcp::socket sock;
  boost::asio::steady_timer timer;
  std::array<char, 1024> chunk{};
  std::string head, reply;

  void start() {
    timer.expires_after(shared->timeout);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      boost::system::error_code ignored;
      self->sock.close(ignored);  // slow or silent client
    });
    read();
  }

  void read() {
    sock.async_read_some(boost::asio::buffer(chunk), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                              std::size_t n) {
      self->head.append(self->chunk.data(), n);
      std::size_t end = self->head.find("\r\n\r\n");
      if (end == std::string::npos) end = self->head.find("\n\n");
      if (end != std::string::npos) {
        self->head.resize(end);
        self->reply = metrics_http_reply(self->head, self->shared->body);
        return self->send();
      }
      if (self->head.size() > MetricsServer::kMaxHead) {
        const std::string text = "request head too large\n";
        self->reply = "HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: " + std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text;
        return self->send();
      }
      if (ec) {
        self->timer.cancel();
        return;
      }  // closed before a whole request: nothing to answer
      self->read();
    });
  }

  void send() { detail::reply_and_close(shared_from_this()); }
};

void accept_next(const std::shared_ptr<MetricsServer::Shared>& shared) {
  shared->acceptor.async_accept([shared](const boost::system::error_code& ec, tcp::socket s) {
    if (ec == boost::asio::error::operation_aborted || !shared->acceptor.is_open()) return;
    if (!ec) {
      if (shared->active >= MetricsServer::kMaxConnections) {
        boost::system::error_code ignored;
        s.close(ignored);
      } else {
        std::make_shared<HttpConnection>(shared, std::move(s))->start();
      }
    }
    accept_next(shared);
  });
}

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, std::function<std::string()> body,
                             std::chrono::milliseconds timeout)
    : shared_(std::make_shared<Shared>(io)) {
  shared_->body = std::move(body);
  shared_->timeout = timeout;
}

MetricsServer::~MetricsServer() { close(); }

void MetricsServer::open(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("metrics address '" + host + "' is not a numeric IP address");
  const tcp::endpoint ep(addr, port);
  const std::string where = (addr.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(port);
  auto& acc = shared_->acceptor;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(static_cast<int>(kMaxConnections), ec);
  if (ec) {
    boost::system::error_code ignored;
    acc.close(ignored);
    throw std::runtime_error("cannot serve metrics on " + where + ": " + ec.message());
  }
  accept_next(shared_);
}

std::uint16_t MetricsServer::port() const {
  boost::system::error_code ec;
  const auto ep = shared_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void MetricsServer::close() {
  boost::system::error_code ignored;
  if (shared_->acceptor.is_open()) shared_->acceptor.close(ignored);
}

}  // namespace vpnhost
