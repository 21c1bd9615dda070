#include "udp_transport.hpp"

#include <array>
#include <exception>
#include <map>
#include <string>

#include <boost/asio/post.hpp>

#include "config.hpp"
#include "datagram.hpp"

namespace transport_udp_demo {

using boost::asio::ip::udp;
using vpnsdk::Code;
using vpnsdk::SessionId;
using vpnsdk::Status;

namespace {

std::string text(const udp::endpoint& ep) { return ep.address().to_string() + ":" + std::to_string(ep.port()); }

vpnsdk::Endpoint sdk_endpoint(const udp::endpoint& ep) {
  return {ep.address().to_string(), ep.port()};
}

}  // namespace

struct UdpTransport::State : std::enable_shared_from_this<State> {
  State(const vpnsdk::HostContext& ctx, Config config)
      : io(*ctx.io), socket(io), pool(*ctx.pool), log(ctx.log), cfg(std::move(config)) {}

  boost::asio::io_context& io;
  udp::socket socket;
  vpnsdk::PacketPool& pool;
  std::shared_ptr<spdlog::logger> log;
  Config cfg;

  struct {
    std::uint64_t *sessions_opened, *sessions_closed, *frames_in, *frames_out, *bytes_in, *bytes_out,
        *protocol_errors, *send_drops, *pool_exhausted, *unknown_peer;
  } c{};

  vpnsdk::TransportSink* sink = nullptr;
  bool stopped = false;
  std::map<udp::endpoint, SessionId> by_peer;
  std::map<SessionId, udp::endpoint> by_id;
  SessionId next_id = 1;

  std::array<std::byte, 65536> rx{};
  udp::endpoint from;

  void receive() {
    socket.async_receive_from(boost::asio::buffer(rx), from,
                              [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                                if (self->stopped) return;  // stop() ran: touch nothing else
                                if (ec) {
                                  if (ec == boost::asio::error::operation_aborted) return;
                                  self->log->debug("receive: {}", ec.message());
                                } else {
                                  try {  // nothing may escape into the host's event loop
                                    self->on_datagram(n);
                                  } catch (const std::exception& e) {
                                    self->log->error("dropped a datagram: {}", e.what());
                                  }
                                }
                                if (!self->stopped) self->receive();
                              });
  }

