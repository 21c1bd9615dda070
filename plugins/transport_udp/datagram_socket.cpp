#include "datagram_socket.hpp"

#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

#include <boost/asio/post.hpp>

#include "vpnsdk/wire.hpp"

namespace transport_udp {

namespace {
constexpr int kRoundsPerWake = 8;  // recvmmsg calls before yielding to other handlers
}

DatagramSocket::DatagramSocket(boost::asio::io_context& io, vpnsdk::PacketPool& pool, const Config& cfg,
                               UdpCounters& n, spdlog::logger& log, SocketOwner& owner)
    : io_(io),
      pool_(pool),
      cfg_(cfg),
      n_(n),
      log_(log),
      owner_(owner),
      sock_(io),
      alive_(std::make_shared<int>(0)),
      bufs_(cfg.recv_batch),
      rmsgs_(cfg.recv_batch),
      riov_(cfg.recv_batch),
      rnames_(cfg.recv_batch),
      smsgs_(cfg.send_batch),
      siov_(cfg.send_batch) {
  rx_.reserve(cfg.recv_batch);
}

DatagramSocket::~DatagramSocket() { close(); }

// The *FORCE variants pass net.core.{r,w}mem_max (they need CAP_NET_ADMIN,
// which a VPN host usually has for its TUN device); otherwise the plain
// option gives what the limit allows.
boost::system::error_code DatagramSocket::configure() {
  boost::system::error_code ec;
  sock_.non_blocking(true, ec);  // every send/receive here must return at once
  if (ec) return ec;
  const int fd = sock_.native_handle();
  auto size = [fd](int force, int plain, int bytes) {
    if (bytes <= 0) return;
    if (::setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0) return;
    ::setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);  // best effort: capped by the sysctl
  };
  size(SO_SNDBUFFORCE, SO_SNDBUF, cfg_.sndbuf);
  size(SO_RCVBUFFORCE, SO_RCVBUF, cfg_.rcvbuf);
  return ec;
}

boost::system::error_code DatagramSocket::open_listen(const udp::endpoint& local) {
  boost::system::error_code ec;
  sock_.open(local.protocol(), ec);
  if (!ec && local.address().is_v6() && local.address().is_unspecified())
    sock_.set_option(boost::asio::ip::v6_only(false), ec);  // "::" serves IPv4 clients too
  if (!ec) ec = configure();
  if (!ec) sock_.bind(local, ec);
  if (ec) {
    boost::system::error_code ignored;
    sock_.close(ignored);
  }
  return ec;
}

boost::system::error_code DatagramSocket::open_connect(const udp::endpoint& remote) {
  boost::system::error_code ec;
  sock_.open(remote.protocol(), ec);
  if (!ec) ec = configure();
  if (!ec) sock_.connect(remote, ec);  // the kernel then filters other sources and reports ICMP errors
  if (ec) {
    boost::system::error_code ignored;
    sock_.close(ignored);
  }
  return ec;
}

DatagramSocket::udp::endpoint DatagramSocket::local_endpoint() const {
  boost::system::error_code ec;
  return sock_.local_endpoint(ec);
}

void DatagramSocket::start_receiving() {
  if (closed_ || reading_) return;
  read_some();
}

void DatagramSocket::close() noexcept {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  sock_.close(ignored);  // pending waits complete with operation_aborted and see closed_
  txq_.clear();          // buffers back to the pool now
  for (auto& b : bufs_) b.reset();
}

// ---- receive ---------------------------------------------------------------

// Asio's reactor is edge-triggered: a wait is armed only after the socket
// said "nothing more" (EAGAIN), and a read that stops early (to let other
// handlers run) goes on from a posted handler instead of a wait.
void DatagramSocket::wait_readable() {
  reading_ = true;
  sock_.async_wait(udp::socket::wait_read, [weak = std::weak_ptr<int>(alive_), this](const boost::system::error_code& ec) {
    if (weak.expired() || closed_) return;
    reading_ = false;
    if (ec) {
      if (ec == boost::asio::error::operation_aborted) return;
      ++n_.recv_errors;
      log_.debug("waiting to receive: {}", ec.message());
    }
    read_some();
  });
}

void DatagramSocket::read_some() {
  try {
    for (int round = 0; round < kRoundsPerWake; ++round) {
      const int r = receive_batch();
      if (r < 0) return;  // closed (possibly by the owner): touch nothing
      if (r == 0) {
        wait_readable();
        return;
      }
    }
    reading_ = true;  // more may be waiting: yield, then read on
    boost::asio::post(io_, [weak = std::weak_ptr<int>(alive_), this] {
      if (weak.expired() || closed_) return;
      reading_ = false;
      read_some();
    });
  } catch (const std::exception& e) {
    // Nothing may escape into the host's loop; keep receiving.
    if (closed_) return;
    log_.error("receive: {}", e.what());
    rx_.clear();
    if (!reading_) wait_readable();
  }
}

