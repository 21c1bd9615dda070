#include "datagram_socket.hpp"

#include <netinet/udp.h>
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
// The kernel's limits for one UDP_SEGMENT send (UDP_MAX_SEGMENTS, and the
// IPv4 payload limit 65535 - 20 - 8), and the largest GRO train.
constexpr std::size_t kGsoMaxSegments = 64;
constexpr std::size_t kGsoMaxBytes = 65507;
constexpr std::size_t kGroMaxTrain = 65536;
constexpr std::size_t kSendIovecs = 4096;  // datagrams per sendmmsg call at most (with GSO)

bool same_destination(const Peer& a, const Peer& b) noexcept {
  return a.valid() == b.valid() && (!a.valid() || a == b);
}

bool same_source(const LocalAddr& a, const LocalAddr& b) noexcept { return a == b; }

// The segment size of a GRO train (cmsg UDP_GRO, or 0) and the local
// address the datagram was sent to (IP_PKTINFO / IPV6_PKTINFO).
std::size_t parse_cmsgs(const msghdr& h, LocalAddr& local) noexcept {
  std::size_t seg = 0;
  if (h.msg_control == nullptr) return 0;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int v = 0;
      std::memcpy(&v, CMSG_DATA(c), sizeof v);
      seg = v > 0 ? static_cast<std::size_t>(v) : 0;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(in_pktinfo))) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local.family = AF_INET;
      local.v4 = pi.ipi_addr;  // the header's destination address
      local.ifindex = 0;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      local.family = AF_INET6;
      local.v6 = pi.ipi6_addr;
      // A link-local address exists per interface: name it; otherwise the route decides.
      local.ifindex = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? static_cast<int>(pi.ipi6_ifindex) : 0;
    }
  }
  return seg;
}

// Appends the cmsg that sends from `src` at `c`; returns its space.
std::size_t put_pktinfo(cmsghdr* c, const LocalAddr& src) noexcept {
  if (src.family == AF_INET) {
    in_pktinfo pi{};
    pi.ipi_spec_dst = src.v4;  // the source address; ipi_ifindex 0: the route picks the interface
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pi);
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    return CMSG_SPACE(sizeof pi);
  }
  in6_pktinfo pi{};
  pi.ipi6_addr = src.v6;
  pi.ipi6_ifindex = static_cast<unsigned>(src.ifindex);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof pi);
  std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
  return CMSG_SPACE(sizeof pi);
}
}  // namespace

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
      riov_(2 * cfg.recv_batch),
      rnames_(cfg.recv_batch),
      smsgs_(cfg.send_batch),
      siov_(cfg.gso ? std::max(cfg.send_batch, std::min(cfg.send_batch * kGsoMaxSegments, kSendIovecs))
                    : cfg.send_batch),
      smsg_datagrams_(cfg.send_batch),
      sctl_(cfg.send_batch) {
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
  enable_offloads();
  return ec;
}

// Best effort: a kernel without them (before 4.18 / 5.0) sends and receives
// one datagram per message as before.
void DatagramSocket::enable_offloads() {
  const int fd = sock_.native_handle();
  gso_ = false;
  if (cfg_.gso) {
    int size = 0;
    socklen_t len = sizeof size;
    gso_ = ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0;  // the kernel knows UDP_SEGMENT
    if (!gso_) log_.debug("UDP GSO not available: {}", std::strerror(errno));
  }
  gro_ = false;
  if (cfg_.gro) {
    const int one = 1;
    gro_ = ::setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;
    if (!gro_) log_.debug("UDP GRO not available: {}", std::strerror(errno));
  }
  if (gro_ && !rspill_) {
    // A pool buffer holds the start of a train; the rest (up to 64 KiB) spills.
    const std::size_t fresh = pool_.capacity() - std::min(pool_.capacity(), pool_.config().headroom);
    rspill_size_ = kGroMaxTrain > fresh ? kGroMaxTrain - fresh : 0;
    rspill_.reset(new std::byte[std::max<std::size_t>(1, rspill_size_ * bufs_.size())]);
    rctl_.resize(bufs_.size());
  }
}

