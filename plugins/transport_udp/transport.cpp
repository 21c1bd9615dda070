#include "transport.hpp"

#include <cerrno>
#include <concepts>
#include <exception>
#include <stdexcept>
#include <utility>

#include <boost/asio/post.hpp>

#include "datagram.hpp"

namespace transport_udp {

using vpnsdk::Code;
using vpnsdk::Status;
using FT = vpnsdk::wire::FrameType;

namespace {

std::shared_ptr<spdlog::logger> logger_of(const vpnsdk::HostContext& ctx) {
  if (ctx.log) return ctx.log;
  return std::make_shared<spdlog::logger>("plugin:transport_udp");  // no sinks: silent
}

const vpnsdk::HostContext& checked(const vpnsdk::HostContext& ctx) {
  if (ctx.io == nullptr || ctx.options == nullptr || ctx.counters == nullptr || ctx.pool == nullptr)
    throw std::invalid_argument("transport_udp: host context lacks io, options, counters or pool");
  return ctx;
}

std::string text(const boost::asio::ip::udp::endpoint& ep) { return Peer::from(ep).text(); }

}  // namespace

UdpTransport::UdpTransport(const vpnsdk::HostContext& ctx)
    : io_(*checked(ctx).io),
      log_(logger_of(ctx)),
      cfg_(parse_config(*ctx.options)),
      n_(*ctx.counters),
      pool_(*ctx.pool),
      guard_(std::make_shared<int>(0)),
      resolver_(io_),
      connect_timer_(io_),
      close_timer_(io_),
      keepalive_timer_(io_),
      tokens_(cfg_.new_sessions_per_second),
      by_source_(cfg_.new_sessions_per_source) {
  if (cfg_.server() && cfg_.cookies) jar_.emplace();
}

UdpTransport::~UdpTransport() {
  try {
    stop();
  } catch (...) {
  }
}

template <class F>
auto UdpTransport::guarded(F f) {
  // Constrained, so Asio's overload selection still sees the real signature.
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

UdpTransport::Session* UdpTransport::find(vpnsdk::SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

DatagramSocket* UdpTransport::socket_of(const Session&) {
  return socket_ && !socket_->closed() ? socket_.get() : nullptr;
}

void UdpTransport::retire(std::unique_ptr<DatagramSocket> s) {
  if (!s) return;
  s->close();
  retired_.push_back(std::move(s));
  boost::asio::post(io_, guarded([this] { retired_.clear(); }));  // later: never inside its own callback
}

// ---- host calls --------------------------------------------------------------

Status UdpTransport::start(vpnsdk::TransportSink& sink) {
  try {
    if (started_ || stopped_) return Status::error(Code::internal, "transport_udp: start() called twice or after stop()");
    started_ = true;
    sink_ = &sink;
    refilled_ = Clock::now();
    if (cfg_.keepalive.count() > 0) arm_keepalive();
    if (cfg_.server()) return listen();
    connect();
    return {};
  } catch (const std::exception& e) {
    return Status::error(Code::internal, std::string("transport_udp: start failed: ") + e.what());
  }
}

Status UdpTransport::send(vpnsdk::SessionId id, vpnsdk::Batch frames) {
  try {
    Session* s = find(id);
    DatagramSocket* sock = s != nullptr ? socket_of(*s) : nullptr;
    if (sock == nullptr) {
      for (auto& p : frames) p.reset();
      return Status::error(Code::drop_no_route, "no open session " + std::to_string(id));
    }
    bool overflow = false, rejected = false;
    const bool indexed = !cfg_.server() || s->indexed;  // a client always speaks indices (0 until it knows)
    for (auto& slot : frames) {
      vpnsdk::PacketPtr f = std::move(slot);
      if (!f) continue;
      const std::size_t body = f->size();
      const std::uint8_t type = f->meta.frame_type;
      std::byte* head = nullptr;
      if (body <= kMaxFrameBody && vpnsdk::wire::known_type(type)) head = f->push(prefix_size(indexed));
      if (head == nullptr) {
        ++n_.send_rejects;
        rejected = true;
        continue;
      }
      encode_prefix(head, static_cast<std::uint16_t>(body), type, indexed, s->index);
      if (!cfg_.server() && cfg_.cookies && !heard_) {
        // Until the server answered, every datagram carries the cookie field
        // (zero until a COOKIE came): the server needs it before it opens the
        // session, and it makes the datagram at least as large as a COOKIE.
        f = with_cookie_field(std::move(f), body, type, s->index);
        if (!f) {
          ++n_.pool_exhausted;
          continue;
        }
        opener_.assign(f->bytes().begin(), f->bytes().end());
      }
      const bool rtx = s->ctl.on_send(type, f->bytes());
      // BYE goes out twice: nothing answers it, and a lost one would leave
      // the peer waiting for its idle timeout.
      vpnsdk::PacketPtr again;
      if (type == static_cast<std::uint8_t>(FT::bye)) {
        again = pool_.acquire();
        if (again && !again->append(f->bytes())) again.reset();
      }
      if (!sock->enqueue(std::move(f), dest(*s), &s->local)) {
        ++n_.queue_drops;
        overflow = true;
        continue;
      }
      if (again && !sock->enqueue(std::move(again), dest(*s), &s->local)) ++n_.queue_drops;
      if (rtx) arm_retransmit(*s, true);
    }
    s->last_tx = Clock::now();
    sock->flush();
    if (overflow)
      return Status::error(Code::drop_overflow, "the send queue of the UDP socket is full (session " +
                                                    std::to_string(id) + ")");
    if (rejected)
      return Status::error(Code::drop_malformed,
                           "frame without 8 bytes of headroom, too large for a datagram, or of unknown type");
    return {};
  } catch (const std::exception& e) {
    for (auto& p : frames) p.reset();
    return Status::error(Code::internal, std::string("transport_udp: send failed: ") + e.what());
  }
}

void UdpTransport::close(vpnsdk::SessionId id, const Status& why) {
  try {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) {
      log_->debug("close({}): no such session", id);
      return;
    }
    std::unique_ptr<Session> s = std::move(it->second);
    sessions_.erase(it);
    if (lim_session_.allow(*log_, spdlog::level::debug))
      log_->debug("session {} ({}): closing: {}{}", id, s->peer.text(), why.message, lim_session_.suffix());
    if (cfg_.server()) {
      // Its queued datagrams carry their destination: they still go out.
      if (auto p = by_peer_.find(s->peer); p != by_peer_.end() && p->second == id) by_peer_.erase(p);
      forget_index(*s);
      boost::asio::post(io_, guarded([this, id, why] {
        ++n_.sessions_closed;
        sink_->closed(id, why);
      }));
      return;
    }
    // Client: flush what is queued (bounded by close_timeout_ms), then close.
    closing_id_ = id;
    closing_why_ = why;
    if (socket_) socket_->flush();
    if (!socket_ || socket_->queued() == 0) {
      retire(std::move(socket_));
      boost::asio::post(io_, guarded([this] { finish_client_close(); }));
      return;
    }
    closing_socket_ = std::move(socket_);
    close_timer_.expires_after(cfg_.close_timeout);
    close_timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
      if (ec || !closing_socket_) return;
      n_.close_drops += closing_socket_->queued();
      finish_client_close();
    }));
  } catch (const std::exception& e) {
    log_->error("close({}) failed: {}", id, e.what());
  }
}

