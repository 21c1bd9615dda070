// One UDP socket on the host's io_context, read with recvmmsg and written
// with sendmmsg. Received datagrams land directly in pool buffers (no copy);
// datagrams to send wait in a bounded queue only while the socket's send
// buffer is full. The owner (the transport) gets whole batches.
//
// Where the kernel offers them (options gso/gro): consecutive queued
// datagrams to one destination with equal size (the last may be shorter)
// leave as one sendmmsg entry with UDP_SEGMENT; with UDP_GRO a receive may
// return a train of equal-size datagrams, which is split back into one
// RxDatagram per datagram (the first stays in its pool buffer, the rest are
// copied into pool buffers of their own).
//
// Rules that keep it safe on a single-threaded loop:
//  - owner callbacks come only from the event loop, never from inside
//    enqueue()/flush()/close();
//  - the owner may close() the socket inside a callback, but must not
//    destroy it there (it retires it and destroys it later);
//  - after close() no callback is made and no packet buffer is held.
#pragma once
#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "config.hpp"
#include "counters.hpp"
#include "peer.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/log_limit.hpp"
#include "vpnsdk/packet.hpp"

namespace transport_udp {

// The limit for each kind of log line that datagrams from anyone can cause:
// bursts of 10, 5 a second on average (10 per 2-second window), the number
// held back on the next line let through (vpnsdk::LogLimit::suffix()).
struct StrangerLogLimit : vpnsdk::LogLimit {
  StrangerLogLimit() noexcept : vpnsdk::LogLimit(10, std::chrono::seconds(2)) {}
};

struct RxDatagram {
  vpnsdk::PacketPtr buf;  // data() is the whole datagram
  Peer from;
  LocalAddr local;  // the address it was sent to (only on a socket bound to 0.0.0.0 or ::)
  bool truncated = false;  // larger than the buffer (MSG_TRUNC)
};

class DatagramSocket;

class SocketOwner {
 public:
  // A batch of datagrams, in arrival order; the owner may move buffers out.
  virtual void on_datagrams(DatagramSocket& s, std::span<RxDatagram> batch) = 0;
  // An error the kernel reported for this socket (errno value), e.g.
  // ECONNREFUSED on a connected socket after an ICMP port unreachable.
  virtual void on_socket_error(DatagramSocket& s, int err) = 0;
  // The send queue ran empty after the socket had been full.
  virtual void on_drained(DatagramSocket& s) = 0;

 protected:
  ~SocketOwner() = default;
};

class DatagramSocket {
 public:
  using udp = boost::asio::ip::udp;

  DatagramSocket(boost::asio::io_context& io, vpnsdk::PacketPool& pool, const Config& cfg, UdpCounters& n,
                 spdlog::logger& log, SocketOwner& owner);
  ~DatagramSocket();
  DatagramSocket(const DatagramSocket&) = delete;
  DatagramSocket& operator=(const DatagramSocket&) = delete;

  boost::system::error_code open_listen(const udp::endpoint& local);
  boost::system::error_code open_connect(const udp::endpoint& remote);
  void start_receiving();

  // Queues one datagram (buf->data() .. size() is all of it) for `to`, or
  // for the connected peer when `to` is nullptr, from the local address
  // `src` (nullptr or !valid(): the kernel picks). False (buffer released):
  // the queue is full or the socket is closed.
  bool enqueue(vpnsdk::PacketPtr buf, const Peer* to, const LocalAddr* src = nullptr);
  // Hands the queue to the kernel as far as it takes it.
  void flush();
  std::size_t queued() const noexcept { return txq_.size(); }
  bool closed() const noexcept { return closed_; }
  bool gso() const noexcept { return gso_; }  // UDP_SEGMENT in use (false after the kernel refused it)
  bool gro() const noexcept { return gro_; }  // UDP_GRO enabled on this socket
  bool pktinfo() const noexcept { return pktinfo_; }  // local addresses are reported and used (wildcard bind)
  udp::endpoint local_endpoint() const;
  // Closes the socket and releases every buffer; no callback after this.
  void close() noexcept;

 private:
  struct TxEntry {
    vpnsdk::PacketPtr buf;
    Peer to;  // !valid(): the connected peer
    LocalAddr src;  // !valid(): the kernel picks the source address
  };

  // The cmsgs of one message: UDP_SEGMENT (a u16) or UDP_GRO (an int), and
  // IP_PKTINFO or IPV6_PKTINFO.
  struct alignas(cmsghdr) Control {
    unsigned char bytes[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))];
  };

  boost::system::error_code configure();
  void enable_offloads();
  void enable_pktinfo(const udp::endpoint& local);
  void wait_readable();
  void read_some();
  int receive_batch();  // >0: got some (read on), 0: nothing more now, <0: closed
  void take_datagram(std::size_t i);  // message i of the last recvmmsg -> rx_ (split if a GRO train)
  int drop_one();       // no packet buffer: read one datagram into scratch and drop it
  std::size_t build_send_batch();  // fills smsgs_ from the queue's front; returns the messages
  bool gso_refused(int err);  // the first message (a GSO one) was refused: true if it is worth retrying
  void wait_writable();
  void report_error(int err);  // posted to the owner

  boost::asio::io_context& io_;
  vpnsdk::PacketPool& pool_;
  const Config& cfg_;
  UdpCounters& n_;
  spdlog::logger& log_;
  SocketOwner& owner_;
  udp::socket sock_;
  std::shared_ptr<int> alive_;  // handlers hold a weak_ptr: this object exists
  bool closed_ = false;
  bool reading_ = false;        // a wait or a posted read is pending
  bool write_waiting_ = false;
  bool gso_ = false;            // UDP_SEGMENT on send
  bool gso_worked_ = false;     // a GSO send has succeeded on this socket
  bool gro_ = false;            // UDP_GRO on receive
  bool pktinfo_ = false;        // IP_PKTINFO / IPV6_RECVPKTINFO (bound to a wildcard address)
  std::size_t plain_next_ = 0;  // front datagrams to send one per message (a refused GSO message)
  StrangerLogLimit lim_;        // errors a stranger's datagrams (or ICMP errors for them) can cause

  std::vector<vpnsdk::PacketPtr> bufs_;  // receive buffers, refilled from the pool
  std::vector<mmsghdr> rmsgs_;
  std::vector<iovec> riov_;  // two per message: its pool buffer, its spill (GRO)
  std::vector<sockaddr_storage> rnames_;
  std::vector<RxDatagram> rx_;
  // GRO: per message, where a train goes on past its pool buffer (not
  // zero-filled: untouched pages cost no memory), and its UDP_GRO cmsg.
  std::unique_ptr<std::byte[]> rspill_;
  std::size_t rspill_size_ = 0;  // bytes per message
  std::vector<Control> rctl_;

  std::deque<TxEntry> txq_;
  std::vector<mmsghdr> smsgs_;
  std::vector<iovec> siov_;                 // one per datagram (a GSO message has several)
  std::vector<std::size_t> smsg_datagrams_;  // per message: queued datagrams it carries
  std::vector<Control> sctl_;               // per message: its UDP_SEGMENT cmsg
};

}  // namespace transport_udp
