// TcpTransport: vpnsdk::Transport over TCP. Listen mode accepts any number
// of sessions (Role::responder); connect mode opens one (Role::initiator).
// The per-connection work lives in TcpSession; this class owns the
// acceptor/connector and the session table and keeps the SDK's promises:
// no sink callback inside start/send/close, none after stop().
#pragma once
#include <memory>
#include <string>
#include <unordered_map>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config.hpp"
#include "counters.hpp"
#include "session.hpp"
#include "vpnsdk/context.hpp"
#include "vpnsdk/transport.hpp"
#include "vpnsdk/wire.hpp"

namespace transport_tcp {

class TcpTransport final : public vpnsdk::Transport, private SessionOwner {
 public:
  using tcp = boost::asio::ip::tcp;

  explicit TcpTransport(const vpnsdk::HostContext& ctx);
  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  vpnsdk::Overhead overhead() const override { return {vpnsdk::wire::kHeaderSize, 0}; }
  vpnsdk::Status start(vpnsdk::TransportSink& sink) override;
  vpnsdk::Status send(vpnsdk::SessionId id, vpnsdk::Batch frames) override;
  void close(vpnsdk::SessionId id, const vpnsdk::Status& why) override;
  vpnsdk::Status reconnect() override;
  std::uint32_t frame_mtu(vpnsdk::SessionId id) const override;  // path_mtu.cpp
  void stop() override;

 private:
  void session_ended(vpnsdk::SessionId id) noexcept override;
  std::size_t session_count() const noexcept override { return sessions_.size(); }

  // Wraps a completion handler: does nothing once stop() ran or the
  // transport is gone, and never lets an exception reach io.run().
  template <class F>
  auto guarded(F f);

  vpnsdk::Status listen();
  void accept_next();
  void on_accept(const boost::system::error_code& ec, tcp::socket socket);
  void connect();
  void on_resolved(const boost::system::error_code& ec, const tcp::resolver::results_type& results);
  void on_connected(const boost::system::error_code& ec, tcp::socket& socket);
  void connect_failed(const std::string& reason);
  void open_session(tcp::socket socket, vpnsdk::Role role);

  boost::asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  Config cfg_;
  TcpCounters n_;
  SessionEnv env_;
  std::shared_ptr<int> guard_;  // handlers hold a weak_ptr; reset by stop()

  tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_backoff_;
  tcp::resolver resolver_;
  std::shared_ptr<tcp::socket> connecting_;
  boost::asio::steady_timer connect_timer_;
  bool connect_pending_ = false;

  std::unordered_map<vpnsdk::SessionId, std::shared_ptr<TcpSession>> sessions_;
  vpnsdk::SessionId next_id_ = 1;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace transport_tcp
