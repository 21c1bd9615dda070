#include <utility>  // first: Boost 1.74's Asio misses it in C++20

#include "vpnhost/metrics_http.hpp"

#include "reply_and_close.hpp"

#include <algorithm>
#include <array>
#include <list>
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

namespace {
struct HttpConnection;
}

struct MetricsServer::Shared {
  explicit Shared(boost::asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  std::function<std::string()> body;
  std::chrono::milliseconds head_timeout{2000};
  std::list<HttpConnection*> open;  // oldest first; each removes itself when it ends
  std::uint64_t evicted = 0;
};

namespace {

struct HttpConnection : std::enable_shared_from_this<HttpConnection> {
  HttpConnection(std::shared_ptr<MetricsServer::Shared> sh, tcp::socket s)
      : shared(std::move(sh)), sock(std::move(s)), timer(sock.get_executor()) {
    self_in_list = shared->open.insert(shared->open.end(), this);
  }
  ~HttpConnection() { leave(); }

  std::shared_ptr<MetricsServer::Shared> shared;
  tcp::socket sock;
  boost::asio::steady_timer timer;
  std::array<char, 1024> chunk{};
  std::string head, reply;
  bool answering = false;  // the request head is complete
  bool listed = true;
  std::list<HttpConnection*>::iterator self_in_list;

  void leave() {
    if (!listed) return;
    shared->open.erase(self_in_list);
    listed = false;
  }

  // Made room for a newer connection (or the deadline passed): closing the
  // socket ends the pending read or write, which releases this object.
  void drop() {
    leave();
    boost::system::error_code ignored;
    sock.close(ignored);
    timer.cancel();
  }

  void arm(std::chrono::milliseconds after) {
    timer.expires_after(after);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;  // cancelled or re-armed
      self->drop();    // slow or silent client
    });
  }

  void start() {
    arm(shared->head_timeout);
    read();
  }

  void read() {
    sock.async_read_some(boost::asio::buffer(chunk), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                              std::size_t n) {
      if (ec == boost::asio::error::operation_aborted || !self->sock.is_open()) return;  // dropped
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
      if (ec) return self->drop();  // closed before a whole request: nothing to answer
      self->read();
    });
  }

  void send() {
    answering = true;
    arm(std::chrono::duration_cast<std::chrono::milliseconds>(MetricsServer::kWriteTimeout));
    detail::reply_and_close(shared_from_this());
  }
};

// At the cap: close the oldest connection still waiting for its request
// head, else the oldest of all. A new connection always gets in.
void make_room(MetricsServer::Shared& shared) {
  while (shared.open.size() >= MetricsServer::kMaxConnections) {
    auto victim = std::find_if(shared.open.begin(), shared.open.end(), [](const HttpConnection* c) { return !c->answering; });
    if (victim == shared.open.end()) victim = shared.open.begin();
    ++shared.evicted;
    (*victim)->drop();  // removes it from the list
  }
}

void accept_next(const std::shared_ptr<MetricsServer::Shared>& shared) {
  shared->acceptor.async_accept([shared](const boost::system::error_code& ec, tcp::socket s) {
    if (ec == boost::asio::error::operation_aborted || !shared->acceptor.is_open()) return;
    if (!ec) {
      make_room(*shared);
      std::make_shared<HttpConnection>(shared, std::move(s))->start();
    }
    accept_next(shared);
  });
}

}  // namespace

MetricsServer::MetricsServer(boost::asio::io_context& io, std::function<std::string()> body,
                             std::chrono::milliseconds head_timeout)
    : shared_(std::make_shared<Shared>(io)) {
  shared_->body = std::move(body);
  shared_->head_timeout = head_timeout;
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
  if (!ec) acc.listen(tcp::acceptor::max_listen_connections, ec);
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

std::size_t MetricsServer::connections() const { return shared_->open.size(); }
std::uint64_t MetricsServer::evicted() const { return shared_->evicted; }

}  // namespace vpnhost
