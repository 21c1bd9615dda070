// One TCP connection: reads and parses frames, queues and writes frames,
// closes gracefully. Owned by the transport's session table and kept alive
// by its own outstanding handlers (shared_ptr). detach() cuts it loose from
// the transport: after that no handler touches the sink, the pool, the
// logger or the counters.
#pragma once
#include <cstddef>
#include <array>
#include <deque>
#include <memory>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config.hpp"
#include "counters.hpp"
#include "vpnsdk/log_limit.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/packet.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"
#include "vpnsdk/transport.hpp"

namespace transport_tcp {

inline constexpr std::size_t kMaxBatch = 128;       // frames per sink.received()
inline constexpr std::size_t kMaxGather = 64;       // frames per gather write
inline constexpr std::size_t kReadBuffer = 65536;   // at least; grows to fit one largest frame

class SessionOwner {
 public:
  // The session ended (just before sink.closed); forget it.
  virtual void session_ended(vpnsdk::SessionId id) noexcept = 0;
  // How many sessions the transport has now (for each one's fair share of the pool).
  virtual std::size_t session_count() const noexcept = 0;

 protected:
  ~SessionOwner() = default;
};

// What every session of one transport shares; owned by the transport.
struct SessionEnv {
  const Config& cfg;
  vpnsdk::PacketPool& pool;
  spdlog::logger& log;
  TcpCounters& n;
  SessionOwner& owner;
  vpnsdk::TransportSink* sink = nullptr;  // set by start()
  vpnsdk::LogLimit quiet{};               // per-connection debug lines (a peer can cause them): 10 a second
};

class TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  using tcp = boost::asio::ip::tcp;

  TcpSession(SessionEnv& env, vpnsdk::SessionInfo info, tcp::socket socket);
  TcpSession(const TcpSession&) = delete;
  TcpSession& operator=(const TcpSession&) = delete;

  const vpnsdk::SessionInfo& info() const noexcept { return info_; }
  // Attached and not closing: send() accepts frames.
  bool accepting() const noexcept { return env_ != nullptr && !closing_; }

  // Starts reading; call after sink.opened().
  void begin();
  // Host call: takes every frame; never calls the sink.
  vpnsdk::Status send(vpnsdk::Batch frames);
  // Host call: stop delivering, flush (bounded), close; sink.closed follows later.
  void close(const vpnsdk::Status& why);
  // Transport stop/destruction: drop everything now, no callbacks ever.
  void detach() noexcept;

 private:
  void read_more();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  bool consume();   // false when the session ended or started closing
  bool deliver();   // same
  void note_full();
  // Frames this session may queue while the pool is under pressure: a fair
  // share such that all sessions' shares together stay below a quarter of
  // the pool's usable buffers (docs/limits.md, "Packet buffers").
  std::size_t fair_share() const noexcept;
  void write_more();
  void on_write(const boost::system::error_code& ec);
  void flushed() noexcept;
  void on_close_timeout() noexcept;
  void fault(const char* where, const char* what) noexcept;
  void finish(const vpnsdk::Status& why) noexcept;  // the one place that calls sink.closed
  void release_io() noexcept;

  SessionEnv* env_;  // nullptr once finished or detached
  vpnsdk::SessionInfo info_;
  tcp::socket sock_;
  boost::asio::steady_timer close_timer_;

  // Read buffer. Not zero-filled: pages become resident only as data
  // arrives, so an idle session costs a page, not 64 KiB (bench: RSS/session).
  class ReadBuffer {
   public:
    explicit ReadBuffer(std::size_t n) : data_(new std::byte[n]), size_(n) {}
    std::byte* data() noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }

   private:
    std::unique_ptr<std::byte[]> data_;
    std::size_t size_;
  };
  ReadBuffer rbuf_;
  std::size_t rlen_ = 0;
  bool reading_ = false;
  std::vector<vpnsdk::PacketPtr> batch_;

  std::deque<vpnsdk::PacketPtr> queue_;  // framed, front ones in flight
  std::size_t queued_bytes_ = 0;
  // The gather list lives here; async_write gets a span over it, so a write
  // copies two words instead of allocating a vector.
  std::array<boost::asio::const_buffer, kMaxGather> gather_{};
  std::size_t in_flight_ = 0;
  bool writing_ = false;
  std::chrono::steady_clock::time_point full_since_{};  // queue full since (epoch: not full)
  bool stall_posted_ = false;
  bool over_share_ = false;  // the last overflow was the fair share under pool pressure

  bool closing_ = false;
  vpnsdk::Status close_why_;
};

}  // namespace transport_tcp
