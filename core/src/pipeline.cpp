// Pipeline: sessions and the control protocol. The data path is in datapath.cpp.
#include "vpnhost/pipeline.hpp"

#include <boost/asio/post.hpp>

namespace vpnhost {

using vpnsdk::Code;
using vpnsdk::Status;
using vpnsdk::wire::FrameType;
namespace proto = protocol;

Pipeline::Pipeline(boost::asio::io_context& io, vpnsdk::PacketPool& pool, CounterRegistry& counters,
                   Stages& stages, SessionLimits limits)
    : io_(io),
      pool_(pool),
      counters_(counters),
      stages_(stages),
      limits_(limits),
      log_(spdlog::default_logger()),
      tick_timer_(io),
      drain_timer_(io),
      reconnect_timer_(io) {
  transport_ = stages_.transport->as<vpnsdk::Transport>();
  cipher_ = stages_.cipher->as<vpnsdk::Cipher>();
  router_ = stages_.router->as<vpnsdk::Router>();
  if (stages_.device) device_ = stages_.device->as<vpnsdk::Device>();
  for (auto& r : stages_.responders) responders_.emplace_back(r->as<vpnsdk::Responder>(), r.get());
  c_ = {&counters_.get("host.sessions_opened"), &counters_.get("host.sessions_closed"),
        &counters_.get("host.sessions_active"), &counters_.get("host.rx_packets"),
        &counters_.get("host.rx_bytes"),        &counters_.get("host.tx_packets"),
        &counters_.get("host.tx_bytes"),        &counters_.get("host.device_rx_packets"),
        &counters_.get("host.device_tx_packets"), &counters_.get("host.plugin_exceptions"),
        &counters_.get("host.protocol_errors"), &counters_.get("host.local_replies")};
  mc_ = {&counters_.get("icmp.frag_needed_sent"), &counters_.get("icmp.frag_needed_limited"),
         &counters_.get("ipv4.fragmented"), &counters_.get("ipv4.fragments_sent"), &counters_.get("tcp.mss_clamped")};
  counters_.get("host.roams");  // registered now so status and /metrics show 0 before the first roam
  pending_.reserve(256);
  scratch_.reserve(256);
  to_device_.reserve(256);
}

Pipeline::~Pipeline() = default;

Pipeline::Session* Pipeline::find(vpnsdk::SessionId id) {
  if (id == 0) return nullptr;
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::size_t Pipeline::established_count() const {
  std::size_t n = 0;
  for (const auto& [id, s] : sessions_)
    if (s.state == State::established) ++n;
  return n;
}

// A flood of connections that never finish their handshake must not keep
// real clients out: beyond the cap, the oldest unfinished one makes room.
void Pipeline::evict_oldest_handshake(vpnsdk::SessionId except) {
  Session* oldest = nullptr;
  for (auto& [id, s] : sessions_) {
    if (id == except || s.state == State::established || s.state == State::closing) continue;
    if (oldest == nullptr || s.opened_at < oldest->opened_at) oldest = &s;
  }
  if (oldest == nullptr) return;
  drop("handshake_evicted", oldest);
  end_session(*oldest, "evicted: too many sessions in handshake (max_handshakes)");
}

std::size_t Pipeline::handshaking_count() const {
  std::size_t n = 0;
  for (const auto& [id, s] : sessions_)
    if (s.state != State::established && s.state != State::closing) ++n;
  return n;
}

Status Pipeline::start() {
  // A host that knows its own address up front (a server) starts its device now.
  if (device_ != nullptr) {
    std::optional<vpnsdk::Assignment> self;
    guarded(*stages_.router, 0, "local", [&] { self = router_->local(); });
    if (self) {
      self->mtu = server_device_mtu(*self);
      Status st;
      if (!guarded(*stages_.device, 0, "start", [&] { st = device_->start(*this, *self); }))
        return Status::error(Code::internal, "[device] " + stages_.device->name + " threw while starting");
      if (!st.ok()) return Status::error(st.code, "[device] " + stages_.device->name + ": " + st.message);
      device_started_ = true;
      device_mtu_ = self->mtu;
    }
  }
  Status st;
  if (!guarded(*stages_.transport, 0, "start", [&] { st = transport_->start(*this); }))
    return Status::error(Code::internal, "[transport] " + stages_.transport->name + " threw while starting");
  if (!st.ok()) return Status::error(st.code, "[transport] " + stages_.transport->name + ": " + st.message);
  arm_tick();
  return {};
}

void Pipeline::opened(const vpnsdk::SessionInfo& info) {
  auto now = Clock::now();
  auto [it, fresh] = sessions_.try_emplace(info.id);
  Session& s = it->second;
  if (!fresh) {
    log_->error("[{}] opened session {} twice", stages_.transport->name, info.id);
    return;
  }
  s.info = info;
  s.opened_at = s.last_rx = s.last_tx = now;
  ++*c_.sessions_opened;
  debug_limited("session {} opened ({} {})", info.id, info.role == vpnsdk::Role::initiator ? "to" : "from",
              info.peer.to_string());

  if (stopping_) return end_session(s, "shutting down");
  if (handshaking_count() > limits_.max_handshakes) evict_oldest_handshake(info.id);
  Status st;
  if (!guarded(*stages_.cipher, info.id, "new_session", [&] { st = cipher_->new_session(info, s.cipher); })) return;
  if (!st.ok() || !s.cipher) return end_session(s, "cipher refused the session: " + st.message);
  vpnsdk::HandshakeMessages out;
  if (!guarded(*stages_.cipher, info.id, "start", [&] { st = s.cipher->start(out); })) return;
  if (!st.ok()) return end_session(s, "cipher handshake failed to start: " + st.message);
  send_handshake(s, out);
  bool ready = false;
  guarded(*stages_.cipher, info.id, "established", [&] { ready = s.cipher->established(); });
  if (ready && s.state == State::handshaking) cipher_ready(s);
}

void Pipeline::cipher_ready(Session& s) {
  if (s.info.role == vpnsdk::Role::responder) {
    s.state = State::awaiting_hello;
    return;
  }
  proto::Hello hello;
  hello.max_body = static_cast<std::uint16_t>(std::min<std::size_t>(pool_.config().payload, 0xffff));
  hello.requested_mtu = derive_mtu(s);
  if (s.state == State::closing) return;
  if (send_control(s, FrameType::hello, proto::encode(hello))) s.state = State::hello_sent;
}

void Pipeline::send_handshake(Session& s, const vpnsdk::HandshakeMessages& msgs) {
  for (const auto& m : msgs) {
    vpnsdk::PacketPtr p = pool_.acquire_control();  // the pool's control reserve: never starved by data
    if (!p || !p->append(m)) {
      drop("pool_exhausted", &s);
      return end_session(s, "cannot buffer a handshake message");
    }
    p->meta.frame_type = static_cast<std::uint8_t>(FrameType::handshake);
    guarded(*stages_.transport, s.info.id, "send", [&] { transport_->send(s.info.id, vpnsdk::Batch(&p, 1)); });
    s.last_tx = Clock::now();
  }
}

bool Pipeline::send_control(Session& s, FrameType type, const proto::Bytes& body) {
  vpnsdk::PacketPtr p = pool_.acquire_control();  // the pool's control reserve: never starved by data
  if (!p || !p->append(body)) {
    drop("pool_exhausted", &s);
    return false;
  }
  p->meta.frame_type = static_cast<std::uint8_t>(type);
  p->meta.session = s.info.id;
  Status st;
  if (!guarded(*stages_.cipher, s.info.id, "seal", [&] { st = s.cipher->seal(*p); })) return false;
  if (!st.ok()) {
    drop(vpnsdk::code_name(st.code), &s);
    return false;
  }
  if (!guarded(*stages_.transport, s.info.id, "send", [&] { st = transport_->send(s.info.id, vpnsdk::Batch(&p, 1)); }))
    return false;
  s.last_tx = Clock::now();
  return st.ok();
}

void Pipeline::received(vpnsdk::SessionId id, vpnsdk::Batch frames) {
  Session* s = find(id);
  if (s == nullptr) return;  // frames racing a close: nothing to do
  // last_rx moves only for a frame the cipher authenticated (handle_frame,
  // handle_handshake): junk carrying a session's id must not keep it alive.
  for (auto& f : frames) {
    if (s->state == State::closing) break;
    if (f) handle_frame(*s, std::move(f));
  }
  flush();
}

void Pipeline::handle_frame(Session& s, vpnsdk::PacketPtr f) {
  const auto type = static_cast<FrameType>(f->meta.frame_type);
  bool ready = false;
  guarded(*stages_.cipher, s.info.id, "established", [&] { ready = s.cipher->established(); });
  if (s.state == State::closing) return;
  // Handshake messages go to the cipher: after the first handshake they
  // carry rekeys, and a cipher without a handshake refuses them. One from a
  // new underlay endpoint never reaches it: a session moves only after its
  // data frames authenticated the new path (roaming.cpp), and a rekey from
  // there succeeds once they did.
  if (type == FrameType::handshake) {
    if (f->meta.path != 0) {
      drop("handshake_from_new_path", &s);
      return debug_limited("session {}: HANDSHAKE from a new underlay endpoint dropped", s.info.id);
    }
    return handle_handshake(s, *f, ready);
  }
  if (!ready) return violation(s, std::string(vpnsdk::wire::type_name(f->meta.frame_type)) +
                                      " before the cipher handshake completed");
  Status st;
  const std::uint32_t path = f->meta.path;  // nonzero: from a new underlay endpoint (roaming.cpp)
  if (!guarded(*stages_.cipher, s.info.id, "open", [&] { st = s.cipher->open(*f); })) return;
  if (!st.ok()) {
    if (st.code == Code::session_fatal) return end_session(s, "cipher: " + st.message);
    return drop(vpnsdk::code_name(st.code), &s);
  }
  if (path != 0 && !follow_path(s, path)) return;
  s.last_rx = Clock::now();  // authenticated (as far as this cipher authenticates anything)
  switch (type) {
    case FrameType::data:
      if (s.state != State::established) return violation(s, "DATA before WELCOME");
      ++s.rx_packets;
      s.rx_bytes += f->size();
      ++*c_.rx_packets;
      *c_.rx_bytes += f->size();
      return route_packet(s.info.id, std::move(f));
    case FrameType::keepalive:
      return;
    case FrameType::hello:
      if (s.info.role != vpnsdk::Role::responder) return violation(s, "HELLO sent to a client");
      if (s.state != State::awaiting_hello) return violation(s, "HELLO twice");
      return on_hello(s, *f);
    case FrameType::welcome:
      if (s.info.role != vpnsdk::Role::initiator || s.state != State::hello_sent)
        return violation(s, "unexpected WELCOME");
      return on_welcome(s, *f);
    case FrameType::reject:
      if (s.info.role != vpnsdk::Role::initiator) return violation(s, "REJECT sent to a server");
      return on_reject(s, *f);
    case FrameType::bye:
      return on_bye(s, *f);
    default:
      return violation(s, std::string("unexpected frame type ") + std::to_string(f->meta.frame_type));
  }
}

void Pipeline::handle_handshake(Session& s, const vpnsdk::PacketBuffer& frame, bool established) {
  vpnsdk::HandshakeMessages out;
  Status st;
  if (!guarded(*stages_.cipher, s.info.id, "handshake", [&] { st = s.cipher->handshake(frame.bytes(), out); })) return;
  if (!st.ok() && st.code != Code::again) {
    // On a session whose cipher is established a failing handshake message
    // is not from its peer as far as anyone can tell (a forged rekey, or a
    // 9-byte HANDSHAKE carrying a UDP session index for a cipher without a
    // handshake): it changes nothing. A rekey that really fails ends the
    // session through the cipher's tick() (keys too old), not here.
    if (established) {
      drop("handshake_unauthenticated", &s);
      return debug_limited("session {}: HANDSHAKE that the cipher refused on an established session dropped: {}",
                           s.info.id, st.message);
    }
    drop("handshake_failed", &s);
    // A client told "refused" (e.g. the server's key does not match) will not
    // do better by retrying: it ends like a lasting REJECT.
    if (st.code == Code::refused && s.info.role == vpnsdk::Role::initiator) {
      log_->error("cipher handshake refused: {}", st.message);
      end_session(s, "cipher handshake refused: " + st.message);
      return shutdown(3, "cipher handshake refused");
    }
    return end_session(s, "cipher handshake failed: " + st.message);
  }
  if (st.ok()) s.last_rx = Clock::now();  // a message the cipher accepted
  send_handshake(s, out);
  bool ready = false;
  guarded(*stages_.cipher, s.info.id, "established", [&] { ready = s.cipher->established(); });
  if (ready && s.state == State::handshaking) cipher_ready(s);
}

void Pipeline::on_hello(Session& s, const vpnsdk::PacketBuffer& body) {
  proto::Hello hello;
  if (std::string err = proto::decode(body.bytes(), hello); !err.empty()) return violation(s, err);
  if (hello.version != vpnsdk::wire::kProtocolVersion)
    return reject(s, proto::RejectCode::version,
                  "protocol version " + std::to_string(hello.version) + " is not supported; this server speaks " +
                      std::to_string(vpnsdk::wire::kProtocolVersion));
  if (established_count() >= limits_.max_sessions) {
    drop("session_limit", &s);
    return reject(s, proto::RejectCode::busy, "server busy: session limit reached");
  }
  std::optional<vpnsdk::PeerIdentity> who;
  guarded(*stages_.cipher, s.info.id, "peer", [&] { who = s.cipher->peer(); });
  vpnsdk::Assignment a;
  Status st;
  if (!guarded(*stages_.router, s.info.id, "assign", [&] { st = router_->assign(s.info, who ? &*who : nullptr, a); }))
    return;
  if (!st.ok()) {
    drop(st.code == Code::refused ? "assign_refused" : "assign_failed", &s);
    return reject(s, proto::RejectCode::pool_full, st.message.empty() ? "address pool full" : st.message);
  }
  s.assigned = true;
  a.keepalive_s = static_cast<std::uint16_t>(limits_.keepalive.count());
  a.timeout_s = static_cast<std::uint16_t>(limits_.session_timeout.count());
  // The smallest of: this end's MTU for the session (docs/mtu.md), the
  // router's (router_hub `mtu`, 0 = none) and what the client asked for.
  const std::uint16_t own = derive_mtu(s);
  if (s.state == State::closing) return;
  a.mtu = a.mtu != 0 ? std::min(a.mtu, own) : own;
  if (hello.requested_mtu >= 576 && hello.requested_mtu < a.mtu) a.mtu = hello.requested_mtu;
  // Never send the client a DATA frame larger than it said it accepts.
  const std::size_t overhead = cipher_->overhead().head + cipher_->overhead().tail;
  if (hello.max_body > 0 && hello.max_body < a.mtu + overhead) {
    if (hello.max_body < 576 + overhead)
      return reject(s, proto::RejectCode::protocol, "HELLO max_body " + std::to_string(hello.max_body) + " is below the minimum MTU 576");
    a.mtu = static_cast<std::uint16_t>(hello.max_body - overhead);
  }
  s.assignment = a;
  proto::Welcome w;
  w.max_body = static_cast<std::uint16_t>(std::min<std::size_t>(pool_.config().payload, 0xffff));
  w.assignment = a;
  if (!send_control(s, FrameType::welcome, proto::encode(w))) return end_session(s, "cannot send WELCOME");
  s.state = State::established;
  info_limited("session {} from {} assigned {}", s.info.id, s.info.peer.to_string(), vpnsdk::ipv4::to_string(a.address));
}

void Pipeline::on_welcome(Session& s, const vpnsdk::PacketBuffer& body) {
  proto::Welcome w;
  if (std::string err = proto::decode(body.bytes(), w); !err.empty()) return violation(s, err);
  if (w.version != vpnsdk::wire::kProtocolVersion)
    return violation(s, "WELCOME for protocol version " + std::to_string(w.version) + "; this client speaks " +
                            std::to_string(vpnsdk::wire::kProtocolVersion));
  const auto& a = w.assignment;
  Status st;
  if (!guarded(*stages_.router, s.info.id, "assigned", [&] { st = router_->assigned(s.info.id, a); })) return;
  if (!st.ok()) {
    const std::string why = "[router] " + stages_.router->name + " refused the assignment: " + st.message;
    end_session(s, why);
    // Code::refused: this client's own rules (router_client accept_networks,
    // min_prefix_len) refuse it; asking the same server again gives the same
    // answer, so the client ends as for a lasting REJECT (exit 3). Anything
    // else (e.g. address 0.0.0.0) is taken as transient: reconnect.
    if (st.code == Code::refused) {
      log_->error("{}", why);
      return shutdown(3, "assignment refused");
    }
    return;
  }
  s.assignment = a;
  s.assigned = true;
  // The server's values rule the session (0: none), so both ends agree.
  limits_.keepalive = std::chrono::seconds(a.keepalive_s);
  limits_.session_timeout = std::chrono::seconds(a.timeout_s);
  if (device_ != nullptr) {
    if (!guarded(*stages_.device, s.info.id, "start", [&] { st = device_->start(*this, a); })) return;
    if (!st.ok()) {
      log_->error("[device] {}: {}", stages_.device->name, st.message);
      return shutdown(1, "device failed");
    }
    device_started_ = true;
    device_mtu_ = a.mtu;
  }
  s.state = State::established;
  reconnect_attempt_ = 0;
  log_->info("assigned {}/{} (server {}, mtu {})", vpnsdk::ipv4::to_string(a.address), int(a.prefix_len),
             vpnsdk::ipv4::to_string(a.server), a.mtu);
}

void Pipeline::on_reject(Session& s, const vpnsdk::PacketBuffer& body) {
  proto::Reject r;
  if (std::string err = proto::decode(body.bytes(), r); !err.empty()) return violation(s, err);
  const std::string reason = r.reason.empty() ? proto::reject_code_name(r.code) : r.reason;
  log_->error("rejected by server: {}", reason);
  s.state = State::closing;
  guarded(*stages_.transport, s.info.id, "close",
          [&] { transport_->close(s.info.id, Status::error(Code::refused, "rejected: " + reason)); });
  // A lasting reason (version, auth, protocol) will not change by retrying.
  if (proto::is_lasting(r.code)) return shutdown(3, "rejected by server (" + reason + ")");
  if (!limits_.reconnect) return shutdown(2, "rejected by server (" + reason + ")");
  // Transient (pool full, busy): closed() schedules the retry with backoff.
}

void Pipeline::on_bye(Session& s, const vpnsdk::PacketBuffer& body) {
  proto::Bye b;
  if (std::string err = proto::decode(body.bytes(), b); !err.empty()) return violation(s, err);
  s.state = State::closing;
  guarded(*stages_.transport, s.info.id, "close",
          [&] { transport_->close(s.info.id, Status::error(Code::session_fatal, "peer said goodbye")); });
  if (s.info.role == vpnsdk::Role::initiator) {
    log_->info("server said goodbye ({}{}{})", proto::bye_reason_name(b.reason), b.text.empty() ? "" : ": ", b.text);
    // "shutdown" ends the client (unless told to stay); "restart" and
    // "timeout" mean: come back. closed() schedules the reconnect.
    const bool stay = b.reason != proto::ByeReason::shutdown || !limits_.exit_on_server_bye;
    if (!stay || !limits_.reconnect) shutdown(0, "server said goodbye");
  } else {
    debug_limited("session {} said goodbye ({})", s.info.id, proto::bye_reason_name(b.reason));
  }
}

void Pipeline::reject(Session& s, proto::RejectCode code, const std::string& reason) {
  warn_limited("session {} from {} rejected: {}", s.info.id, s.info.peer.to_string(), reason);
  send_control(s, FrameType::reject, proto::encode(proto::Reject{code, reason}));
  end_session(s, "rejected: " + reason);
}

void Pipeline::violation(Session& s, const std::string& what) {
  ++*c_.protocol_errors;
  // An established session whose cipher authenticates nobody (cipher_xor)
  // cannot tell its peer's frames from anyone else's (over UDP the session
  // index is in every datagram): a frame that does not parse or does not
  // belong there is dropped and counted, never the end of the session.
  if (s.state == State::established) {
    std::optional<vpnsdk::PeerIdentity> who;
    if (!guarded(*stages_.cipher, s.info.id, "peer", [&] { who = s.cipher->peer(); })) return;
    if (!who) {
      drop("violation_unauthenticated", &s);
      return debug_limited("session {} from {}: protocol violation ignored (unauthenticated): {}", s.info.id,
                           s.info.peer.to_string(), what);
    }
  }
  drop("protocol_violation", &s);
  warn_limited("session {} from {}: protocol violation: {}", s.info.id, s.info.peer.to_string(), what);
  end_session(s, "protocol violation: " + what);
}

void Pipeline::end_session(Session& s, const std::string& why) {
  if (s.state == State::closing) return;
  s.state = State::closing;
  debug_limited("closing session {}: {}", s.info.id, why);
  guarded(*stages_.transport, 0, "close",
          [&] { transport_->close(s.info.id, Status::error(Code::session_fatal, why)); });
}

void Pipeline::closed(vpnsdk::SessionId id, const Status& why) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  const bool client_side = s.info.role == vpnsdk::Role::initiator;
  const bool we_closed = s.state == State::closing;
  if (s.assigned) guarded(*stages_.router, 0, "release", [&] { router_->release(id); });
  debug_limited("session {} closed: {}", id, why.message.empty() ? "done" : why.message);
  sessions_.erase(it);
  ++*c_.sessions_closed;
  if (client_side && !stopping_) {
    const std::string reason = why.message.empty() ? "closed" : why.message;
    if (!we_closed) log_->error("lost connection to server: {}", reason);
    schedule_reconnect(reason);
  }
  if (stopping_ && sessions_.empty()) boost::asio::post(io_, [this] { finish(); });
}

void Pipeline::failed(const Status& why) {
  log_->error("[transport] {}: {}", stages_.transport->name, why.message);
  if (!stopping_ && sessions_.empty()) schedule_reconnect(why.message);
}

// Exponential backoff with jitter: reconnect_min, doubling, capped at
// reconnect_max; each wait is drawn from [half, full] of the step so a
// fleet of clients does not come back in lockstep after a server restart.
void Pipeline::schedule_reconnect(const std::string& why) {
  if (stopping_) return;
  if (!limits_.reconnect) return shutdown(1, "connection lost");
  const auto min = limits_.reconnect_min.count(), max = limits_.reconnect_max.count();
  long long step = min;
  for (unsigned i = 0; i < reconnect_attempt_ && step < max; ++i) step *= 2;
  if (step > max) step = max;
  std::uniform_int_distribution<long long> pick(step / 2, step);
  const auto delay = std::chrono::milliseconds(pick(jitter_));
  ++reconnect_attempt_;
  ++counters_.get("host.reconnects");
  log_->info("reconnecting in {:.1f} s (attempt {}): {}", delay.count() / 1000.0, reconnect_attempt_, why);
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    Status st;
    if (!guarded(*stages_.transport, 0, "reconnect", [&] { st = transport_->reconnect(); })) return shutdown(1, "transport failed");
    if (!st.ok()) {
      log_->error("[transport] {} cannot reconnect: {}", stages_.transport->name, st.message);
      shutdown(1, "cannot reconnect");
    }
  });
}

