// UdpTransport: vpnsdk::Transport over UDP, one wire v1 frame per datagram.
// Listen mode serves every session on one socket, a session per source
// address:port, opened by its first HELLO/HANDSHAKE datagram (option
// open_on), bounded by max_sessions and new_sessions_per_second; each
// session has a random index that its client echoes in every datagram, so
// its datagrams are recognised from a new source too (roaming.cpp). Connect
// mode opens one connected socket per connection (Role::initiator) and
// supports reconnect(). ControlState (control.hpp) makes the handshake
// survive loss and duplication. Keeps the SDK's promises: no sink callback
// inside start/send/close/reconnect, none after stop().
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config.hpp"
#include "control.hpp"
#include "cookie.hpp"
#include "counters.hpp"
#include "datagram.hpp"
#include "datagram_socket.hpp"
#include "peer.hpp"
#include "vpnsdk/context.hpp"
#include "vpnsdk/transport.hpp"
#include "vpnsdk/wire.hpp"

namespace transport_udp {

class UdpTransport final : public vpnsdk::Transport, private SocketOwner {
 public:
  using udp = boost::asio::ip::udp;
  using Clock = std::chrono::steady_clock;

  explicit UdpTransport(const vpnsdk::HostContext& ctx);
  ~UdpTransport() override;
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Header + session index (datagram.hpp).
  vpnsdk::Overhead overhead() const override { return {kPrefixSize, 0}; }
  vpnsdk::Status start(vpnsdk::TransportSink& sink) override;
  vpnsdk::Status send(vpnsdk::SessionId id, vpnsdk::Batch frames) override;
  void close(vpnsdk::SessionId id, const vpnsdk::Status& why) override;
  vpnsdk::Status reconnect() override;
  std::uint32_t frame_mtu(vpnsdk::SessionId id) const override;  // path_mtu.cpp
  std::optional<vpnsdk::Endpoint> adopt_path(vpnsdk::SessionId id, std::uint32_t path) override;  // roaming.cpp
  void stop() override;

 private:
  struct Session {
    Session(boost::asio::io_context& io, vpnsdk::SessionInfo i, Peer p)
        : info(std::move(i)), peer(p), ctl(info.role), rtx_timer(io) {}
    vpnsdk::SessionInfo info;
    Peer peer;  // server: where its datagrams come from and go to
    LocalAddr local;  // server: our address its datagrams go to, the source of our replies
    ControlState ctl;
    boost::asio::steady_timer rtx_timer;
    std::chrono::milliseconds rtx_delay{0};
    unsigned rtx_sent = 0;
    Clock::time_point last_tx{};
    // Roaming (roaming.cpp). Server: the index it gave the session; client:
    // the index the server's datagrams carry (0: not known yet).
    std::uint32_t index = 0;
    bool indexed = false;  // server: the client speaks indices, so replies carry ours
    Peer candidate;        // server: the latest new source of the session's datagrams
    LocalAddr candidate_local;  // server: the local address the candidate sent to
    std::uint32_t candidate_token = 0;
    std::uint32_t adopted_token = 0;  // the token adopt_path() took last (its later frames are no news)
  };
  struct Group {  // the frames of one session in one received batch
    vpnsdk::SessionId id = 0;
    std::vector<vpnsdk::PacketPtr> frames;
    std::uint64_t bytes = 0;  // datagram bytes of the frames
  };

  // SocketOwner (transport_recv.cpp)
  void on_datagrams(DatagramSocket& s, std::span<RxDatagram> batch) override;
  void on_socket_error(DatagramSocket& s, int err) override;
  void on_drained(DatagramSocket& s) override;
  void classify(RxDatagram& d);
  Session* session_for(RxDatagram& d, const ParsedDatagram& p);
  // Address proof (cookie.hpp): server side
  bool proven(const RxDatagram& d, const ParsedDatagram& p);
  void send_cookie(const RxDatagram& d);
  const char* admit(const Peer& from);  // nullptr: admitted (a token taken), else why not
  // client side
  vpnsdk::PacketPtr with_cookie_field(vpnsdk::PacketPtr f, std::size_t body, std::uint8_t type, std::uint32_t index);
  void on_cookie(const vpnsdk::PacketBuffer& b);
  Group& group_of(vpnsdk::SessionId id);
  void deliver_groups();