  // One datagram: validate, find (or open) its session, hand the frame over.
  void on_datagram(std::size_t n) {
    const ParsedFrame f = parse_datagram({rx.data(), n});
    if (!f.ok) {
      ++*c.protocol_errors;
      log->trace("dropped a datagram of {} bytes from {}: {}", n, text(from), f.problem);
      return;
    }
    SessionId id = 0;
    if (cfg.server) {
      if (auto it = by_peer.find(from); it != by_peer.end()) {
        id = it->second;
      } else {
        id = next_id++;
        by_peer[from] = id;
        by_id[id] = from;
        ++*c.sessions_opened;
        log->debug("session {}: new peer {}", id, text(from));
        sink->opened({id, vpnsdk::Role::responder, sdk_endpoint(from)});
        // The host may have stopped us or closed the session inside opened().
        if (stopped || by_id.count(id) == 0) return;
      }
    } else {
      if (from != cfg.peer) {
        ++*c.unknown_peer;
        return;
      }
      if (by_id.empty()) return;  // our session is closed
      id = by_id.begin()->first;
    }
    vpnsdk::PacketPtr p = pool.acquire();
    if (!p) {
      ++*c.pool_exhausted;
      return;
    }
    if (!p->append(f.body)) {
      ++*c.protocol_errors;
      log->trace("dropped a {}-byte frame from {}: larger than a packet buffer", f.body.size(), text(from));
      return;
    }
    p->meta.frame_type = f.type;
    p->meta.session = id;
    ++*c.frames_in;
    *c.bytes_in += n;
    sink->received(id, vpnsdk::Batch(&p, 1));
  }
};

UdpTransport::UdpTransport(const vpnsdk::HostContext& ctx)
    : s_(std::make_shared<State>(ctx, parse_config(*ctx.options))) {
  auto& r = *ctx.counters;
  s_->c = {&r.counter("sessions_opened"), &r.counter("sessions_closed"), &r.counter("frames_in"),
           &r.counter("frames_out"),      &r.counter("bytes_in"),        &r.counter("bytes_out"),
           &r.counter("protocol_errors"), &r.counter("send_drops"),      &r.counter("pool_exhausted"),
           &r.counter("unknown_peer")};
}

UdpTransport::~UdpTransport() { stop(); }

vpnsdk::Overhead UdpTransport::overhead() const {
  return {static_cast<std::uint16_t>(vpnsdk::wire::kHeaderSize), 0};
}

Status UdpTransport::start(vpnsdk::TransportSink& sink) try {
  State& s = *s_;
  if (s.sink != nullptr || s.stopped) return Status::error(Code::internal, "transport_udp_demo: started twice");
  boost::system::error_code ec;
  const udp::endpoint local = s.cfg.server ? s.cfg.local : udp::endpoint(s.cfg.peer.protocol(), 0);
  s.socket.open(local.protocol(), ec);
  if (!ec) s.socket.bind(local, ec);
  if (!ec) s.socket.non_blocking(true, ec);  // send() must never block the event loop
  if (ec) {
    s.socket.close(ec);
    return Status::error(Code::io, s.cfg.server ? "cannot listen on udp " + text(local) + ": " + ec.message()
                                                : "cannot open a UDP socket: " + ec.message());
  }
  s.sink = &sink;
  if (s.cfg.server) {
    s.log->info("listening on udp {}", text(s.socket.local_endpoint(ec)));
  } else {
    // A client's one session exists at once; tell the host after start()
    // returns (never call the sink from inside a host call).
    s.by_id[1] = s.cfg.peer;
    s.by_peer[s.cfg.peer] = 1;
    ++*s.c.sessions_opened;
    s.log->info("sending to udp {}", text(s.cfg.peer));
    boost::asio::post(s.io, [self = s_] {
      if (self->stopped || self->by_id.count(1) == 0) return;
      self->sink->opened({1, vpnsdk::Role::initiator, sdk_endpoint(self->cfg.peer)});
    });
  }
  s.receive();
  return {};
} catch (const std::exception& e) {  // errors cross the plugin boundary as values
  return Status::error(Code::internal, std::string("transport_udp_demo: start: ") + e.what());
}

Status UdpTransport::send(SessionId id, vpnsdk::Batch frames) try {
  State& s = *s_;
  const auto it = s.by_id.find(id);
  if (s.stopped || it == s.by_id.end())
    return Status::error(Code::drop_no_route, "transport_udp_demo: no session " + std::to_string(id));
  std::size_t dropped = 0;
  for (auto& f : frames) {
    if (!f) continue;
    const std::size_t body = f->size();
    std::byte* header = nullptr;
    if (body <= vpnsdk::wire::kMaxBody && vpnsdk::wire::known_type(f->meta.frame_type))
      header = f->push(vpnsdk::wire::kHeaderSize);  // into the headroom: no copy
    if (header == nullptr) {
      ++dropped;
      ++*s.c.send_drops;
      continue;
    }
    vpnsdk::wire::encode_header(header, static_cast<std::uint16_t>(body), f->meta.frame_type);
    boost::system::error_code ec;
    s.socket.send_to(boost::asio::buffer(f->data(), f->size()), it->second, 0, ec);
    if (ec) {  // would_block: the socket buffer is full; or the network said no
      ++dropped;
      ++*s.c.send_drops;
      s.log->trace("session {}: send: {}", id, ec.message());
      continue;
    }
    ++*s.c.frames_out;
    *s.c.bytes_out += f->size();
  }
  if (dropped != 0)
    return Status::error(Code::drop_overflow, std::to_string(dropped) + " frame(s) not sent (counted in send_drops)");
  return {};
} catch (const std::exception& e) {
  return Status::error(Code::internal, std::string("transport_udp_demo: send: ") + e.what());
}

void UdpTransport::close(SessionId id, const Status& why) try {
  State& s = *s_;
  const auto it = s.by_id.find(id);
  if (s.stopped || it == s.by_id.end()) return;
  s.by_peer.erase(it->second);
  s.by_id.erase(it);
  ++*s.c.sessions_closed;
  s.log->debug("session {} closed: {}", id, why.message.empty() ? "by the host" : why.message);
  // UDP has nothing to flush or tear down; closed() follows, from the loop.
  boost::asio::post(s.io, [self = s_, id, why] {
    if (!self->stopped) self->sink->closed(id, why);
  });
} catch (const std::exception& e) {
  s_->log->error("close of session {}: {}", id, e.what());
}

void UdpTransport::stop() {
  State& s = *s_;
  s.stopped = true;
  s.sink = nullptr;
  boost::system::error_code ec;
  s.socket.close(ec);  // the pending receive ends with operation_aborted
  s.by_id.clear();
  s.by_peer.clear();
}

}  // namespace transport_udp_demo
