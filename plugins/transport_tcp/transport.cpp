#include "transport.hpp"

#include <concepts>
#include <exception>
#include <stdexcept>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

namespace transport_tcp {

using vpnsdk::Code;
using vpnsdk::Status;

namespace {

vpnsdk::Endpoint to_endpoint(const boost::asio::ip::tcp::endpoint& ep) {
  boost::asio::ip::address a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  return {a.to_string(), ep.port()};
}

std::string text(const boost::asio::ip::tcp::endpoint& ep) {
  const std::string a = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port());
}

std::shared_ptr<spdlog::logger> logger_of(const vpnsdk::HostContext& ctx) {
  if (ctx.log) return ctx.log;
  return std::make_shared<spdlog::logger>("plugin:transport_tcp");  // no sinks: silent
}

const vpnsdk::HostContext& checked(const vpnsdk::HostContext& ctx) {
  if (ctx.io == nullptr || ctx.options == nullptr || ctx.counters == nullptr || ctx.pool == nullptr)
    throw std::invalid_argument("transport_tcp: host context lacks io, options, counters or pool");
  return ctx;
}

}  // namespace

TcpTransport::TcpTransport(const vpnsdk::HostContext& ctx)
    : io_(*checked(ctx).io),
      log_(logger_of(ctx)),
      cfg_(parse_config(*ctx.options)),
      n_(*ctx.counters),
      env_{cfg_, *ctx.pool, *log_, n_, *this, nullptr},
      guard_(std::make_shared<int>(0)),
      acceptor_(io_),
      accept_backoff_(io_),
      resolver_(io_),
      connect_timer_(io_) {}

TcpTransport::~TcpTransport() {
  try {
    stop();
  } catch (...) {
  }
}

template <class F>
auto TcpTransport::guarded(F f) {
  // Constrained, so Asio's overload selection (e.g. async_connect) still sees the real signature.
  return [weak = std::weak_ptr<int>(guard_), this, f = std::move(f)]<class... A>
    requires std::invocable<F&, A&&...>(A&&... args) mutable {
    if (weak.expired()) return;  // stopped or destroyed: `this` may be gone
    try {
      f(std::forward<A>(args)...);
    } catch (const std::exception& e) {
      if (!weak.expired()) log_->error("exception in a completion handler: {}", e.what());
    } catch (...) {
      if (!weak.expired()) log_->error("unknown exception in a completion handler");
    }
  };
}

// ---- host calls --------------------------------------------------------------

Status TcpTransport::start(vpnsdk::TransportSink& sink) {
  try {
    if (started_ || stopped_) return Status::error(Code::internal, "transport_tcp: start() called twice or after stop()");
    started_ = true;
    env_.sink = &sink;
    if (cfg_.server()) return listen();
    connect();
    return {};
  } catch (const std::exception& e) {
    return Status::error(Code::internal, std::string("transport_tcp: start failed: ") + e.what());
  }
}

Status TcpTransport::send(vpnsdk::SessionId id, vpnsdk::Batch frames) {
  try {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second->accepting()) {
      for (auto& p : frames) p.reset();
      return Status::error(Code::drop_no_route, "no open session " + std::to_string(id));
    }
    return it->second->send(frames);
  } catch (const std::exception& e) {
    for (auto& p : frames) p.reset();
    return Status::error(Code::internal, std::string("transport_tcp: send failed: ") + e.what());
  }
}

void TcpTransport::close(vpnsdk::SessionId id, const Status& why) {
  try {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      log_->debug("close({}): no such session", id);
      return;
    }
    it->second->close(why);
  } catch (const std::exception& e) {
    log_->error("close({}) failed: {}", id, e.what());
  }
}

void TcpTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  guard_.reset();  // every pending acceptor/resolver/connect/timer handler becomes a no-op
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  resolver_.cancel();
  if (connecting_) connecting_->close(ignored);
  connecting_.reset();
  connect_pending_ = false;
  try {
    accept_backoff_.cancel();
    connect_timer_.cancel();
  } catch (...) {
  }
  auto sessions = std::move(sessions_);
  sessions_.clear();
  for (auto& entry : sessions) entry.second->detach();
  if (started_) log_->info("stopped; {} session(s) dropped", sessions.size());
}

void TcpTransport::session_ended(vpnsdk::SessionId id) noexcept { sessions_.erase(id); }

// ---- listen mode -------------------------------------------------------------

