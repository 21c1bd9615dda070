// Transport loopback check: a server instance and a client instance of one
// transport, on one io_context and one packet pool (as in the host),
// connected over loopback. Header-only, framework-neutral: the result is a
// Report.
//
//   const auto port = vpnsdk::testkit::free_tcp_port();
//   auto r = vpnsdk::testkit::check_transport_loopback(
//       "build/transport_x.so",
//       {{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}},   // server options
//       {{"connect", std::string("127.0.0.1")}, {"port", std::int64_t{port}}});  // client options
//   INFO(r.text());
//   CHECK(r.ok());
//
// What is checked:
//  - overhead() is stable and fits the pool's headroom/tailroom;
//  - start() returns ok on both; each side opens exactly one session, the
//    server's as Role::responder, the client's as Role::initiator, with a
//    non-zero id; failed() is not called;
//  - frames of many sizes (0 .. 9000) and every frame type arrive on the other
//    side intact, in order, with their type, under the right session id (the
//    argument and meta.session), in both directions; a burst of frames in one
//    send() and several send() calls in a row keep their order;
//  - received frames leave the pool's headroom and tailroom free, so later
//    stages can work in place;
//  - send() to an unknown session returns Code::drop_no_route;
//  - close() flushes what was queued before it and ends in closed() exactly
//    once on this side (and, for connection-oriented transports, on the
//    peer's side too); send() to the closed session returns drop_no_route;
//  - no sink callback is made from inside start/send/close/stop (the host's
//    re-entrancy rule: defer with boost::asio::post), and none after stop();
//  - after stop() and the handlers that were pending, no packet buffer is
//    still held;
//  - no call throws.
//
// For a datagram transport that may lose frames (UDP), set reliable = false
// (frames that arrive must still be intact and in order, but some may be
// missing) and connection_oriented = false (the peer does not learn of a
// close()).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "vpnsdk/testkit/report.hpp"
#include "vpnsdk/testkit/rig.hpp"
#include "vpnsdk/transport.hpp"
#include "vpnsdk/wire.hpp"

