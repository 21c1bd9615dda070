#include "session.hpp"

#include <span>

#include <algorithm>
#include <cstring>
#include <exception>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "frame_parser.hpp"
#include "vpnsdk/wire.hpp"

namespace transport_tcp {

using vpnsdk::Code;
using vpnsdk::Status;

TcpSession::TcpSession(SessionEnv& env, vpnsdk::SessionInfo info, tcp::socket socket)
    : env_(&env),
      info_(std::move(info)),
      sock_(std::move(socket)),
      close_timer_(sock_.get_executor()),
      rbuf_(std::max(kReadBuffer, vpnsdk::wire::kHeaderSize + std::min(env.pool.config().payload, vpnsdk::wire::kMaxBody))) {
  batch_.reserve(kMaxBatch);
}

void TcpSession::begin() { read_more(); }

// ---- receive ---------------------------------------------------------------

void TcpSession::read_more() {
  if (env_ == nullptr || reading_) return;
  reading_ = true;
  sock_.async_read_some(boost::asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
                          self->on_read(ec, n);
                        });
}

void TcpSession::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (env_ == nullptr) return;  // finished or detached: touch nothing shared
  reading_ = false;
  try {
    if (closing_) {  // close() stopped delivery: drain and discard until the flush ends
      if (ec) return;
      rlen_ = 0;
      read_more();
      return;
    }
    if (ec) {
      if (ec == boost::asio::error::eof)
        finish(Status::error(Code::session_fatal, "peer closed the connection"));
      else
        finish(Status::error(Code::io, ec.message()));
      return;
    }
    rlen_ += n;
    if (consume()) read_more();
    else if (env_ != nullptr && closing_) { rlen_ = 0; read_more(); }
  } catch (const std::exception& e) {
    fault("receive", e.what());
  } catch (...) {
    fault("receive", "unknown exception");
  }
}

bool TcpSession::consume() {
  const std::size_t max_body = env_->pool.config().payload;
  std::size_t off = 0;
  for (;;) {
    ParsedFrame f = parse_frame(std::span<const std::byte>(rbuf_.data() + off, rlen_ - off), max_body);
    if (f.result == ParsedFrame::need_more) break;
    if (f.result == ParsedFrame::bad) {
      if (!deliver()) return false;  // frames before the bad one still count
      ++env_->n.protocol_errors;
      env_->quiet.log(env_->log, spdlog::level::debug, "session {} ({}): {}; closing it", info_.id,
                      info_.peer.to_string(), f.problem);
      finish(Status::error(Code::session_fatal, f.problem));
      return false;
    }
    off += f.consumed;
    // Control frames (KEEPALIVE, BYE, HELLO, handshake...) may use the
    // pool's control reserve: a session's keepalives get through even when
    // data traffic used up every other buffer. They are held only while
    // the host handles them.
    vpnsdk::PacketPtr p = f.type == static_cast<std::uint8_t>(vpnsdk::wire::FrameType::data) ? env_->pool.acquire()
                                                                                              : env_->pool.acquire_control();
    if (!p || !p->append(f.body)) {
      ++env_->n.pool_exhausted;
      continue;
    }
    p->meta.frame_type = f.type;
    p->meta.session = info_.id;
    batch_.push_back(std::move(p));
    if (batch_.size() == kMaxBatch && !deliver()) return false;
  }
  if (!deliver()) return false;
  if (off != 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + off, rlen_ - off);
    rlen_ -= off;
  }
  return true;
}

bool TcpSession::deliver() {
  if (!batch_.empty()) {
    std::uint64_t bytes = 0;
    for (const auto& p : batch_) bytes += p->size() + vpnsdk::wire::kHeaderSize;
    env_->n.frames_in += batch_.size();
    env_->n.bytes_in += bytes;
    if (env_->log.should_log(spdlog::level::trace))
      env_->log.trace("session {}: {} frame(s), {} bytes in", info_.id, batch_.size(), bytes);
    vpnsdk::TransportSink* sink = env_->sink;
    // The sink may call send/close/stop (or destroy the transport): re-check after.
    try {
      sink->received(info_.id, vpnsdk::Batch(batch_.data(), batch_.size()));
    } catch (...) {
      batch_.clear();
      throw;
    }
    batch_.clear();
  }
  return env_ != nullptr && !closing_;
}

