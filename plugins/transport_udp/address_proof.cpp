// UdpTransport's address proof (protocol.md section 11.7, cookie.hpp).
//
// Server: a datagram from an unknown source that would open a session must
// carry a cookie field with the cookie of its source address and port;
// otherwise the answer is a 20-byte COOKIE datagram (never larger than the
// datagram that asked: a smaller one is dropped unanswered), and nothing is
// kept. Only a proven source opens a session, spends a token of its own
// bucket and of the global one, and reaches the host.
//
// Client: until the server has answered with anything but a COOKIE, every
// datagram carries the cookie field (zeros until a COOKIE came). A COOKIE
// is stored, and the latest datagram with the field goes out again at once
// with it (at most kMaxCookieResends times per connection; later cookies
// ride on the next retransmission).
#include <algorithm>

#include "datagram.hpp"
#include "transport.hpp"

namespace transport_udp {

namespace {
constexpr unsigned kMaxCookieResends = 4;
constexpr std::size_t kMaxQueuedCookies = 256;  // COOKIE datagrams never take more of the send queue
}  // namespace

bool UdpTransport::proven(const RxDatagram& d, const ParsedDatagram& p) {
  const auto field = d.buf->bytes().subspan(p.cookie_at, p.cookie_field ? kCookieFieldSize : 0);
  if (p.cookie_field && !all_zero(field)) {
    if (jar_->check(d.from, field, Clock::now())) {
      ++n_.cookies_valid;
      return true;
    }
    ++n_.cookies_invalid;  // forged, or older than two slots: a fresh one
  }
  send_cookie(d);
  return false;
}

void UdpTransport::send_cookie(const RxDatagram& d) {
  if (d.buf->size() < kCookieReplySize) {  // answering would amplify
    ++n_.cookie_requests_small;
    if (lim_cookie_.allow(*log_, spdlog::level::debug))
      log_->debug("dropped {} bytes from {}: no cookie, and too small to be answered with one{}", d.buf->size(),
                  d.from.text(), lim_cookie_.suffix());
    return;
  }
  if (!socket_ || socket_->queued() >= std::min(kMaxQueuedCookies, cfg_.max_queue_frames / 4 + 1)) {
    ++n_.cookie_replies_dropped;
    return;
  }
  vpnsdk::PacketPtr r = pool_.acquire();
  std::byte* out = r ? r->put(kCookieReplySize) : nullptr;
  if (out == nullptr) {
    ++n_.pool_exhausted;
    return;
  }
  vpnsdk::wire::encode_header(out, static_cast<std::uint16_t>(kCookieFieldSize), kTypeCookie);
  const Cookie c = jar_->make(d.from, Clock::now());
  std::copy(c.begin(), c.end(), out + vpnsdk::wire::kHeaderSize);
  if (!socket_->enqueue(std::move(r), &d.from, &d.local)) {
    ++n_.queue_drops;
    return;
  }
  ++n_.cookies_sent;
  tx_pending_ = true;  // flushed once at the end of the batch
  if (lim_cookie_.allow(*log_, spdlog::level::debug))
    log_->debug("cookie sent to {} (no valid cookie yet){}", d.from.text(), lim_cookie_.suffix());
}

// The frame (prefix already in front of its body) again, in a fresh buffer,
// with the cookie field between index and body.
vpnsdk::PacketPtr UdpTransport::with_cookie_field(vpnsdk::PacketPtr f, std::size_t body, std::uint8_t type,
                                                  std::uint32_t index) {
  vpnsdk::PacketPtr c = pool_.acquire();
  std::byte* out = c ? c->put(kPrefixSize + kCookieFieldSize + body) : nullptr;
  if (out == nullptr) return nullptr;
  encode_prefix(out, static_cast<std::uint16_t>(body), type, true, index);
  out[3] |= std::byte{kFlagCookie};
  std::copy(cookie_.begin(), cookie_.end(), out + kPrefixSize);
  const auto src = f->bytes().subspan(f->size() - body);
  std::copy(src.begin(), src.end(), out + kPrefixSize + kCookieFieldSize);
  c->meta = f->meta;
  return c;
}

void UdpTransport::on_cookie(const vpnsdk::PacketBuffer& b) {
  ++n_.cookies_received;
  if (!cfg_.cookies || sessions_.empty()) return;
  std::copy_n(b.bytes().begin() + vpnsdk::wire::kHeaderSize, kCookieSize, cookie_.begin());
  // The server has no session for us (yet): the field again, whatever else
  // seemed to come from it before.
  heard_ = false;
  Session& s = *sessions_.begin()->second;
  if (lim_cookie_.allow(*log_, spdlog::level::debug))
    log_->debug("session {}: cookie from the server{}", s.info.id, lim_cookie_.suffix());
  if (opener_.size() < kPrefixSize + kCookieFieldSize || cookie_resends_ >= kMaxCookieResends) return;
  ++cookie_resends_;
  ++n_.cookie_resends;
  std::copy(cookie_.begin(), cookie_.end(), opener_.begin() + kPrefixSize);
  const Bytes copy = opener_;
  send_copy(s, copy);
  if (!s.ctl.pending().empty()) arm_retransmit(s, true);  // the wait for the answer starts again
}

}  // namespace transport_udp