void UdpTransport::finish_client_close() {
  if (closing_id_ == 0) return;
  const vpnsdk::SessionId id = closing_id_;
  closing_id_ = 0;
  close_timer_.cancel();
  retire(std::move(closing_socket_));
  ++n_.sessions_closed;
  log_->debug("session {} closed: {}", id, closing_why_.message);
  sink_->closed(id, closing_why_);
}

void UdpTransport::stop() {
  if (stopped_) return;
  stopped_ = true;
  guard_.reset();  // every pending handler of ours becomes a no-op
  resolver_.cancel();
  connect_pending_ = false;
  try {
    connect_timer_.cancel();
    close_timer_.cancel();
    keepalive_timer_.cancel();
  } catch (...) {
  }
  if (socket_) socket_->close();
  if (closing_socket_) closing_socket_->close();
  const std::size_t dropped = sessions_.size();
  sessions_.clear();
  by_peer_.clear();
  by_index_.clear();
  for (std::size_t i = 0; i < ngroups_; ++i) groups_[i].frames.clear();
  if (started_) log_->info("stopped; {} session(s) dropped", dropped);
}

// ---- server ------------------------------------------------------------------

Status UdpTransport::listen() {
  const udp::endpoint ep(boost::asio::ip::make_address(cfg_.listen), cfg_.port);
  socket_ = std::make_unique<DatagramSocket>(io_, pool_, cfg_, n_, *log_, static_cast<SocketOwner&>(*this));
  if (const auto ec = socket_->open_listen(ep)) {
    socket_.reset();
    return Status::error(Code::io, "cannot listen on udp " + text(ep) + ": " + ec.message());
  }
  log_->info("listening on udp {}", text(socket_->local_endpoint()));
  socket_->start_receiving();
  return {};
}