// ---- send ------------------------------------------------------------------

Status TcpSession::send(vpnsdk::Batch frames) {
  bool overflow = false;
  bool rejected = false;
  for (auto& slot : frames) {
    vpnsdk::PacketPtr f = std::move(slot);
    if (!f) continue;
    const std::size_t body = f->size();
    const std::uint8_t type = f->meta.frame_type;
    if (body > vpnsdk::wire::kMaxBody || !vpnsdk::wire::known_type(type)) {
      ++env_->n.send_rejects;
      rejected = true;
      continue;
    }
    const std::size_t wire = body + vpnsdk::wire::kHeaderSize;
    if (queue_.size() >= env_->cfg.max_queue_frames || queued_bytes_ + wire > env_->cfg.max_queue_bytes) {
      ++env_->n.queue_drops;
      overflow = true;
      over_share_ = false;
      continue;
    }
    // While the pool is under pressure a session holds at most its fair
    // share of DATA frames: one that stopped reading cannot take the
    // buffers every other session needs. Control frames come from the
    // pool's reserve and are bounded by max_queue_frames alone.
    if (type == static_cast<std::uint8_t>(vpnsdk::wire::FrameType::data) && env_->pool.under_pressure() &&
        queue_.size() >= fair_share()) {
      ++env_->n.queue_drops;
      ++env_->n.share_drops;
      overflow = true;
      over_share_ = true;
      continue;
    }
    std::byte* head = f->push(vpnsdk::wire::kHeaderSize);
    if (head == nullptr) {
      ++env_->n.send_rejects;
      rejected = true;
      continue;
    }
    vpnsdk::wire::encode_header(head, static_cast<std::uint16_t>(body), type);
    queue_.push_back(std::move(f));
    queued_bytes_ += wire;
  }
  write_more();
  if (overflow) note_full();
  if (overflow)
    return Status::error(Code::drop_overflow, "send queue of session " + std::to_string(info_.id) + " is full");
  if (rejected)
    return Status::error(Code::drop_malformed,
                         "frame without 4 bytes of headroom, longer than 65535 bytes or of unknown type");
  return {};
}

std::size_t TcpSession::fair_share() const noexcept {
  const std::size_t n = std::max<std::size_t>(1, env_->owner.session_count());
  return std::max<std::size_t>(1, env_->pool.usable() / (4 * n));
}

// A peer that stops reading fills its queue (up to max_queue_frames, or up
// to its fair share while the pool is under pressure); once it has stayed
// full for stall_timeout the session is dropped (asynchronously: never
// inside send()).
void TcpSession::note_full() {
  const auto now = std::chrono::steady_clock::now();
  if (full_since_ == std::chrono::steady_clock::time_point{}) full_since_ = now;
  if (env_->cfg.stall_timeout.count() == 0 || stall_posted_ || now - full_since_ < env_->cfg.stall_timeout) return;
  stall_posted_ = true;
  boost::asio::post(sock_.get_executor(), [self = shared_from_this()] {
    if (self->env_ == nullptr) return;
    ++self->env_->n.stalled;
    if (self->over_share_) ++self->env_->n.stalled_over_share;
    self->finish(Status::error(Code::session_fatal,
                               std::string("peer stopped reading: send queue full") +
                                   (self->over_share_ ? " (its fair share of the packet pool)" : "") + " for " +
                                   std::to_string(self->env_->cfg.stall_timeout.count()) + " s"));
  });
}

void TcpSession::write_more() {
  if (env_ == nullptr || writing_ || queue_.empty()) return;
  in_flight_ = std::min(queue_.size(), kMaxGather);
  for (std::size_t i = 0; i < in_flight_; ++i) gather_[i] = boost::asio::const_buffer(queue_[i]->data(), queue_[i]->size());
  writing_ = true;
  boost::asio::async_write(sock_, std::span<const boost::asio::const_buffer>(gather_.data(), in_flight_),
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             self->on_write(ec);
                           });
}