void Pipeline::device_failed(const Status& why) {
  log_->error("[device] {}: {}", stages_.device ? stages_.device->name : "?", why.message);
  shutdown(1, "device failed");
}

void Pipeline::arm_tick() {
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || finished_) return;
    tick();
    arm_tick();
  });
}

void Pipeline::tick() {
  const auto now = Clock::now();
  for (auto& entry : sessions_) {
    const vpnsdk::SessionId id = entry.first;
    Session& s = entry.second;
    if (s.state == State::closing) continue;
    vpnsdk::HandshakeMessages out;
    Status st;
    if (!guarded(*stages_.cipher, id, "tick", [&] { st = s.cipher->tick(out); })) continue;
    if (st.code == Code::session_fatal || st.code == Code::refused) {
      end_session(s, "cipher: " + st.message);
      if (st.code == Code::refused && s.info.role == vpnsdk::Role::initiator) {
        log_->error("cipher refused the session: {}", st.message);
        shutdown(3, "cipher refused the session");
        break;  // shutdown() walked the session table
      }
      continue;
    }
    send_handshake(s, out);
    if (s.state == State::closing) continue;
    if (s.state != State::established) {
      if (now - s.opened_at > limits_.handshake_timeout) {
        drop("handshake_timeout", &s);
        end_session(s, "handshake not completed in time");
      }
      continue;
    }
    if (limits_.session_timeout.count() > 0 && now - s.last_rx > limits_.session_timeout) {
      drop("session_timeout", &s);
      info_limited("session {} ({}) silent for {} s: dropped", id, vpnsdk::ipv4::to_string(s.assignment.address),
                 limits_.session_timeout.count());
      send_control(s, FrameType::bye, proto::encode(proto::Bye{proto::ByeReason::timeout, "idle timeout"}));
      end_session(s, "idle timeout");
      continue;
    }
    if (limits_.keepalive.count() > 0 && now - s.last_tx >= limits_.keepalive)
      send_control(s, FrameType::keepalive, {});
  }
}

