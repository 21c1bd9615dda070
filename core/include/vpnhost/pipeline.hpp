// The packet pipeline: wires the stages together, runs the session protocol
// (HELLO/WELCOME/...), moves packets, and contains plugin failures.
//
// Server: transport -> cipher.open -> IPv4 check -> router.route
//         -> session X: cipher.seal(X) -> transport.send(X)
//         -> local: responders -> reply routed again
//         -> device.write | drop (counted)
// Client: device -> router -> cipher.seal -> transport, and the reverse.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <random>

#include "vpnhost/counters.hpp"
#include "vpnhost/mtu.hpp"
#include "vpnhost/ops.hpp"
#include "vpnhost/protocol.hpp"
#include "vpnhost/stage_instance.hpp"
#include "vpnsdk/log_limit.hpp"
#include "vpnsdk/sdk.hpp"

namespace vpnhost {

struct Stages {
  std::unique_ptr<StageInstance> transport, cipher, device, router;
  std::vector<std::unique_ptr<StageInstance>> responders;
};

struct SessionLimits {
  std::chrono::seconds keepalive{10};
  std::chrono::seconds session_timeout{60};
  std::chrono::seconds handshake_timeout{5};
  std::size_t max_sessions = 1024;    // established sessions
  std::size_t max_handshakes = 256;   // sessions still in handshake; the oldest is evicted beyond it
  // client side
  bool reconnect = true;
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{30000};
  bool exit_on_server_bye = true;     // BYE "shutdown" from the server ends the client (else reconnect)
  // tunnel MTU (docs/mtu.md)
  std::uint16_t mtu = 0;              // [host] mtu: 0 = derive per session from the transport's frame_mtu()
  bool mss_clamp = true;              // lower the MSS of TCP SYNs to the tunnel MTU - 40
};

class Pipeline final : public vpnsdk::TransportSink, public vpnsdk::DeviceSink {
 public:
  using Clock = std::chrono::steady_clock;

  Pipeline(boost::asio::io_context& io, vpnsdk::PacketPool& pool, CounterRegistry& counters, Stages& stages,
           SessionLimits limits);
  ~Pipeline();

  // Starts the device (when this host has its own address at once, i.e. a
  // server with a device) and the transport. An error here ends start-up.
  vpnsdk::Status start();
  // Sends BYE to every session, waits (bounded) for them to close, stops the
  // stages, then calls on_finished(exit_code). Idempotent.
  void shutdown(int exit_code, const std::string& why);
  std::function<void(int exit_code)> on_finished;

  // Refreshes gauges and renders counters plus one block per session.
  std::string stats_text();
  std::size_t session_count() const { return sessions_.size(); }
  // One entry per session, sorted by id, for `vpnhost status` (pipeline_snapshot.cpp).
  std::vector<SessionSnapshot> session_snapshots() const;

  // Live reload (pipeline_reload.cpp). Only limits that apply to new
  // sessions are meant to change; the caller decides which.
  const SessionLimits& limits() const { return limits_; }
  void set_limits(const SessionLimits& l) { limits_ = l; }
  // Puts `next` in place of the responders; returns the old ones.
  std::vector<std::unique_ptr<StageInstance>> replace_responders(std::vector<std::unique_ptr<StageInstance>> next);
  // Ends (BYE `why`, counted as host.sessions_revoked) every session whose
  // cipher reports revoked(); returns how many.
  std::size_t end_revoked(const std::string& why);

  // TransportSink
  void opened(const vpnsdk::SessionInfo& info) override;
  void received(vpnsdk::SessionId id, vpnsdk::Batch frames) override;
  void closed(vpnsdk::SessionId id, const vpnsdk::Status& why) override;
  void failed(const vpnsdk::Status& why) override;
  // DeviceSink
  void from_device(vpnsdk::Batch packets) override;
  void device_failed(const vpnsdk::Status& why) override;

