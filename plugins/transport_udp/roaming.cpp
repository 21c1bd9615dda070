// UdpTransport's roaming: session indices, new sources, adopt_path(), and a
// client that lost its source address.
//
// Server: every session gets a random nonzero 32-bit index; its client
// echoes it in every datagram (datagram.hpp). A datagram with a known index
// from a source other than the session's goes to that session marked with
// PacketMeta::path, a token for that source (one candidate per session, the
// latest wins). Only adopt_path() - which the host calls after the cipher
// authenticated such a frame - moves the session there. The index is not a
// secret: it only says which session's keys to try.
//
// Client: a connected socket keeps its source address; once that address is
// gone, sends fail (EINVAL, EADDRNOTAVAIL, ENETUNREACH). Then a new socket
// to the same server (the kernel picks the source afresh) carries on the
// same session, and its next authenticated datagram moves the server's end.
#include <cerrno>
#include <cstring>

#include "transport.hpp"

namespace transport_udp {

namespace {
constexpr auto kRebindInterval = std::chrono::milliseconds(100);  // at most one new socket per this
}

void UdpTransport::give_index(Session& s) {
  std::uniform_int_distribution<std::uint32_t> any(1, 0xffffffffu);
  for (;;) {
    const std::uint32_t i = any(index_rng_);
    if (by_index_.emplace(i, s.info.id).second) {
      s.index = i;
      return;
    }
  }
}

void UdpTransport::forget_index(const Session& s) {
  if (auto it = by_index_.find(s.index); it != by_index_.end() && it->second == s.info.id) by_index_.erase(it);
}

UdpTransport::Session* UdpTransport::session_by_index(RxDatagram& d, std::uint32_t index) {
  auto it = by_index_.find(index);
  if (it == by_index_.end()) return nullptr;  // unknown: the source decides, as without an index
  Session* s = find(it->second);
  if (s == nullptr || d.from == s->peer) return s;
  if (!(s->candidate == d.from) || s->candidate_token == 0) {
    s->candidate = d.from;
    s->candidate_local = d.local;
    if (++next_token_ == 0) ++next_token_;
    s->candidate_token = next_token_;
    if (lim_path_.allow(*log_, spdlog::level::debug))
      log_->debug("session {} ({}): datagrams from {} too; it moves there once one authenticates{}", s->info.id,
                  s->peer.text(), d.from.text(), lim_path_.suffix());
  }
  ++n_.path_candidates;
  d.buf->meta.path = s->candidate_token;
  return s;
}

std::optional<vpnsdk::Endpoint> UdpTransport::adopt_path(vpnsdk::SessionId id, std::uint32_t path) {
  try {
    Session* s = find(id);
    if (s == nullptr || !cfg_.server() || path == 0) return std::nullopt;
    if (path == s->adopted_token) return std::nullopt;  // a later frame from the source it moved to already
    if (path != s->candidate_token || !s->candidate.valid()) {
      ++n_.paths_stale;  // a newer source came since, or it is no token of ours
      return std::nullopt;
    }
    const Peer from = s->peer;
    if (auto it = by_peer_.find(from); it != by_peer_.end() && it->second == id) by_peer_.erase(it);
    // An older session keyed by the same address:port is stale (one socket
    // cannot be two clients): the datagrams from there are this session's now.
    by_peer_[s->candidate] = id;
    s->peer = s->candidate;
    s->local = s->candidate_local;
    s->info.peer = s->peer.endpoint();
    s->adopted_token = path;
    s->candidate = Peer{};
    s->candidate_token = 0;
    ++n_.paths_adopted;
    // The host logs the move at info ("roamed from ... to ..."); once is enough.
    log_->debug("session {} moved from {} to {}", id, from.text(), s->peer.text());
    return s->info.peer;
  } catch (const std::exception& e) {
    log_->error("adopt_path({}) failed: {}", id, e.what());
    return std::nullopt;
  }
}

bool UdpTransport::source_gone(int err) const {
  return !cfg_.server() && (err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH);
}

void UdpTransport::rebind(int err) {
  if (sessions_.empty() || connect_pending_) return;
  const auto now = Clock::now();
  if (now - last_rebind_ < kRebindInterval) return;
  last_rebind_ = now;
  auto sock = std::make_unique<DatagramSocket>(io_, pool_, cfg_, n_, *log_, static_cast<SocketOwner&>(*this));
  if (const auto ec = sock->open_connect(remote_)) {
    log_->debug("sending failed ({}); no new source yet: {}", std::strerror(err), ec.message());
    return;  // the next failing send tries again
  }
  const std::string before = socket_ ? Peer::from(socket_->local_endpoint()).text() : "?";
  retire(std::move(socket_));
  socket_ = std::move(sock);
  socket_->start_receiving();
  ++n_.source_rebinds;
  log_->info("sending from {} failed ({}): sending from {} now, same session", before, std::strerror(err),
             Peer::from(socket_->local_endpoint()).text());
}

}  // namespace transport_udp