int DatagramSocket::receive_batch() {
  const std::size_t want = cfg_.recv_batch;
  std::size_t k = 0;
  for (; k < want; ++k) {
    if (!bufs_[k]) {
      bufs_[k] = pool_.acquire();
      if (!bufs_[k]) break;
    }
    vpnsdk::PacketBuffer& b = *bufs_[k];
    riov_[k] = {b.data(), b.tailroom()};
    std::memset(&rmsgs_[k], 0, sizeof(mmsghdr));
    rmsgs_[k].msg_hdr.msg_name = &rnames_[k];
    rmsgs_[k].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    rmsgs_[k].msg_hdr.msg_iov = &riov_[k];
    rmsgs_[k].msg_hdr.msg_iovlen = 1;
  }
  if (k == 0) return drop_one();
  const int got = ::recvmmsg(sock_.native_handle(), rmsgs_.data(), static_cast<unsigned>(k), MSG_DONTWAIT, nullptr);
  if (got < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    if (err == EINTR) return 1;
    ++n_.recv_errors;
    if (log_.should_log(spdlog::level::debug)) log_.debug("recvmmsg: {}", std::strerror(err));
    std::weak_ptr<int> weak = alive_;
    owner_.on_socket_error(*this, err);  // from the loop: may close us
    if (weak.expired() || closed_) return -1;
    return 1;  // the error was consumed: read on
  }
  ++n_.recv_calls;
  rx_.clear();
  for (int i = 0; i < got; ++i) {
    vpnsdk::PacketPtr b = std::move(bufs_[static_cast<std::size_t>(i)]);
    const mmsghdr& m = rmsgs_[static_cast<std::size_t>(i)];
    b->put(std::min<std::size_t>(m.msg_len, b->tailroom()));
    rx_.push_back({std::move(b), Peer::from(rnames_[static_cast<std::size_t>(i)], m.msg_hdr.msg_namelen),
                   (m.msg_hdr.msg_flags & MSG_TRUNC) != 0});
  }
  // Unfilled buffers stay for the next call; the first `got` are refilled then.
  std::weak_ptr<int> weak = alive_;
  owner_.on_datagrams(*this, rx_);
  if (weak.expired()) return -1;
  rx_.clear();  // whatever the owner left goes back to the pool
  if (closed_) return -1;
  return static_cast<std::size_t>(got) < k ? 0 : 1;
}

int DatagramSocket::drop_one() {
  std::array<std::byte, 2048> scratch;  // MSG_TRUNC: the datagram is consumed whatever its size
  const ssize_t r = ::recv(sock_.native_handle(), scratch.data(), scratch.size(), MSG_DONTWAIT | MSG_TRUNC);
  if (r < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    if (err != EINTR) ++n_.recv_errors;
    return 1;
  }
  ++n_.pool_exhausted;
  return 1;
}

// ---- send ------------------------------------------------------------------

bool DatagramSocket::enqueue(vpnsdk::PacketPtr buf, const Peer* to) {
  if (closed_ || !buf || txq_.size() >= cfg_.max_queue_frames) return false;
  txq_.push_back({std::move(buf), to != nullptr ? *to : Peer{}});
  return true;
}

void DatagramSocket::flush() {
  if (closed_ || write_waiting_) return;
  while (!txq_.empty()) {
    const std::size_t k = std::min(txq_.size(), cfg_.send_batch);
    for (std::size_t i = 0; i < k; ++i) {
      TxEntry& e = txq_[i];
      siov_[i] = {e.buf->data(), e.buf->size()};
      std::memset(&smsgs_[i], 0, sizeof(mmsghdr));
      if (e.to.valid()) {
        smsgs_[i].msg_hdr.msg_name = &e.to.addr;
        smsgs_[i].msg_hdr.msg_namelen = e.to.len;
      }
      smsgs_[i].msg_hdr.msg_iov = &siov_[i];
      smsgs_[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = ::sendmmsg(sock_.native_handle(), smsgs_.data(), static_cast<unsigned>(k), MSG_DONTWAIT);
    ++n_.send_calls;
    if (sent > 0) {
      for (int i = 0; i < sent; ++i) {
        ++n_.frames_out;
        n_.bytes_out += txq_.front().buf->size();
        txq_.pop_front();
      }
      continue;
    }
    const int err = sent < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      wait_writable();
      return;
    }
    // The kernel refused the first datagram (no route, too big, ICMP error
    // reported here, ...): drop it and go on with the rest.
    ++n_.send_errors;
    if (log_.should_log(spdlog::level::trace)) log_.trace("sendmmsg: {}", std::strerror(err));
    txq_.pop_front();
    if (err == ECONNREFUSED) report_error(err);
  }
}

void DatagramSocket::wait_writable() {
  write_waiting_ = true;
  sock_.async_wait(udp::socket::wait_write, [weak = std::weak_ptr<int>(alive_), this](const boost::system::error_code& ec) {
    if (weak.expired() || closed_) return;
    write_waiting_ = false;
    if (ec == boost::asio::error::operation_aborted) return;
    try {
      flush();
      if (!write_waiting_ && txq_.empty()) owner_.on_drained(*this);
    } catch (const std::exception& e) {
      if (!closed_) log_.error("send: {}", e.what());
    }
  });
}

void DatagramSocket::report_error(int err) {
  boost::asio::post(io_, [weak = std::weak_ptr<int>(alive_), this, err] {
    if (weak.expired() || closed_) return;
    try {
      owner_.on_socket_error(*this, err);
    } catch (const std::exception& e) {
      log_.error("socket error handler: {}", e.what());
    }
  });
}

}  // namespace transport_udp