 private:
  enum class State { handshaking, awaiting_hello, hello_sent, established, closing };

  struct Session {
    vpnsdk::SessionInfo info;
    State state = State::handshaking;
    std::unique_ptr<vpnsdk::CipherSession> cipher;
    vpnsdk::Assignment assignment;
    bool assigned = false;
    Clock::time_point opened_at, last_rx, last_tx;
    std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, drops = 0;
  };

  struct Pending {
    vpnsdk::SessionId to;
    vpnsdk::PacketPtr packet;
  };

  // control
  void handle_frame(Session& s, vpnsdk::PacketPtr frame);
  // `established`: the session's cipher was established before this message.
  void handle_handshake(Session& s, const vpnsdk::PacketBuffer& frame, bool established);
  // Roaming (roaming.cpp): an opened frame came from a new underlay endpoint
  // (`path`, the transport's token). False: drop the frame.
  bool follow_path(Session& s, std::uint32_t path);
  void cipher_ready(Session& s);
  void on_hello(Session& s, const vpnsdk::PacketBuffer& body);
  void on_welcome(Session& s, const vpnsdk::PacketBuffer& body);
  void on_reject(Session& s, const vpnsdk::PacketBuffer& body);
  void on_bye(Session& s, const vpnsdk::PacketBuffer& body);
  void reject(Session& s, protocol::RejectCode code, const std::string& reason);
  void violation(Session& s, const std::string& what);
  void end_session(Session& s, const std::string& why);
  bool send_control(Session& s, vpnsdk::wire::FrameType type, const protocol::Bytes& body);
  void send_handshake(Session& s, const vpnsdk::HandshakeMessages& msgs);
  void tick();
  void arm_tick();
  void schedule_reconnect(const std::string& why);
  void evict_oldest_handshake(vpnsdk::SessionId except);
  std::size_t established_count() const;
  // Rate-limited log lines (at most 10 a second each), for everything input
  // from the network can cause; debug for what happens per packet.
  template <class... Args>
  void log_limited(vpnsdk::LogLimit& limiter, spdlog::level::level_enum level, fmt::format_string<Args...> f,
                   Args&&... args);
  template <class... Args>
  void warn_limited(fmt::format_string<Args...> f, Args&&... args);
  template <class... Args>
  void info_limited(fmt::format_string<Args...> f, Args&&... args);
  template <class... Args>
  void debug_limited(fmt::format_string<Args...> f, Args&&... args);
  void finish();
  std::size_t handshaking_count() const;

  // data path
  void route_packet(vpnsdk::SessionId from, vpnsdk::PacketPtr p, bool local_reply = false);
  void deliver_local(vpnsdk::SessionId from, vpnsdk::PacketPtr p);
  void flush();
  void drop(std::string_view reason, Session* s = nullptr);
  // MTU (mtu_path.cpp): `to` 0 is the device.
  std::uint16_t derive_mtu(Session& s);
  std::uint16_t server_device_mtu(const vpnsdk::Assignment& self) const;
  // `dst`: the established session `to` (nullptr: to == 0, the device).
  void forward(vpnsdk::SessionId from, vpnsdk::SessionId to, const Session* dst, vpnsdk::PacketPtr p,
               const vpnsdk::ipv4::Header& h);
  void too_big(vpnsdk::SessionId from, const vpnsdk::PacketBuffer& p, const vpnsdk::ipv4::Header& h, std::uint16_t mtu);
  void fragment_to(vpnsdk::SessionId from, vpnsdk::SessionId to, const vpnsdk::PacketBuffer& p,
                   const vpnsdk::ipv4::Header& h, std::uint16_t mtu);
  void queue(vpnsdk::SessionId to, vpnsdk::PacketPtr p);

  // containment: run a plugin call; an escaping exception is logged with the
  // plugin's name and counted, and ends session `sid` (if any).
  template <class F>
  bool guarded(const StageInstance& stage, vpnsdk::SessionId sid, const char* what, F&& f);

