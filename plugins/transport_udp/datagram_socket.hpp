// One UDP socket on the host's io_context, read with recvmmsg and written
// with sendmmsg. Received datagrams land directly in pool buffers (no copy);
// datagrams to send wait in a bounded queue only while the socket's send
// buffer is full. The owner (the transport) gets whole batches.
//
// Rules that keep it safe on a single-threaded loop:
//  - owner callbacks come only from the event loop, never from inside
//    enqueue()/flush()/close();
//  - the owner may close() the socket inside a callback, but must not
//    destroy it there (it retires it and destroys it later);
//  - after close() no callback is made and no packet buffer is held.
#pragma once
#include <sys/socket.h>

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
#include "vpnsdk/packet.hpp"

namespace transport_udp {

struct RxDatagram {
  vpnsdk::PacketPtr buf;  // data() is the whole datagram
  Peer from;
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
  // for the connected peer when `to` is nullptr. False (buffer released):
  // the queue is full or the socket is closed.
  bool enqueue(vpnsdk::PacketPtr buf, const Peer* to);
  // Hands the queue to the kernel as far as it takes it.
  void flush();
  std::size_t queued() const noexcept { return txq_.size(); }
  bool closed() const noexcept { return closed_; }
  udp::endpoint local_endpoint() const;
  // Closes the socket and releases every buffer; no callback after this.
  void close() noexcept;

 private:
  struct TxEntry {
    vpnsdk::PacketPtr buf;
    Peer to;  // !valid(): the connected peer
  };

  boost::system::error_code configure();
  void wait_readable();
  void read_some();
  int receive_batch();  // >0: got some (read on), 0: nothing more now, <0: closed
  int drop_one();       // no packet buffer: read one datagram into scratch and drop it
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

  std::vector<vpnsdk::PacketPtr> bufs_;  // receive buffers, refilled from the pool
  std::vector<mmsghdr> rmsgs_;
  std::vector<iovec> riov_;
  std::vector<sockaddr_storage> rnames_;
  std::vector<RxDatagram> rx_;

  std::deque<TxEntry> txq_;
  std::vector<mmsghdr> smsgs_;
  std::vector<iovec> siov_;
};

}  // namespace transport_udp