namespace vpnsdk::testkit {

struct TransportLoopback {
  // Frame body sizes sent in each direction; sizes above the pool's payload
  // or the wire limit are skipped.
  std::vector<std::size_t> sizes{0, 1, 2, 3, 100, 1400, 1500, 4096, 9000};
  std::size_t burst = 300;         // frames in one send() call
  bool reliable = true;            // every frame arrives (stream transports)
  bool connection_oriented = true; // the peer sees closed() when this side closes
  std::chrono::milliseconds timeout{5000};
};

// A port that was free a moment ago, for a test's listen/connect options.
inline std::uint16_t free_tcp_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}
inline std::uint16_t free_udp_port() {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket s(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return s.local_endpoint().port();
}

// A TransportSink that records everything and notices re-entrant calls.
// The on_* hooks, when set, run at the end of the callback they name (a test
// that closes or stops from inside a callback).
class RecordingSink final : public TransportSink {
 public:
  struct Frame {
    SessionId id = 0;           // the argument of received()
    SessionId meta_session = 0; // the buffer's meta.session
    std::uint8_t type = 0;
    std::vector<std::byte> body;
    std::size_t headroom = 0, tailroom = 0;
    std::uint32_t path = 0;     // meta.path (non-zero: from a new source, roaming)
  };

  void opened(const SessionInfo& info) override {
    Enter e(*this, "opened");
    opened_.push_back(info);
    if (on_opened) on_opened(info);
  }
  void received(SessionId id, Batch frames) override {
    Enter e(*this, "received");
    ++batches;
    batch_sizes.push_back(frames.size());
    for (auto& p : frames) {
      if (!p) {
        ++null_frames;
        continue;
      }
      frames_.push_back({id, p->meta.session, p->meta.frame_type, {p->bytes().begin(), p->bytes().end()},
                         p->headroom(), p->tailroom(), p->meta.path});
    }
    if (on_received) on_received(id, frames);
  }
  void closed(SessionId id, const Status& why) override {
    Enter e(*this, "closed");
    closed_.emplace_back(id, why);
    if (on_closed) on_closed(id, why);
  }
  void failed(const Status& why) override {
    Enter e(*this, "failed");
    failed_.push_back(why);
  }

  int closed_count(SessionId id) const {
    int n = 0;
    for (const auto& c : closed_) n += c.first == id ? 1 : 0;
    return n;
  }
  // Why `id` was closed (the first time), or nullptr.
  const Status* closed_status(SessionId id) const {
    for (const auto& c : closed_)
      if (c.first == id) return &c.second;
    return nullptr;
  }
  int count_type(std::uint8_t type) const {
    int n = 0;
    for (const auto& f : frames_) n += f.type == type ? 1 : 0;
    return n;
  }
  std::size_t callbacks() const { return callbacks_; }

  // Host calls are bracketed with this, so a callback inside one is seen.
  struct HostCall {
    explicit HostCall(RecordingSink& s) : s_(s) { ++s_.in_host_call_; }
    ~HostCall() { --s_.in_host_call_; }
    RecordingSink& s_;
  };

  std::vector<SessionInfo> opened_;
  std::vector<Frame> frames_;
  std::vector<std::pair<SessionId, Status>> closed_;
  std::vector<Status> failed_;
  std::size_t batches = 0, null_frames = 0;
  std::vector<std::size_t> batch_sizes;  // frames in each received() call
  std::vector<std::string> violations;  // re-entrant callbacks

  std::function<void(const SessionInfo&)> on_opened;
  std::function<void(SessionId, Batch)> on_received;
  std::function<void(SessionId, const Status&)> on_closed;

 private:
  struct Enter {
    Enter(RecordingSink& s, const char* what) : s_(s) {
      ++s_.callbacks_;
      if (s_.in_host_call_ > 0) s_.violations.push_back(std::string(what) + "() called from inside a host call");
      if (s_.depth_ > 0) s_.violations.push_back(std::string(what) + "() called from inside another callback");
      ++s_.depth_;
    }
    ~Enter() { --s_.depth_; }
    RecordingSink& s_;
  };
  int in_host_call_ = 0;
  int depth_ = 0;
  std::size_t callbacks_ = 0;
};

namespace detail {

class LoopbackChecker {
 public:
  LoopbackChecker(Transport& server, Transport& client, boost::asio::io_context& io, PacketPool& pool,
                  const TransportLoopback& c, Report& r)
      : srv_(server), cli_(client), io_(io), pool_(pool), c_(c), r_(r) {}

  void run() {
    if (overheads() && start()) {
      const SessionId s = srv_sink_.opened_.front().id, k = cli_sink_.opened_.front().id;
      sizes_and_types(cli_, cli_sink_, k, srv_sink_, s, "client->server");
      sizes_and_types(srv_, srv_sink_, s, cli_sink_, k, "server->client");
      burst(cli_, cli_sink_, k, srv_sink_, s, "client->server");
      burst(srv_, srv_sink_, s, cli_sink_, k, "server->client");
      unknown_session();
      close_and_stop(s, k);
    }
    if (!stopped_) {  // an early end: the sinks go away, so stop both
      no_throw(r_, "client stop()", [&] { cli_.stop(); });
      no_throw(r_, "server stop()", [&] { srv_.stop(); });
      run_for(std::chrono::milliseconds(100));
    }
  }

 private:
  using Sink = RecordingSink;

  template <class Pred>
  bool run_until(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + c_.timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
  }

  bool overheads() {
    Overhead a{}, b{};
    if (!no_throw(r_, "overhead()", [&] { a = srv_.overhead(); b = srv_.overhead(); })) return false;
    r_.expect(a.head == b.head && a.tail == b.tail, "overhead() returns the same value every time");
    r_.expect(a.head <= pool_.config().headroom, "overhead().head (" + std::to_string(a.head) +
                                                     ") fits the pool's headroom (" +
                                                     std::to_string(pool_.config().headroom) + ")");
    r_.expect(a.tail <= pool_.config().tailroom, "overhead().tail (" + std::to_string(a.tail) +
                                                     ") fits the pool's tailroom (" +
                                                     std::to_string(pool_.config().tailroom) + ")");
    return true;
  }

  bool start() {
    Status st;
    {
      Sink::HostCall m(srv_sink_);
      if (!no_throw(r_, "server start()", [&] { st = srv_.start(srv_sink_); })) return false;
    }
    if (!r_.expect(st.ok(), "server start() returns ok (" + status_text(st) + ")")) return false;
    {
      Sink::HostCall m(cli_sink_);
      if (!no_throw(r_, "client start()", [&] { st = cli_.start(cli_sink_); })) return false;
    }
    if (!r_.expect(st.ok(), "client start() returns ok (" + status_text(st) + ")")) return false;
    // A datagram server learns of its client from the first frame: the
    // client says something as soon as its session is open.
    run_until([&] { return !cli_sink_.opened_.empty() || !cli_sink_.failed_.empty(); });
    if (!r_.expect(!cli_sink_.opened_.empty(), "the client opens a session within the timeout" +
                                                   failed_text(cli_sink_)))
      return false;
    const SessionId k = cli_sink_.opened_.front().id;
    send(cli_, cli_sink_, k, {{static_cast<std::uint8_t>(wire::FrameType::keepalive), {}}}, "first frame");
    if (!r_.expect(run_until([&] { return !srv_sink_.opened_.empty() && !srv_sink_.frames_.empty(); }),
                   "the server opens a session and gets the client's first frame within the timeout" +
                       failed_text(srv_sink_)))
      return false;
    srv_sink_.frames_.clear();
    r_.expect(srv_sink_.opened_.size() == 1, "the server opened exactly one session (" +
                                                 std::to_string(srv_sink_.opened_.size()) + ")");
    r_.expect(cli_sink_.opened_.size() == 1, "the client opened exactly one session (" +
                                                 std::to_string(cli_sink_.opened_.size()) + ")");
    const SessionInfo& s = srv_sink_.opened_.front();
    const SessionInfo& c = cli_sink_.opened_.front();
    r_.expect(s.role == Role::responder, "the server's session has Role::responder");
    r_.expect(c.role == Role::initiator, "the client's session has Role::initiator");
    r_.expect(s.id != 0 && c.id != 0, "session ids are not 0");
    r_.expect(!s.peer.address.empty() && !c.peer.address.empty(), "opened() names the peer's address");
    r_.expect(srv_sink_.failed_.empty() && cli_sink_.failed_.empty(), "failed() is not called" +
                                                                          failed_text(srv_sink_) +
                                                                          failed_text(cli_sink_));
    return true;
  }

  static std::string failed_text(const Sink& s) {
    std::string out;
    for (const auto& f : s.failed_) out += " (failed: " + status_text(f) + ")";
    return out;
  }

  struct Out {
    std::uint8_t type;
    std::vector<std::byte> body;
  };

  Status send(Transport& t, Sink& sink, SessionId id, const std::vector<Out>& frames, const std::string& what) {
    std::vector<PacketPtr> batch;
    for (const auto& f : frames) {
      PacketPtr p = pool_.acquire();
      if (!r_.expect(p && p->append(f.body), what + ": the pool gives a buffer for the frame"))
        return Status::error(Code::internal, "pool");
      p->meta.frame_type = f.type;
      p->meta.session = id;
      batch.push_back(std::move(p));
    }
    Status st;
    Sink::HostCall m(sink);
    no_throw(r_, what + ": send()", [&] { st = t.send(id, Batch(batch.data(), batch.size())); });
    return st;
  }

  // Every frame that arrived matches the sent ones, in order (a subsequence
  // when the transport is not reliable).
  void compare(const std::vector<Out>& sent, Sink& to, SessionId to_id, const std::string& what) {
    std::size_t j = 0;
    std::size_t matched = 0;
    for (std::size_t i = 0; i < to.frames_.size(); ++i) {
      const auto& f = to.frames_[i];
      while (j < sent.size() && !(sent[j].type == f.type && sent[j].body == f.body)) {
        if (c_.reliable) break;
        ++j;
      }
      const std::string w = what + ": received frame " + std::to_string(i) + " (" + std::to_string(f.body.size()) +
                            " bytes, type " + std::to_string(f.type) + ")";
      const std::string expected =
          j < sent.size() ? "sent frame " + std::to_string(j) + " (" + std::to_string(sent[j].body.size()) +
                                " bytes, type " + std::to_string(sent[j].type) + ")"
                          : "no further frame";
      if (!r_.expect(j < sent.size() && sent[j].type == f.type && sent[j].body == f.body,
                     w + " is the next frame sent, intact and in order; expected " + expected +
                         " (lost, reordered, duplicated or changed?)"))
        return;
      ++j;
      ++matched;
      r_.expect(f.id == to_id, w + " arrived under the receiver's session id");
      r_.expect(f.meta_session == to_id, w + " has meta.session set to the session id");
      r_.expect(f.headroom >= pool_.config().headroom && f.tailroom >= pool_.config().tailroom,
                w + " leaves the pool's headroom and tailroom (" + std::to_string(f.headroom) + "/" +
                    std::to_string(f.tailroom) + ", want >= " + std::to_string(pool_.config().headroom) + "/" +
                    std::to_string(pool_.config().tailroom) + ")");
    }
    if (!c_.reliable && matched < sent.size())
      r_.note(what + ": " + std::to_string(sent.size() - matched) + " of " + std::to_string(sent.size()) +
              " frames lost (allowed: reliable = false)");
  }

  bool deliver(Transport& from, Sink& from_sink, SessionId from_id, Sink& to, SessionId to_id,
               const std::vector<Out>& frames, const std::string& what) {
    to.frames_.clear();
    Status st = send(from, from_sink, from_id, frames, what);
    r_.expect(st.ok(), what + ": send() of " + std::to_string(frames.size()) + " frames returns ok (" +
                           status_text(st) + ")");
    bool all = run_until([&] { return to.frames_.size() >= frames.size(); });
    if (!all && !c_.reliable) all = !to.frames_.empty();
    r_.expect(all, what + ": " + std::to_string(to.frames_.size()) + " of " + std::to_string(frames.size()) +
                       " frames arrived within the timeout");
    compare(frames, to, to_id, what);
    return all;
  }

  void sizes_and_types(Transport& from, Sink& from_sink, SessionId from_id, Sink& to, SessionId to_id,
                       const std::string& what) {
    std::vector<Out> frames;
    std::uint8_t type = 1;
    for (std::size_t n : c_.sizes) {
      if (n > pool_.config().payload || n > wire::kMaxBody) {
        r_.note("size " + std::to_string(n) + " skipped: larger than the pool's payload or the wire limit");
        continue;
      }
      frames.push_back({type, test_bytes(n, static_cast<std::uint32_t>(n) + type)});
      type = static_cast<std::uint8_t>(type % 7 + 1);
    }
    // Every frame type at least once.
    for (std::uint8_t t = 1; t <= 7; ++t) frames.push_back({t, test_bytes(10 + t, t)});
    deliver(from, from_sink, from_id, to, to_id, frames, what + " sizes and types");
  }

  void burst(Transport& from, Sink& from_sink, SessionId from_id, Sink& to, SessionId to_id,
             const std::string& what) {
    std::vector<Out> frames;
    for (std::size_t i = 0; i < c_.burst; ++i)
      frames.push_back({static_cast<std::uint8_t>(wire::FrameType::data),
                        test_bytes(60 + i % 140, static_cast<std::uint32_t>(i) + 5000)});
    deliver(from, from_sink, from_id, to, to_id, frames, what + " burst in one send()");
    // Several calls in a row, without running the io_context in between.
    to.frames_.clear();
    std::vector<Out> all;
    for (std::size_t call = 0; call < 10; ++call) {
      std::vector<Out> one;
      for (std::size_t i = 0; i < 5; ++i)
        one.push_back({static_cast<std::uint8_t>(wire::FrameType::data),
                       test_bytes(100 + call * 5 + i, static_cast<std::uint32_t>(call * 100 + i))});
      Status st = send(from, from_sink, from_id, one, what + " send() call " + std::to_string(call));
      r_.expect(st.ok(), what + ": send() call " + std::to_string(call) + " returns ok (" + status_text(st) + ")");
      all.insert(all.end(), one.begin(), one.end());
    }
    bool ok = run_until([&] { return to.frames_.size() >= all.size(); });
    if (!ok && !c_.reliable) ok = !to.frames_.empty();
    r_.expect(ok, what + ": frames of 10 send() calls arrived (" + std::to_string(to.frames_.size()) + " of " +
                      std::to_string(all.size()) + ")");
    compare(all, to, to_id, what + " 10 send() calls");
  }

  void unknown_session() {
    const SessionId nobody = 987654321;
    Status st = send(srv_, srv_sink_, nobody, {{3, test_bytes(20, 1)}}, "send() to an unknown session");
    r_.expect(st.code == Code::drop_no_route,
              "server send() to an unknown session returns drop_no_route (" + status_text(st) + ")");
    st = send(cli_, cli_sink_, nobody, {{3, test_bytes(20, 1)}}, "send() to an unknown session");
    r_.expect(st.code == Code::drop_no_route,
              "client send() to an unknown session returns drop_no_route (" + status_text(st) + ")");
  }

  void close_and_stop(SessionId s, SessionId k) {
    // Queued just before close(): still delivered.
    srv_sink_.frames_.clear();
    const std::vector<Out> last{{static_cast<std::uint8_t>(wire::FrameType::bye), test_bytes(33, 33)}};
    Status st = send(cli_, cli_sink_, k, last, "the frame before close()");
    r_.expect(st.ok(), "send() just before close() returns ok (" + status_text(st) + ")");
    {
      Sink::HostCall m(cli_sink_);
      no_throw(r_, "client close()", [&] { cli_.close(k, Status::success()); });
    }
    r_.expect(run_until([&] { return cli_sink_.closed_count(k) > 0; }),
              "the client's closed() follows its close() within the timeout");
    if (c_.reliable) {
      r_.expect(run_until([&] { return !srv_sink_.frames_.empty(); }),
                "the frame sent just before close() arrives");
      compare(last, srv_sink_, s, "the frame sent just before close()");
    }
    if (c_.connection_oriented) {
      r_.expect(run_until([&] { return srv_sink_.closed_count(s) > 0; }),
                "the server's closed() follows the client's close() within the timeout");
    } else {
      run_for(std::chrono::milliseconds(100));
      Sink::HostCall m(srv_sink_);
      no_throw(r_, "server close()", [&] { srv_.close(s, Status::success()); });
    }
    r_.expect(run_until([&] { return srv_sink_.closed_count(s) > 0; }), "the server's session is closed");
    run_for(std::chrono::milliseconds(100));
    r_.expect(cli_sink_.closed_count(k) == 1, "closed() is called exactly once for the client's session (" +
                                                  std::to_string(cli_sink_.closed_count(k)) + ")");
    r_.expect(srv_sink_.closed_count(s) == 1, "closed() is called exactly once for the server's session (" +
                                                  std::to_string(srv_sink_.closed_count(s)) + ")");
    st = send(cli_, cli_sink_, k, {{3, test_bytes(20, 2)}}, "send() to the closed session");
    r_.expect(st.code == Code::drop_no_route,
              "send() to a closed session returns drop_no_route (" + status_text(st) + ")");

    const std::size_t before = srv_sink_.callbacks() + cli_sink_.callbacks();
    stopped_ = true;
    {
      Sink::HostCall m(cli_sink_);
      no_throw(r_, "client stop()", [&] { cli_.stop(); });
    }
    {
      Sink::HostCall m(srv_sink_);
      no_throw(r_, "server stop()", [&] { srv_.stop(); });
    }
    run_for(std::chrono::milliseconds(200));
    r_.expect(srv_sink_.callbacks() + cli_sink_.callbacks() == before, "no callback after stop()");
    r_.expect(pool_.in_use() == 0, "after stop() no packet buffer is held (" + std::to_string(pool_.in_use()) +
                                       " still in use)");
    for (const auto& v : srv_sink_.violations) r_.fail("server sink: " + v + " (defer with boost::asio::post)");
    for (const auto& v : cli_sink_.violations) r_.fail("client sink: " + v + " (defer with boost::asio::post)");
    r_.expect(srv_sink_.null_frames == 0 && cli_sink_.null_frames == 0, "received() batches hold no null frames");
  }

  Transport& srv_;
  Transport& cli_;
  boost::asio::io_context& io_;
  PacketPool& pool_;
  const TransportLoopback& c_;
  Report& r_;
  Sink srv_sink_, cli_sink_;
  bool stopped_ = false;
};

}  // namespace detail

// Checks two fresh (not started) instances of one transport that share `io`
// and `pool`: `server` listens, `client` connects to it. Stops both.
inline Report check_transport_loopback(Transport& server, Transport& client, boost::asio::io_context& io,
                                       PacketPool& pool, const TransportLoopback& c = {}) {
  Report r;
  detail::LoopbackChecker(server, client, io, pool, c, r).run();
  return r;
}

// The same from a plugin file: creates the two instances with these options.
inline Report check_transport_loopback(const std::filesystem::path& so,
                                       const std::map<std::string, OptionValue>& server_options,
                                       const std::map<std::string, OptionValue>& client_options,
                                       const TransportLoopback& c = {}) {
  PluginRig rig(so);
  auto& server = rig.create(server_options);
  auto& client = rig.create(client_options);
  Report r;
  if (!r.expect(server.status.ok(), "server instance created (" + detail::status_text(server.status) + ")") ||
      !r.expect(client.status.ok(), "client instance created (" + detail::status_text(client.status) + ")"))
    return r;
  Report out = check_transport_loopback(server.get<Transport>(), client.get<Transport>(), rig.io(), rig.pool(), c);
  return out;
}

}  // namespace vpnsdk::testkit