  // Wraps a completion handler: nothing once stop() ran or the transport is
  // gone, and never an exception into io.run().
  template <class F>
  auto guarded(F f);

  Session* find(vpnsdk::SessionId id);
  vpnsdk::Status listen();
  void connect();
  void on_resolved(const boost::system::error_code& ec, const udp::resolver::results_type& results);
  void connect_failed(const std::string& reason);
  Session* open_session(const Peer& peer, vpnsdk::Role role, const LocalAddr& local = {});
  // roaming.cpp
  Session* session_by_index(RxDatagram& d, std::uint32_t index);
  void give_index(Session& s);
  void forget_index(const Session& s);
  bool source_gone(int err) const;
  void rebind(int err);
  bool take_token();
  const Peer* dest(const Session& s) const { return cfg_.server() ? &s.peer : nullptr; }
  DatagramSocket* socket_of(const Session& s);
  void send_copy(Session& s, std::span<const std::byte> datagram);
  void arm_retransmit(Session& s, bool fresh);
  void retransmit(vpnsdk::SessionId id);
  void arm_keepalive();
  void keepalive_tick();
  void end_client_session(const vpnsdk::Status& why);  // from the loop: closed() at once
  void finish_client_close();
  void retire(std::unique_ptr<DatagramSocket> s);

  boost::asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_;
  Config cfg_;
  UdpCounters n_;
  vpnsdk::PacketPool& pool_;
  vpnsdk::TransportSink* sink_ = nullptr;
  std::shared_ptr<int> guard_;  // handlers hold a weak_ptr; reset by stop()

  std::unique_ptr<DatagramSocket> socket_;  // server: the one; client: this connection's
  std::vector<std::unique_ptr<DatagramSocket>> retired_;  // closed, destroyed later (never inside a callback)
  std::unordered_map<Peer, vpnsdk::SessionId, PeerHash> by_peer_;
  std::unordered_map<vpnsdk::SessionId, std::unique_ptr<Session>> sessions_;
  vpnsdk::SessionId next_id_ = 1;
  std::unordered_map<std::uint32_t, vpnsdk::SessionId> by_index_;  // server
  std::mt19937 index_rng_{std::random_device{}()};
  std::uint32_t next_token_ = 0;

  // client
  udp::resolver resolver_;
  udp::endpoint remote_;  // the server's address the socket is connected to
  Clock::time_point last_rebind_{};
  boost::asio::steady_timer connect_timer_;
  bool connect_pending_ = false;
  std::unique_ptr<DatagramSocket> closing_socket_;  // flushing after close()
  vpnsdk::SessionId closing_id_ = 0;
  vpnsdk::Status closing_why_;
  boost::asio::steady_timer close_timer_;

  boost::asio::steady_timer keepalive_timer_;
  double tokens_ = 0;  // new-session token bucket (server)
  Clock::time_point refilled_{};
  // Address proof. Server: the cookie secrets, the per-source buckets, and
  // whether COOKIE datagrams wait for a flush at the end of a batch.
  std::optional<CookieJar> jar_;
  SourceBuckets by_source_;
  bool tx_pending_ = false;
  // Client: the latest cookie from the server (zero: none yet), whether the
  // server has answered this connection with anything else (then no more
  // cookie fields), the latest datagram sent with the field, immediate resends.
  Cookie cookie_{};
  bool heard_ = false;
  Bytes opener_;
  unsigned cookie_resends_ = 0;
  // Log lines that datagrams from anyone can cause, one limit per kind.
  StrangerLogLimit lim_bad_, lim_unknown_, lim_refused_, lim_dup_, lim_cookie_, lim_session_, lim_path_, lim_sock_;
  std::vector<Group> groups_;
  std::size_t ngroups_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace transport_udp