Status TcpTransport::listen() {
  const tcp::endpoint ep(boost::asio::ip::make_address(cfg_.listen), cfg_.port);
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return Status::error(Code::io, "cannot listen on " + text(ep) + ": " + ec.message());
  }
  log_->info("listening on {}", text(ep));
  accept_next();
  return {};
}

void TcpTransport::accept_next() {
  acceptor_.async_accept(
      guarded([this](const boost::system::error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); }));
}

void TcpTransport::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    ++n_.accept_errors;
    log_->warn("accept failed: {}; retrying in 100 ms", ec.message());
    accept_backoff_.expires_after(std::chrono::milliseconds(100));  // e.g. out of file descriptors
    accept_backoff_.async_wait(guarded([this](const boost::system::error_code& e) {
      if (!e) accept_next();
    }));
    return;
  }
  accept_next();
  open_session(std::move(socket), vpnsdk::Role::responder);
}

// ---- connect mode ------------------------------------------------------------

Status TcpTransport::reconnect() {
  if (stopped_ || !started_) return Status::error(Code::refused, "transport is not running");
  if (cfg_.connect.empty()) return Status::error(Code::refused, "listen mode does not reconnect");
  if (connect_pending_ || !sessions_.empty()) return Status::error(Code::refused, "already connecting or connected");
  connect();  // asynchronous: the outcome is reported through the sink later
  return {};
}

void TcpTransport::connect() {
  connect_pending_ = true;
  log_->info("connecting to {}:{}", cfg_.connect, cfg_.port);
  connect_timer_.expires_after(cfg_.connect_timeout);
  connect_timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
    if (ec || !connect_pending_) return;
    connect_failed("timed out after " + std::to_string(cfg_.connect_timeout.count()) + " s");
  }));
  resolver_.async_resolve(cfg_.connect, std::to_string(cfg_.port),
                          guarded([this](const boost::system::error_code& ec, tcp::resolver::results_type r) {
                            on_resolved(ec, r);
                          }));
}

void TcpTransport::on_resolved(const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
  if (!connect_pending_) return;
  if (ec) {
    connect_failed(ec.message());
    return;
  }
  auto socket = std::make_shared<tcp::socket>(io_);
  connecting_ = socket;
  boost::asio::async_connect(*socket, results,
                             guarded([this, socket](const boost::system::error_code& e, const tcp::endpoint&) {
                               on_connected(e, *socket);
                             }));
}

void TcpTransport::on_connected(const boost::system::error_code& ec, tcp::socket& socket) {
  if (!connect_pending_) return;
  if (ec) {
    connect_failed(ec.message());
    return;
  }
  connect_pending_ = false;
  connect_timer_.cancel();
  connecting_.reset();
  log_->info("connected to {}:{}", cfg_.connect, cfg_.port);
  open_session(std::move(socket), vpnsdk::Role::initiator);
}

void TcpTransport::connect_failed(const std::string& reason) {
  connect_pending_ = false;
  boost::system::error_code ignored;
  connect_timer_.cancel();
  resolver_.cancel();
  if (connecting_) connecting_->close(ignored);
  connecting_.reset();
  Status why = Status::error(Code::io, "cannot connect to " + cfg_.connect + ":" + std::to_string(cfg_.port) + ": " + reason);
  log_->debug("{}", why.message);  // the host reports it
  env_.sink->failed(why);  // last statement: the sink may destroy us
}

// ---- both --------------------------------------------------------------------

void TcpTransport::open_session(tcp::socket socket, vpnsdk::Role role) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) {  // already gone again
    if (role == vpnsdk::Role::responder) {
      ++n_.accept_errors;
      env_.quiet.log(*log_, spdlog::level::debug, "accepted connection vanished: {}", ec.message());
    } else {
      connect_failed(ec.message());
    }
    return;
  }
  vpnsdk::SessionInfo info{next_id_++, role, to_endpoint(remote)};
  auto session = std::make_shared<TcpSession>(env_, info, std::move(socket));
  sessions_.emplace(info.id, session);
  ++n_.sessions_opened;
  env_.quiet.log(*log_, spdlog::level::debug, "session {} opened ({}, peer {})", info.id,
                 role == vpnsdk::Role::initiator ? "initiator" : "responder", info.peer.to_string());
  try {
    env_.sink->opened(info);  // may close the session, stop or even destroy us
  } catch (const std::exception& e) {
    session->close(Status::error(Code::internal, std::string("sink.opened threw: ") + e.what()));
  } catch (...) {
    session->close(Status::error(Code::internal, "sink.opened threw"));
  }
  session->begin();  // touches only the session, which our local reference keeps alive
}

}  // namespace transport_tcp