// Bound to 0.0.0.0 or ::, the socket serves every local address: the kernel
// tells each datagram's destination address (IPV6_RECVPKTINFO also does for
// IPv4 on a dual-stack socket, as an IPv4-mapped address), and the replies
// name it as their source, so that a client that sent to one of several
// addresses hears from that one (its connected socket drops the others).
void DatagramSocket::enable_pktinfo(const udp::endpoint& local) {
  if (!local.address().is_unspecified()) return;  // one address: the kernel answers from it anyway
  const int fd = sock_.native_handle();
  const int one = 1;
  const bool v6 = local.address().is_v6();
  pktinfo_ = ::setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_RECVPKTINFO : IP_PKTINFO, &one,
                          sizeof one) == 0;
  if (!pktinfo_) log_.warn("cannot ask for datagrams' local addresses ({}): replies leave from the address "
                           "the kernel picks", std::strerror(errno));
  if (pktinfo_ && rctl_.size() < bufs_.size()) rctl_.resize(bufs_.size());
}

boost::system::error_code DatagramSocket::open_listen(const udp::endpoint& local) {
  boost::system::error_code ec;
  sock_.open(local.protocol(), ec);
  if (!ec && local.address().is_v6() && local.address().is_unspecified())
    sock_.set_option(boost::asio::ip::v6_only(false), ec);  // "::" serves IPv4 clients too
  if (!ec) ec = configure();
  if (!ec) enable_pktinfo(local);
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
      if (lim_.allow(log_, spdlog::level::debug)) log_.debug("waiting to receive: {}{}", ec.message(), lim_.suffix());
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
    msghdr& h = rmsgs_[k].msg_hdr;
    std::memset(&rmsgs_[k], 0, sizeof(mmsghdr));
    riov_[2 * k] = {b.data(), b.tailroom()};
    h.msg_name = &rnames_[k];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &riov_[2 * k];
    h.msg_iovlen = 1;
    if (gro_) {
      riov_[2 * k + 1] = {rspill_.get() + k * rspill_size_, rspill_size_};
      h.msg_iovlen = rspill_size_ > 0 ? 2 : 1;
    }
    if (gro_ || pktinfo_) {
      h.msg_control = &rctl_[k];
      h.msg_controllen = sizeof(Control);
    }
  }
  if (k == 0) return drop_one();
  const int got = ::recvmmsg(sock_.native_handle(), rmsgs_.data(), static_cast<unsigned>(k), MSG_DONTWAIT, nullptr);
  if (got < 0) {
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return 0;
    if (err == EINTR) return 1;
    ++n_.recv_errors;
    if (lim_.allow(log_, spdlog::level::debug)) log_.debug("recvmmsg: {}{}", std::strerror(err), lim_.suffix());
    std::weak_ptr<int> weak = alive_;
    owner_.on_socket_error(*this, err);  // from the loop: may close us
    if (weak.expired() || closed_) return -1;
    return 1;  // the error was consumed: read on
  }
  ++n_.recv_calls;
  rx_.clear();
  for (int i = 0; i < got; ++i) take_datagram(static_cast<std::size_t>(i));
  // Unfilled buffers stay for the next call; the first `got` are refilled then.
  std::weak_ptr<int> weak = alive_;
  owner_.on_datagrams(*this, rx_);
  if (weak.expired()) return -1;
  rx_.clear();  // whatever the owner left goes back to the pool
  if (closed_) return -1;
  return static_cast<std::size_t>(got) < k ? 0 : 1;
}