void Pipeline::shutdown(int exit_code, const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = exit_code;
  reconnect_timer_.cancel();
  log_->info("shutting down: {}", why);
  for (auto& [id, s] : sessions_) {
    if (s.state == State::established) {
      const bool client = s.info.role == vpnsdk::Role::initiator;
      send_control(s, FrameType::bye,
                   proto::encode(proto::Bye{client ? proto::ByeReason::leaving : proto::ByeReason::shutdown, why}));
    }
    end_session(s, "shutting down");
  }
  if (sessions_.empty()) {
    boost::asio::post(io_, [this] { finish(); });
    return;
  }
  drain_timer_.expires_after(std::chrono::seconds(3));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) finish();
  });
}

void Pipeline::finish() {
  if (finished_) return;
  finished_ = true;
  tick_timer_.cancel();
  drain_timer_.cancel();
  reconnect_timer_.cancel();
  guarded(*stages_.transport, 0, "stop", [&] { transport_->stop(); });
  if (device_ != nullptr && device_started_) guarded(*stages_.device, 0, "stop", [&] { device_->stop(); });
  sessions_.clear();
  if (on_finished) on_finished(exit_code_);
}

std::string Pipeline::stats_text() {
  *c_.sessions_active = sessions_.size();
  std::string out = counters_.render();
  for (const auto& [id, s] : sessions_) {
    const std::string p = "session." + std::to_string(id) + ".";
    out += p + "address " + (s.assigned ? vpnsdk::ipv4::to_string(s.assignment.address) : "-") + "\n";
    out += p + "peer " + s.info.peer.to_string() + "\n";
    out += p + "mtu " + std::to_string(s.assigned ? s.assignment.mtu : 0) + "\n";
    out += p + "rx_packets " + std::to_string(s.rx_packets) + "\n";
    out += p + "rx_bytes " + std::to_string(s.rx_bytes) + "\n";
    out += p + "tx_packets " + std::to_string(s.tx_packets) + "\n";
    out += p + "tx_bytes " + std::to_string(s.tx_bytes) + "\n";
    out += p + "drops " + std::to_string(s.drops) + "\n";
  }
  return out;
}

}  // namespace vpnhost