void TcpSession::on_write(const boost::system::error_code& ec) {
  if (env_ == nullptr) return;
  writing_ = false;
  try {
    if (ec) {
      finish(closing_ ? close_why_ : Status::error(Code::io, ec.message()));
      return;
    }
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < in_flight_; ++i) {
      bytes += queue_.front()->size();
      queue_.pop_front();
    }
    queued_bytes_ -= bytes;
    full_since_ = {};  // the peer reads again
    env_->n.frames_out += in_flight_;
    env_->n.bytes_out += bytes;
    in_flight_ = 0;
    if (!queue_.empty())
      write_more();
    else if (closing_)
      flushed();
  } catch (const std::exception& e) {
    fault("send", e.what());
  } catch (...) {
    fault("send", "unknown exception");
  }
}

// ---- close -----------------------------------------------------------------

void TcpSession::close(const Status& why) {
  if (env_ == nullptr || closing_) return;
  closing_ = true;
  close_why_ = why;
  env_->quiet.log(env_->log, spdlog::level::debug, "session {} ({}): closing ({} frame(s) queued): {}", info_.id,
                  info_.peer.to_string(), queue_.size(), why.message);
  if (!writing_ && queue_.empty()) {
    // Nothing to flush, but sink.closed must not run inside this call.
    boost::asio::post(sock_.get_executor(), [self = shared_from_this()] {
      if (self->env_ != nullptr) self->flushed();
    });
    return;
  }
  close_timer_.expires_after(env_->cfg.close_timeout);
  close_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->on_close_timeout();
  });
}

void TcpSession::flushed() noexcept {
  boost::system::error_code ignored;
  sock_.shutdown(tcp::socket::shutdown_send, ignored);  // FIN after the last byte
  finish(close_why_);
}

void TcpSession::on_close_timeout() noexcept {
  if (env_ == nullptr) return;
  env_->n.close_drops += queue_.size();
  env_->quiet.log(env_->log, spdlog::level::debug, "session {}: close timeout, {} frame(s) not sent", info_.id,
                  queue_.size());
  finish(close_why_);
}

void TcpSession::fault(const char* where, const char* what) noexcept {
  if (env_ == nullptr) return;
  try {
    env_->log.error("session {}: exception in {}: {}", info_.id, where, what);
  } catch (...) {
  }
  finish(Status::error(Code::internal, std::string("exception in ") + where + ": " + what));
}

void TcpSession::finish(const Status& why) noexcept {
  if (env_ == nullptr) return;
  SessionEnv* env = env_;
  env_ = nullptr;  // from here on no handler of ours touches env
  release_io();
  batch_.clear();  // never non-empty while the host holds it: finish() runs only from our own handlers
  ++env->n.sessions_closed;
  try {
    env->quiet.log(env->log, spdlog::level::debug, "session {} ({}) closed: {} {}", info_.id, info_.peer.to_string(),
                   vpnsdk::code_name(why.code), why.message);
  } catch (...) {
  }
  const vpnsdk::SessionId id = info_.id;
  std::shared_ptr<TcpSession> keep;
  try {
    keep = shared_from_this();  // session_ended drops the table's reference
  } catch (...) {
  }
  vpnsdk::TransportSink* sink = env->sink;
  env->owner.session_ended(id);
  try {
    sink->closed(id, why);  // last use of anything the transport owns
  } catch (...) {
    // The host's sink threw; nothing sensible is left to do for this session.
  }
}

void TcpSession::detach() noexcept {
  env_ = nullptr;
  release_io();
}

void TcpSession::release_io() noexcept {
  boost::system::error_code ignored;
  try {
    close_timer_.cancel();
  } catch (...) {
  }
  sock_.close(ignored);  // pending handlers complete with operation_aborted and see env_ == nullptr
  queue_.clear();        // buffers go back to the pool now, while it surely exists
  queued_bytes_ = 0;
  in_flight_ = 0;
}

}  // namespace transport_tcp