// A source that echoed a valid cookie may open a session if neither its
// own bucket (new_sessions_per_source; an IPv4 address, an IPv6 /64) nor
// the global one (new_sessions_per_second) is empty. Without cookies the
// source is unproven: only the global bucket applies (a per-source one keyed
// on a forged address would lock its real owner out).
const char* UdpTransport::admit(const Peer& from) {
  const bool per_source = jar_.has_value() && cfg_.new_sessions_per_source > 0;
  const SourceKey key = per_source ? source_key(from) : SourceKey{};
  if (per_source && !by_source_.ready(key, Clock::now())) {
    ++n_.source_rate_limited;
    return "new_sessions_per_source reached";
  }
  if (!take_token()) return "new_sessions_per_second reached";
  if (per_source) by_source_.take(key);
  return nullptr;
}

bool UdpTransport::take_token() {
  if (cfg_.new_sessions_per_second == 0) return true;
  const auto now = Clock::now();
  const double rate = cfg_.new_sessions_per_second;
  tokens_ = std::min(rate, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate);
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

// ---- client ------------------------------------------------------------------

Status UdpTransport::reconnect() {
  if (stopped_ || !started_) return Status::error(Code::refused, "transport is not running");
  if (cfg_.server()) return Status::error(Code::refused, "listen mode does not reconnect");
  if (connect_pending_ || !sessions_.empty() || closing_id_ != 0)
    return Status::error(Code::refused, "already connecting or connected");
  connect();  // asynchronous: the outcome is reported through the sink later
  return {};
}

void UdpTransport::connect() {
  connect_pending_ = true;
  log_->info("connecting to udp {}:{}", cfg_.connect, cfg_.port);
  connect_timer_.expires_after(cfg_.connect_timeout);
  connect_timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
    if (ec || !connect_pending_) return;
    connect_failed("name not resolved within " + std::to_string(cfg_.connect_timeout.count()) + " s");
  }));
  resolver_.async_resolve(cfg_.connect, std::to_string(cfg_.port),
                          guarded([this](const boost::system::error_code& ec, udp::resolver::results_type r) {
                            on_resolved(ec, r);
                          }));
}

void UdpTransport::on_resolved(const boost::system::error_code& ec, const udp::resolver::results_type& results) {
  if (!connect_pending_) return;
  if (ec || results.empty()) {
    connect_failed(ec ? ec.message() : "no address");
    return;
  }
  // The first address that takes a connected socket (UDP connect sends nothing).
  std::string why = "no usable address";
  for (const auto& r : results) {
    auto sock = std::make_unique<DatagramSocket>(io_, pool_, cfg_, n_, *log_, static_cast<SocketOwner&>(*this));
    if (const auto e = sock->open_connect(r.endpoint())) {
      why = text(r.endpoint()) + ": " + e.message();
      continue;
    }
    connect_pending_ = false;
    connect_timer_.cancel();
    retire(std::move(socket_));
    socket_ = std::move(sock);
    remote_ = r.endpoint();
    cookie_ = {};  // a new connection proves its (new) address afresh
    heard_ = false;
    opener_.clear();
    cookie_resends_ = 0;
    socket_->start_receiving();
    log_->info("sending to udp {} from {}", text(r.endpoint()), text(socket_->local_endpoint()));
    Session* s = open_session(Peer::from(r.endpoint()), vpnsdk::Role::initiator);
    (void)s;
    return;
  }
  connect_failed(why);
}

void UdpTransport::connect_failed(const std::string& reason) {
  connect_pending_ = false;
  connect_timer_.cancel();
  resolver_.cancel();
  Status why = Status::error(Code::io, "cannot connect to udp " + cfg_.connect + ":" + std::to_string(cfg_.port) +
                                           ": " + reason);
  log_->debug("{}", why.message);  // the host reports it
  sink_->failed(why);              // last statement: the sink may destroy us
}

// Ends the client's session from the event loop (not inside a host call).
void UdpTransport::end_client_session(const Status& why) {
  if (sessions_.empty()) return;
  const vpnsdk::SessionId id = sessions_.begin()->first;
  sessions_.clear();
  retire(std::move(socket_));
  ++n_.sessions_closed;
  log_->debug("session {} closed: {}", id, why.message);
  sink_->closed(id, why);
}

// ---- both --------------------------------------------------------------------