  Session* find(vpnsdk::SessionId id);

  boost::asio::io_context& io_;
  vpnsdk::PacketPool& pool_;
  CounterRegistry& counters_;
  Stages& stages_;
  SessionLimits limits_;
  std::shared_ptr<spdlog::logger> log_;

  vpnsdk::Transport* transport_ = nullptr;
  vpnsdk::Cipher* cipher_ = nullptr;
  vpnsdk::Device* device_ = nullptr;
  vpnsdk::Router* router_ = nullptr;
  std::vector<std::pair<vpnsdk::Responder*, StageInstance*>> responders_;

  std::unordered_map<vpnsdk::SessionId, Session> sessions_;
  std::vector<Pending> pending_;                 // routed to sessions, not yet sealed/sent
  std::vector<vpnsdk::PacketPtr> scratch_;       // one session's run, handed to transport
  std::vector<vpnsdk::PacketPtr> to_device_;
  std::unordered_map<std::string_view, std::uint64_t*> drop_counters_;  // keys point into drop_names_
  std::deque<std::string> drop_names_;
  bool device_started_ = false;
  std::uint16_t device_mtu_ = 0;                 // the MTU the device was started with (0: not known)
  mtu::IcmpRateLimit icmp_limit_;
  std::uint16_t icmp_id_ = 0;
  std::vector<vpnsdk::PacketPtr> fragments_;     // one packet's fragments while they are made

  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer reconnect_timer_;
  unsigned reconnect_attempt_ = 0;
  std::minstd_rand jitter_{std::random_device{}()};
  vpnsdk::LogLimit noisy_;  // warnings and errors: 10 a second
  vpnsdk::LogLimit noisy_info_;
  vpnsdk::LogLimit noisy_debug_;
  bool stopping_ = false;
  bool finished_ = false;
  int exit_code_ = 0;

  struct HostCounters {
    std::uint64_t *sessions_opened, *sessions_closed, *sessions_active, *rx_packets, *rx_bytes, *tx_packets,
        *tx_bytes, *device_rx_packets, *device_tx_packets, *plugin_exceptions, *protocol_errors, *echo_local;
  } c_{};
  struct MtuCounters {
    std::uint64_t *frag_needed_sent, *frag_needed_limited, *fragmented, *fragments, *mss_clamped;
  } mc_{};
};

template <class F>
bool Pipeline::guarded(const StageInstance& stage, vpnsdk::SessionId sid, const char* what, F&& f) {
  std::string error;
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  ++*c_.plugin_exceptions;
  // Input from the network may make a plugin throw on every packet: limited.
  log_limited(noisy_, spdlog::level::err, "[{}] threw in {}: {}", stage.name, what, error);
  if (Session* s = find(sid)) end_session(*s, "plugin " + stage.name + " failed in " + what);
  return false;
}

// Log lines that input from the network can cause: at most 10 a second per
// limiter, the rest summed up once a second (vpnsdk/log_limit.hpp, docs/limits.md).
template <class... Args>
void Pipeline::log_limited(vpnsdk::LogLimit& limiter, spdlog::level::level_enum level, fmt::format_string<Args...> f,
                           Args&&... args) {
  limiter.log(*log_, level, f, std::forward<Args>(args)...);
}

template <class... Args>
void Pipeline::warn_limited(fmt::format_string<Args...> f, Args&&... args) {
  log_limited(noisy_, spdlog::level::warn, f, std::forward<Args>(args)...);
}

template <class... Args>
void Pipeline::info_limited(fmt::format_string<Args...> f, Args&&... args) {
  log_limited(noisy_info_, spdlog::level::info, f, std::forward<Args>(args)...);
}

template <class... Args>
void Pipeline::debug_limited(fmt::format_string<Args...> f, Args&&... args) {
  log_limited(noisy_debug_, spdlog::level::debug, f, std::forward<Args>(args)...);
}

}  // namespace vpnhost