// Message i's buffer goes to rx_; a GRO train (cmsg UDP_GRO, several
// datagrams of the segment size, the last maybe shorter) becomes one entry
// per datagram: the first stays in the buffer, the others are copied out of
// the buffer's tail and the spill into buffers of their own.
void DatagramSocket::take_datagram(std::size_t i) {
  vpnsdk::PacketPtr b = std::move(bufs_[i]);
  const mmsghdr& m = rmsgs_[i];
  const Peer from = Peer::from(rnames_[i], m.msg_hdr.msg_namelen);
  const std::size_t len = m.msg_len;
  const std::size_t room = b->tailroom();
  const bool truncated = (m.msg_hdr.msg_flags & MSG_TRUNC) != 0;
  LocalAddr local;
  const std::size_t seg0 = parse_cmsgs(m.msg_hdr, local);
  const std::size_t seg = gro_ ? seg0 : 0;
  if (!pktinfo_) local = {};
  if (seg == 0 || len <= seg || truncated) {
    b->put(std::min(len, room));
    rx_.push_back({std::move(b), from, local, truncated || len > room});  // longer than a buffer: oversize
    return;
  }
  ++n_.gro_trains;
  const std::size_t count = (len + seg - 1) / seg;
  n_.gro_datagrams += count;
  if (seg > room) {  // every datagram of the train is larger than a buffer
    n_.oversize += count - 1;
    b->put(room);
    rx_.push_back({std::move(b), from, local, true});
    return;
  }
  const std::byte* head = b->data();  // the train's first `room` bytes
  const std::byte* spill = rspill_.get() + i * rspill_size_;
  b->put(seg);
  rx_.push_back({std::move(b), from, local, false});
  for (std::size_t off = seg; off < len; off += seg) {
    const std::size_t n = std::min(seg, len - off);
    vpnsdk::PacketPtr c = pool_.acquire();
    if (!c) {
      ++n_.pool_exhausted;
      continue;
    }
    std::byte* to = c->put(n);
    if (to == nullptr) {  // cannot happen: seg <= a fresh buffer's room
      ++n_.oversize;
      continue;
    }
    const std::size_t in_head = off < room ? std::min(n, room - off) : 0;
    if (in_head > 0) std::memcpy(to, head + off, in_head);
    if (n > in_head) std::memcpy(to + in_head, spill + (off + in_head - room), n - in_head);
    rx_.push_back({std::move(c), from, local, false});
  }
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

bool DatagramSocket::enqueue(vpnsdk::PacketPtr buf, const Peer* to, const LocalAddr* src) {
  if (closed_ || !buf || txq_.size() >= cfg_.max_queue_frames) return false;
  txq_.push_back({std::move(buf), to != nullptr ? *to : Peer{}, src != nullptr && pktinfo_ ? *src : LocalAddr{}});
  return true;
}

// One message per datagram, except with GSO: a run of datagrams to the
// same destination, all of the first one's size but the last (which may be
// shorter), up to the kernel's limits, is one message with one iovec per
// datagram and a UDP_SEGMENT cmsg; the kernel sends them as separate
// datagrams (segmented as late as the device allows).
std::size_t DatagramSocket::build_send_batch() {
  std::size_t msgs = 0, qi = 0, iv = 0;
  while (msgs < cfg_.send_batch && qi < txq_.size() && iv < siov_.size()) {
    const TxEntry& first = txq_[qi];
    mmsghdr& m = smsgs_[msgs];
    std::memset(&m, 0, sizeof(mmsghdr));
    if (first.to.valid()) {
      m.msg_hdr.msg_name = const_cast<sockaddr*>(&first.to.addr.sa);
      m.msg_hdr.msg_namelen = first.to.len;
    }
    m.msg_hdr.msg_iov = &siov_[iv];
    const std::size_t seg = first.buf->size();
    siov_[iv++] = {first.buf->data(), seg};
    std::size_t count = 1, total = seg;
    if (gso_ && seg > 0 && qi >= plain_next_) {
      while (count < kGsoMaxSegments && qi + count < txq_.size() && iv < siov_.size()) {
        const TxEntry& e = txq_[qi + count];
        const std::size_t n = e.buf->size();
        if (n == 0 || n > seg || total + n > kGsoMaxBytes || !same_destination(e.to, first.to) ||
            !same_source(e.src, first.src))
          break;
        siov_[iv++] = {e.buf->data(), n};
        ++count;
        total += n;
        if (n < seg) break;  // only the last may be shorter
      }
    }
    m.msg_hdr.msg_iovlen = count;
    if (count > 1 || first.src.valid()) {
      Control& ctl = sctl_[msgs];
      std::memset(&ctl, 0, sizeof ctl);
      m.msg_hdr.msg_control = &ctl;
      m.msg_hdr.msg_controllen = sizeof ctl;
      cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
      std::size_t used = 0;
      if (count > 1) {
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
        const auto size = static_cast<std::uint16_t>(seg);
        std::memcpy(CMSG_DATA(c), &size, sizeof size);
        used += CMSG_SPACE(sizeof(std::uint16_t));
        c = CMSG_NXTHDR(&m.msg_hdr, c);
      }
      if (first.src.valid()) used += put_pktinfo(c, first.src);
      m.msg_hdr.msg_controllen = used;
    }
    smsg_datagrams_[msgs++] = count;
    qi += count;
  }
  return msgs;
}

// EIO: the route's device cannot checksum a GSO train (or never will);
// EINVAL on the first GSO message of the socket: the kernel does not take
// it. Either way GSO stays off for this socket. EINVAL/EMSGSIZE after GSO
// has worked (e.g. a segment larger than the path MTU): only this message's
// datagrams go out one by one. True: retry them plainly.
bool DatagramSocket::gso_refused(int err) {
  if (err != EINVAL && err != EIO && err != EMSGSIZE) return false;
  ++n_.gso_fallbacks;
  plain_next_ = smsg_datagrams_[0];
  if (err == EIO || !gso_worked_) {
    gso_ = false;
    log_.info("the kernel refused a UDP GSO send ({}): one datagram per message from now on", std::strerror(err));
  }
  return true;
}

void DatagramSocket::flush() {
  if (closed_ || write_waiting_) return;
  while (!txq_.empty()) {
    const std::size_t k = build_send_batch();
    const int sent = ::sendmmsg(sock_.native_handle(), smsgs_.data(), static_cast<unsigned>(k), MSG_DONTWAIT);
    ++n_.send_calls;
    if (sent > 0) {
      for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i) {
        const std::size_t d = smsg_datagrams_[i];
        if (d > 1) {
          ++n_.gso_sends;
          n_.gso_datagrams += d;
          gso_worked_ = true;
        }
        for (std::size_t j = 0; j < d; ++j) {
          ++n_.frames_out;
          n_.bytes_out += txq_.front().buf->size();
          txq_.pop_front();
          if (plain_next_ > 0) --plain_next_;
        }
      }
      continue;
    }
    const int err = sent < 0 ? errno : EAGAIN;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      wait_writable();
      return;
    }
    if (txq_.front().src.valid() && (err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH)) {
      // The source address is gone (or not ours for that route): send
      // from whatever address the kernel picks rather than not at all.
      ++n_.pktinfo_fallbacks;
      if (lim_.allow(log_, spdlog::level::debug))
        log_.debug("sending from {} refused ({}): from the kernel's choice{}", txq_.front().src.text(),
                   std::strerror(err), lim_.suffix());
      for (std::size_t j = 0; j < smsg_datagrams_[0] && j < txq_.size(); ++j) txq_[j].src = {};
      continue;
    }
    if (smsg_datagrams_[0] > 1 && gso_refused(err)) continue;
    // The kernel refused the first datagram (no route, too big, ICMP error
    // reported here, ...): drop it and go on with the rest.
    ++n_.send_errors;
    if (lim_.allow(log_, spdlog::level::trace)) log_.trace("sendmmsg: {}{}", std::strerror(err), lim_.suffix());
    txq_.pop_front();
    if (plain_next_ > 0) --plain_next_;
    // Port unreachable; or the source address is gone (the owner may move on to a new socket).
    if (err == ECONNREFUSED || err == EINVAL || err == EADDRNOTAVAIL || err == ENETUNREACH) report_error(err);
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