UdpTransport::Session* UdpTransport::open_session(const Peer& peer, vpnsdk::Role role, const LocalAddr& local) {
  const vpnsdk::SessionInfo info{next_id_++, role, peer.endpoint()};
  auto owned = std::make_unique<Session>(io_, info, peer);
  owned->last_tx = Clock::now();
  owned->local = local;
  Session* s = owned.get();
  sessions_.emplace(info.id, std::move(owned));
  if (role == vpnsdk::Role::responder) {
    by_peer_.emplace(peer, info.id);
    give_index(*s);
  }
  ++n_.sessions_opened;
  if (lim_session_.allow(*log_, spdlog::level::debug))
    log_->debug("session {} opened ({}, peer {}{}{}){}", info.id,
                role == vpnsdk::Role::initiator ? "initiator" : "responder", peer.text(),
                local.valid() ? ", to " : "", local.valid() ? local.text() : "", lim_session_.suffix());
  try {
    sink_->opened(info);  // may close the session or stop us
  } catch (const std::exception& e) {
    if (!stopped_ && find(info.id) != nullptr)
      close(info.id, Status::error(Code::internal, std::string("sink.opened threw: ") + e.what()));
  } catch (...) {
    if (!stopped_ && find(info.id) != nullptr) close(info.id, Status::error(Code::internal, "sink.opened threw"));
  }
  if (stopped_) return nullptr;
  return find(info.id) == s ? s : nullptr;
}

void UdpTransport::send_copy(Session& s, std::span<const std::byte> datagram) {
  DatagramSocket* sock = socket_of(s);
  if (sock == nullptr) return;
  vpnsdk::PacketPtr p = pool_.acquire();
  if (!p || !p->append(datagram)) {
    ++n_.pool_exhausted;
    return;
  }
  if (!sock->enqueue(std::move(p), dest(s), &s.local)) {
    ++n_.queue_drops;
    return;
  }
  s.last_tx = Clock::now();
  sock->flush();
}

void UdpTransport::arm_retransmit(Session& s, bool fresh) {
  if (cfg_.retransmit.count() == 0 || cfg_.retransmit_attempts == 0) return;
  if (fresh) {
    s.rtx_sent = 0;
    s.rtx_delay = cfg_.retransmit;
  }
  s.rtx_timer.expires_after(s.rtx_delay);
  s.rtx_timer.async_wait(guarded([this, id = s.info.id](const boost::system::error_code& ec) {
    if (!ec) retransmit(id);
  }));
}

void UdpTransport::retransmit(vpnsdk::SessionId id) {
  Session* s = find(id);
  if (s == nullptr || s->ctl.pending().empty() || s->rtx_sent >= cfg_.retransmit_attempts) return;
  ++s->rtx_sent;
  ++n_.retransmits;
  if (log_->should_log(spdlog::level::debug))
    log_->debug("session {}: no answer after {} ms: {} sent again ({}/{})", id, s->rtx_delay.count(),
                vpnsdk::wire::type_name(vpnsdk::wire::decode_header(s->ctl.pending().data()).type), s->rtx_sent,
                cfg_.retransmit_attempts);
  Bytes copy(s->ctl.pending().begin(), s->ctl.pending().end());
  const bool field = copy.size() >= kPrefixSize + kCookieFieldSize && (copy[3] & std::byte{kFlagCookie}) != std::byte{0};
  if (!cfg_.server() && field)
    std::copy(cookie_.begin(), cookie_.end(), copy.begin() + kPrefixSize);  // the latest cookie
  send_copy(*s, copy);
  s->rtx_delay = std::min(s->rtx_delay * 2, cfg_.retransmit * 4);
  arm_retransmit(*s, false);
}

void UdpTransport::arm_keepalive() {
  keepalive_timer_.expires_after(std::chrono::seconds(1));
  keepalive_timer_.async_wait(guarded([this](const boost::system::error_code& ec) {
    if (ec) return;
    keepalive_tick();
    arm_keepalive();
  }));
}

// An empty datagram is not a frame: the receiving transport_udp counts and
// ignores it, the host never sees it. It only refreshes NAT mappings.
void UdpTransport::keepalive_tick() {
  const auto now = Clock::now();
  for (auto& [id, s] : sessions_) {
    DatagramSocket* sock = socket_of(*s);
    if (sock == nullptr || now - s->last_tx < cfg_.keepalive) continue;
    vpnsdk::PacketPtr p = pool_.acquire();
    if (!p) {
      ++n_.pool_exhausted;
      continue;
    }
    if (!sock->enqueue(std::move(p), dest(*s), &s->local)) {
      ++n_.queue_drops;
      continue;
    }
    ++n_.keepalives_sent;
    s->last_tx = now;
    sock->flush();
  }
}

}  // namespace transport_udp
