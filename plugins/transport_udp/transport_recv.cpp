// UdpTransport's receive side: datagrams -> sessions -> sink.received().
#include <cerrno>
#include <cstring>

#include "datagram.hpp"
#include "transport.hpp"

namespace transport_udp {

using vpnsdk::Code;
using vpnsdk::Status;

// Every datagram of the batch is checked and sorted into its session's
// group (opening sessions as needed), then each group goes to the host in
// one received() call, in arrival order within the session.
void UdpTransport::on_datagrams(DatagramSocket& sock, std::span<RxDatagram> batch) {
  if (stopped_ || &sock != socket_.get()) return;  // a retired socket's last batch: nobody wants it
  ngroups_ = 0;
  try {
    for (RxDatagram& d : batch) {
      classify(d);
      if (stopped_) break;
    }
    deliver_groups();
    if (tx_pending_ && socket_ && !stopped_) {  // the batch's COOKIE datagrams: one sendmmsg
      tx_pending_ = false;
      socket_->flush();
    }
  } catch (...) {
    for (Group& g : groups_) g.frames.clear();  // nothing stale for the next batch
    ngroups_ = 0;
    throw;  // the socket logs it and reads on
  }
}

void UdpTransport::classify(RxDatagram& d) {
  vpnsdk::PacketBuffer& b = *d.buf;
  if (d.truncated || b.size() > pool_.config().payload + kPrefixSize + kCookieFieldSize) {
    ++n_.oversize;
    if (lim_bad_.allow(*log_, spdlog::level::trace))
      log_->trace("dropped an oversize datagram from {}{}", d.from.text(), lim_bad_.suffix());
    return;
  }
  if (b.empty()) {  // the peer's NAT keepalive
    ++n_.empty_datagrams;
    return;
  }
  ParsedDatagram p = parse_datagram(b.bytes());
  // A COOKIE only goes server -> client, a cookie field only client -> server.
  if (p.ok && (p.cookie_reply ? cfg_.server() : p.cookie_field && !cfg_.server())) {
    p.ok = false;
    p.problem = p.cookie_reply ? "a COOKIE datagram sent to a server" : "a cookie field sent to a client";
  }
  if (!p.ok) {
    ++n_.bad_datagrams;
    if (lim_bad_.allow(*log_, spdlog::level::trace))
      log_->trace("dropped a datagram of {} bytes from {}: {}{}", b.size(), d.from.text(), p.problem,
                  lim_bad_.suffix());
    return;
  }
  if (p.ok && !p.cookie_field && b.size() > pool_.config().payload + kPrefixSize) {
    ++n_.oversize;  // (only a cookie field may make a datagram that much longer)
    if (lim_bad_.allow(*log_, spdlog::level::trace))
      log_->trace("dropped an oversize datagram from {}{}", d.from.text(), lim_bad_.suffix());
    return;
  }
  if (p.cookie_reply) {  // the transport's own business: never reaches the host
    on_cookie(b);
    return;
  }
  if (!cfg_.server()) heard_ = true;  // the server answered: no cookie field from now on
  b.meta.path = 0;
  Session* s = p.indexed && p.index != 0 && cfg_.server() ? session_by_index(d, p.index) : nullptr;
  if (s == nullptr) s = session_for(d, p);
  if (s == nullptr) return;
  if (p.cookie_field) {  // checked (or not needed): the rest of the way it is a datagram without one
    strip_cookie_field(b.data(), p);
    b.pull(kCookieFieldSize);
  }
  if (p.indexed) {
    if (cfg_.server())
      s->indexed = true;  // it speaks indices: our datagrams carry its index from now on
    else if (p.index != 0)
      s->index = p.index;  // the server's latest word on our index
  }
  std::span<const std::byte> resend;
  const ControlState::Verdict v = s->ctl.on_receive(p.type, b.bytes(), resend);
  if (!resend.empty()) {
    ++n_.replies_resent;
    const Bytes copy(resend.begin(), resend.end());
    send_copy(*s, copy);
  }
  if (s->ctl.pending().empty()) s->rtx_timer.cancel();  // answered
  if (v == ControlState::Verdict::duplicate) {
    ++n_.duplicates;
    if (lim_dup_.allow(*log_, spdlog::level::debug))
      log_->debug("session {}: duplicate {} dropped{}{}", s->info.id, vpnsdk::wire::type_name(p.type),
                  resend.empty() ? "" : ", answer sent again", lim_dup_.suffix());
    return;
  }
  if (v == ControlState::Verdict::early) {
    ++n_.early_frames;
    return;
  }
  const std::size_t size = b.size();
  b.pull(p.prefix);
  b.meta.frame_type = p.type;
  b.meta.session = s->info.id;
  Group& g = group_of(s->info.id);
  g.bytes += size;
  g.frames.push_back(std::move(d.buf));
}

UdpTransport::Session* UdpTransport::session_for(RxDatagram& d, const ParsedDatagram& p) {
  const std::uint8_t type = p.type;
  // BYE goes out twice (transport.cpp), and the first copy ends the
  // session: the second one normally finds none. It asks to close what is
  // already closed, so it is not counted as a stranger's datagram.
  const bool bye = type == static_cast<std::uint8_t>(vpnsdk::wire::FrameType::bye);
  if (!cfg_.server()) {  // the connected socket hears only the server
    if (sessions_.empty()) {
      ++(bye ? n_.late_byes : n_.unknown_peer);
      return nullptr;
    }
    return sessions_.begin()->second.get();
  }
  if (auto it = by_peer_.find(d.from); it != by_peer_.end()) return find(it->second);
  if ((cfg_.open_types & (1u << type)) == 0) {
    ++(bye ? n_.late_byes : n_.unknown_peer);  // e.g. DATA from a client whose session ended here
    if (lim_unknown_.allow(*log_, spdlog::level::trace))
      log_->trace("dropped {} from {}: no session, and it opens none{}", vpnsdk::wire::type_name(type), d.from.text(),
                  lim_unknown_.suffix());
    return nullptr;
  }
  // Before anything is spent on it, the source proves that it receives at
  // its address (address_proof.cpp): else it gets a COOKIE, nothing more.
  if (jar_ && !proven(d, p)) return nullptr;
  const char* refused = sessions_.size() >= cfg_.max_sessions ? "max_sessions reached" : admit(d.from);
  if (refused != nullptr) {
    ++n_.sessions_refused;
    if (lim_refused_.allow(*log_, spdlog::level::debug))
      log_->debug("no session for {}: {}{}", d.from.text(), refused, lim_refused_.suffix());
    return nullptr;
  }
  return open_session(d.from, vpnsdk::Role::responder, d.local);  // nullptr if the host closed it at once
}

UdpTransport::Group& UdpTransport::group_of(vpnsdk::SessionId id) {
  for (std::size_t i = 0; i < ngroups_; ++i)
    if (groups_[i].id == id) return groups_[i];
  if (ngroups_ == groups_.size()) {
    groups_.emplace_back();
    groups_.back().frames.reserve(cfg_.recv_batch);
  }
  Group& g = groups_[ngroups_++];
  g.id = id;
  g.bytes = 0;
  return g;
}

void UdpTransport::deliver_groups() {
  for (std::size_t i = 0; i < ngroups_; ++i) {
    Group& g = groups_[i];
    if (stopped_ || find(g.id) == nullptr || g.frames.empty()) {  // stopped, or closed by an earlier call
      g.frames.clear();
      continue;
    }
    const std::uint64_t bytes = g.bytes;
    n_.frames_in += g.frames.size();
    n_.bytes_in += bytes;
    if (log_->should_log(spdlog::level::trace))
      log_->trace("session {}: {} frame(s), {} bytes in", g.id, g.frames.size(), bytes);
    try {
      sink_->received(g.id, vpnsdk::Batch(g.frames.data(), g.frames.size()));
    } catch (const std::exception& e) {
      log_->error("sink.received threw: {}", e.what());
    } catch (...) {
      log_->error("sink.received threw");
    }
    g.frames.clear();
  }
  ngroups_ = 0;
}

void UdpTransport::on_socket_error(DatagramSocket& sock, int err) {
  if (stopped_ || &sock != socket_.get()) return;
  if (cfg_.server()) {  // an unconnected socket reports nothing that concerns one session
    if (lim_sock_.allow(*log_, spdlog::level::debug))
      log_->debug("socket error: {}{}", std::strerror(err), lim_sock_.suffix());
    return;
  }
  if (source_gone(err)) return rebind(err);
  if (err != ECONNREFUSED) {
    if (lim_sock_.allow(*log_, spdlog::level::debug))
      log_->debug("socket error: {}{}", std::strerror(err), lim_sock_.suffix());
    return;
  }
  // ICMP port unreachable: nothing listens on the server's port (stopped or
  // restarting). Like a TCP reset: the session ends, the host reconnects.
  ++n_.port_unreachable;
  end_client_session(Status::error(Code::io, "the server's UDP port is unreachable (ICMP port unreachable)"));
}

void UdpTransport::on_drained(DatagramSocket& sock) {
  if (!stopped_ && &sock == closing_socket_.get()) finish_client_close();
}

}  // namespace transport_udp
