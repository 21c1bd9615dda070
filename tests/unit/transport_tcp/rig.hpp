// Test rig for transport_tcp: loads the plugin once and creates several
// instances (server and client) that share ONE io_context and ONE packet
// pool, as in the host. Also raw-socket helpers and a recording sink that
// detects re-entrant callbacks.
#pragma once
#include <array>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/dll/shared_library.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/harness.hpp"

namespace tcptest {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;
using vpnsdk::Code;
using vpnsdk::PacketPtr;
using vpnsdk::SessionId;
using vpnsdk::Status;

inline std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/transport_tcp.so"; }

// A port that was free a moment ago (bind to port 0, read it, close).
inline std::uint16_t free_port() {
  boost::asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

inline std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>((i * 7 + seed) % 251));
  return v;
}

struct Frame {
  SessionId session = 0;       // what the sink was called with
  SessionId meta_session = 0;  // what the buffer's meta said
  std::uint8_t type = 0;
  std::vector<std::byte> body;
};

// Encodes one wire frame (header + body), flags and length as given.
inline std::vector<std::byte> encode(std::uint8_t type, const std::vector<std::byte>& body, std::uint8_t flags = 0,
                                     int length = -1) {
  const std::size_t len = length < 0 ? body.size() : static_cast<std::size_t>(length);
  std::vector<std::byte> out{std::byte(len >> 8), std::byte(len & 0xff), std::byte(type), std::byte(flags)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// Splits a byte stream into frames (the test's own, independent parser).
inline std::vector<Frame> split(const std::vector<std::byte>& in, std::size_t* rest = nullptr) {
  std::vector<Frame> out;
  std::size_t off = 0;
  while (in.size() - off >= 4) {
    const std::size_t len = (std::to_integer<std::size_t>(in[off]) << 8) | std::to_integer<std::size_t>(in[off + 1]);
    if (in.size() - off < 4 + len) break;
    Frame f;
    f.type = std::to_integer<std::uint8_t>(in[off + 2]);
    f.body.assign(in.begin() + static_cast<long>(off + 4), in.begin() + static_cast<long>(off + 4 + len));
    out.push_back(std::move(f));
    off += 4 + len;
  }
  if (rest != nullptr) *rest = in.size() - off;
  return out;
}

class RecordingSink final : public vpnsdk::TransportSink {
 public:
  void opened(const vpnsdk::SessionInfo& info) override {
    Enter e(*this);
    opened_.push_back(info);
    if (on_opened) on_opened(info);
  }
  void received(SessionId id, vpnsdk::Batch frames) override {
    Enter e(*this);
    batch_sizes.push_back(frames.size());
    for (auto& p : frames) {
      if (!p) {
        ++null_frames;
        continue;
      }
      frames_.push_back({id, p->meta.session, p->meta.frame_type, {p->bytes().begin(), p->bytes().end()}});
    }
    if (on_received) on_received(id, frames);
  }
  void closed(SessionId id, const Status& why) override {
    Enter e(*this);
    closed_.push_back({id, why});
    if (on_closed) on_closed(id, why);
  }
  void failed(const Status& why) override {
    Enter e(*this);
    failed_.push_back(why);
  }

  int closed_count(SessionId id) const {
    int n = 0;
    for (const auto& c : closed_) n += c.first == id ? 1 : 0;
    return n;
  }
  const Status* closed_status(SessionId id) const {
    for (const auto& c : closed_)
      if (c.first == id) return &c.second;
    return nullptr;
  }
  std::size_t callbacks() const { return opened_.size() + batch_sizes.size() + closed_.size() + failed_.size(); }

  std::vector<vpnsdk::SessionInfo> opened_;
  std::vector<Frame> frames_;
  std::vector<std::size_t> batch_sizes;
  std::vector<std::pair<SessionId, Status>> closed_;
  std::vector<Status> failed_;
  int null_frames = 0;

  int in_host_call = 0;  // set by Instance around start/send/close/stop
  int violations = 0;    // a callback inside a host call or inside another callback

  std::function<void(const vpnsdk::SessionInfo&)> on_opened;
  std::function<void(SessionId, vpnsdk::Batch)> on_received;
  std::function<void(SessionId, const Status&)> on_closed;

 private:
  struct Enter {
    explicit Enter(RecordingSink& s) : s_(s) {
      if (s_.in_host_call > 0 || s_.depth_ > 0) ++s_.violations;
      ++s_.depth_;
    }
    ~Enter() { --s_.depth_; }
    RecordingSink& s_;
  };
  int depth_ = 0;
};

// One plugin instance with its own options, counters and sink.
class Instance {
 public:
  vpnsdk::testkit::SimpleCounters counters;
  vpnsdk::Options options;
  vpnsdk::HostContext ctx;
  vpnsdk::Status create_status;
  vpnsdk::Plugin* plugin = nullptr;
  RecordingSink sink;

  vpnsdk::Transport& t() { return *dynamic_cast<vpnsdk::Transport*>(plugin); }
  std::uint64_t counter(const std::string& name) const { return counters.value(name); }

  // Host calls, marked so the sink can tell a re-entrant callback.
  Status start() {
    Mark m(sink);
    return t().start(sink);
  }
  Status send(SessionId id, std::vector<PacketPtr>& frames) {
    Mark m(sink);
    return t().send(id, vpnsdk::Batch(frames.data(), frames.size()));
  }
  Status send(SessionId id, PacketPtr frame) {
    std::vector<PacketPtr> v;
    v.push_back(std::move(frame));
    return send(id, v);
  }
  void close(SessionId id, const Status& why) {
    Mark m(sink);
    t().close(id, why);
  }
  void stop() {
    Mark m(sink);
    t().stop();
  }
  SessionId session() const { return sink.opened_.empty() ? 0 : sink.opened_.front().id; }

 private:
  struct Mark {
    explicit Mark(RecordingSink& s) : s_(s) { ++s_.in_host_call; }
    ~Mark() { --s_.in_host_call; }
    RecordingSink& s_;
  };
};

class Rig {
 public:
  explicit Rig(vpnsdk::PoolConfig pool = {}) : lib_(plugin_path(), boost::dll::load_mode::rtld_now), pool_(pool) {
    desc_ = lib_.get<vpnsdk::EntryFunction>(vpnsdk::kEntrySymbol)();
    if (desc_ == nullptr || desc_->abi_major != vpnsdk::kAbiMajor) throw std::runtime_error("bad plugin descriptor");
  }
  ~Rig() {
    for (auto& i : instances_) destroy(*i);  // plugins first; then sinks, pool, io, library
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Creates an instance; its create_status tells whether it worked.
  Instance& make(const std::map<std::string, vpnsdk::OptionValue>& given) {
    auto inst = std::make_unique<Instance>();
    inst->options = vpnsdk::testkit::options_from(*desc_, given);
    inst->ctx.io = &io_;
    inst->ctx.log = logger();
    inst->ctx.options = &inst->options;
    inst->ctx.counters = &inst->counters;
    inst->ctx.pool = &pool_;
    inst->plugin = desc_->create(inst->ctx, inst->create_status);
    instances_.push_back(std::move(inst));
    return *instances_.back();
  }
  Instance& server(std::uint16_t port, std::map<std::string, vpnsdk::OptionValue> more = {}) {
    more["listen"] = std::string("127.0.0.1");
    more["port"] = std::int64_t{port};
    return make(more);
  }
  Instance& client(std::uint16_t port, std::map<std::string, vpnsdk::OptionValue> more = {}) {
    more["connect"] = std::string("127.0.0.1");
    more["port"] = std::int64_t{port};
    return make(more);
  }
  void destroy(Instance& i) {
    if (i.plugin != nullptr) desc_->destroy(i.plugin);
    i.plugin = nullptr;
  }

  boost::asio::io_context& io() { return io_; }
  vpnsdk::PacketPool& pool() { return pool_; }
  const vpnsdk::PluginDescriptor& descriptor() const { return *desc_; }

  // Runs handlers until pred() holds or the deadline passes; true if it held.
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_one_for(10ms);
    }
    return true;
  }
  // Runs handlers for a fixed (short) time: to see that nothing else happens.
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }
  // Runs what is ready now, without waiting.
  void poll() {
    io_.restart();
    io_.poll();
  }

  PacketPtr frame(std::uint8_t type, const std::vector<std::byte>& body) {
    PacketPtr p = pool_.acquire();
    if (!p || !p->append(body)) throw std::runtime_error("pool cannot hold the frame");
    p->meta.frame_type = type;
    return p;
  }

 private:
  static std::shared_ptr<spdlog::logger> logger() {
    if (std::getenv("TRANSPORT_TCP_TEST_LOG") != nullptr) {
      auto l = std::make_shared<spdlog::logger>("plugin:transport_tcp",
                                                std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      l->set_level(spdlog::level::trace);
      return l;
    }
    return std::make_shared<spdlog::logger>("plugin:transport_tcp", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  boost::dll::shared_library lib_;  // outlives everything below
  const vpnsdk::PluginDescriptor* desc_ = nullptr;
  boost::asio::io_context io_;
  vpnsdk::PacketPool pool_;
  std::vector<std::unique_ptr<Instance>> instances_;
};

// A plain socket on the rig's io_context for the far end of a test.
class RawConn {
 public:
  explicit RawConn(boost::asio::io_context& io) : sock(io) {}

  void connect(std::uint16_t port) {
    sock.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    sock.set_option(tcp::no_delay(true));
  }
  void write(const std::vector<std::byte>& bytes) { boost::asio::write(sock, boost::asio::buffer(bytes)); }
  // Collects everything that arrives, until EOF or an error.
  void start_reading() {
    sock.async_read_some(boost::asio::buffer(buf), [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) {
        eof = true;
        error = ec;
        return;
      }
      data.insert(data.end(), buf.begin(), buf.begin() + static_cast<long>(n));
      start_reading();
    });
  }
  std::uint16_t local_port() const { return sock.local_endpoint().port(); }

  tcp::socket sock;
  std::vector<std::byte> data;
  bool eof = false;
  boost::system::error_code error;

 private:
  std::array<std::byte, 65536> buf{};
};

// A listening socket for a plugin client to connect to.
class RawServer {
 public:
  explicit RawServer(boost::asio::io_context& io)
      : acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)), conn(io) {
    acceptor.async_accept(conn.sock, [this](const boost::system::error_code& ec) { accepted = !ec; });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  tcp::acceptor acceptor;
  RawConn conn;
  bool accepted = false;
};

// The session id the server gave to the connection whose far end is `local_port`.
inline SessionId session_for_port(const RecordingSink& sink, std::uint16_t local_port) {
  for (const auto& o : sink.opened_)
    if (o.peer.port == local_port) return o.id;
  return 0;
}

}  // namespace tcptest
