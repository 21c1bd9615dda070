// Test rig for transport_udp: loads the plugin once and creates several
// instances (servers and clients) that share ONE io_context and ONE packet
// pool, as in the host; a recording sink that notices re-entrant callbacks;
// raw UDP sockets for the far end; and a small UDP proxy that drops or
// duplicates datagrams by a rule, for the loss tests.
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
#include <boost/asio/ip/udp.hpp>
#include <boost/dll/shared_library.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/harness.hpp"

namespace udptest {

using namespace std::chrono_literals;
using boost::asio::ip::udp;
using vpnsdk::Code;
using vpnsdk::PacketPtr;
using vpnsdk::SessionId;
using vpnsdk::Status;
using Bytes = std::vector<std::byte>;

inline std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/transport_udp.so"; }

inline std::uint16_t free_port() {
  boost::asio::io_context io;
  udp::socket s(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return s.local_endpoint().port();
}

inline Bytes pattern(std::size_t n, unsigned seed) {
  Bytes v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>((i * 7 + seed) % 251));
  return v;
}

// One wire frame (header + body) as one datagram; flags and length as given.
inline Bytes encode(std::uint8_t type, const Bytes& body, std::uint8_t flags = 0, int length = -1) {
  const std::size_t len = length < 0 ? body.size() : static_cast<std::size_t>(length);
  Bytes out{std::byte(len >> 8), std::byte(len & 0xff), std::byte(type), std::byte(flags)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
// The same with a session index after the header (flag 0x01): what a
// transport_udp client always sends, and a server to such a client.
inline Bytes encode_indexed(std::uint8_t type, const Bytes& body, std::uint32_t index) {
  Bytes out{std::byte(body.size() >> 8), std::byte(body.size() & 0xff), std::byte(type), std::byte(1),
            std::byte(index >> 24), std::byte((index >> 16) & 0xff), std::byte((index >> 8) & 0xff),
            std::byte(index & 0xff)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
inline std::uint32_t index_of(const Bytes& d) {
  if (d.size() < 8 || d[3] != std::byte(1)) return 0;
  return std::to_integer<std::uint32_t>(d[4]) << 24 | std::to_integer<std::uint32_t>(d[5]) << 16 |
         std::to_integer<std::uint32_t>(d[6]) << 8 | std::to_integer<std::uint32_t>(d[7]);
}
inline std::uint8_t type_of(const Bytes& d) { return d.size() >= 4 ? std::to_integer<std::uint8_t>(d[2]) : 0; }

struct Frame {
  SessionId session = 0;
  SessionId meta_session = 0;
  std::uint8_t type = 0;
  Bytes body;
  std::uint32_t path = 0;  // meta.path: nonzero when it came from a new source (roaming)
};

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
      frames_.push_back(
          {id, p->meta.session, p->meta.frame_type, {p->bytes().begin(), p->bytes().end()}, p->meta.path});
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
  int count_type(std::uint8_t type) const {
    int n = 0;
    for (const auto& f : frames_) n += f.type == type ? 1 : 0;
    return n;
  }
  std::size_t callbacks() const { return opened_.size() + batch_sizes.size() + closed_.size() + failed_.size(); }

  std::vector<vpnsdk::SessionInfo> opened_;
  std::vector<Frame> frames_;
  std::vector<std::size_t> batch_sizes;
  std::vector<std::pair<SessionId, Status>> closed_;
  std::vector<Status> failed_;
  int null_frames = 0;
  int in_host_call = 0;
  int violations = 0;  // a callback inside a host call or inside another callback

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

class Instance {
 public:
  vpnsdk::testkit::SimpleCounters counters;
  vpnsdk::Options options;
  vpnsdk::HostContext ctx;
  vpnsdk::Status create_status;
  vpnsdk::Plugin* plugin = nullptr;
  RecordingSink sink;
  vpnsdk::PacketPool* pool = nullptr;

  vpnsdk::Transport& t() { return *dynamic_cast<vpnsdk::Transport*>(plugin); }
  std::uint64_t counter(const std::string& name) const { return counters.value(name); }

  Status start() {
    Mark m(sink);
    return t().start(sink);
  }
  Status send(SessionId id, std::vector<PacketPtr>& frames) {
    Mark m(sink);
    return t().send(id, vpnsdk::Batch(frames.data(), frames.size()));
  }
  Status send(SessionId id, std::uint8_t type, const Bytes& body) {
    std::vector<PacketPtr> v;
    v.push_back(frame(type, body));
    return send(id, v);
  }
  PacketPtr frame(std::uint8_t type, const Bytes& body) {
    PacketPtr p = pool->acquire();
    if (!p || !p->append(body)) throw std::runtime_error("pool cannot hold the frame");
    p->meta.frame_type = type;
    return p;
  }
  void close(SessionId id, const Status& why = {}) {
    Mark m(sink);
    t().close(id, why);
  }
  Status reconnect() {
    Mark m(sink);
    return t().reconnect();
  }
  void stop() {
    Mark m(sink);
    t().stop();
  }
  SessionId session() const { return sink.opened_.empty() ? 0 : sink.opened_.back().id; }

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
    for (auto& i : instances_) destroy(*i);
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  Instance& make(const std::map<std::string, vpnsdk::OptionValue>& given) {
    auto inst = std::make_unique<Instance>();
    inst->options = vpnsdk::testkit::options_from(*desc_, given);
    inst->ctx.io = &io_;
    inst->ctx.log = logger();
    inst->ctx.options = &inst->options;
    inst->ctx.counters = &inst->counters;
    inst->ctx.pool = &pool_;
    inst->pool = &pool_;
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
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

 private:
  static std::shared_ptr<spdlog::logger> logger() {
    if (std::getenv("TRANSPORT_UDP_TEST_LOG") != nullptr) {
      auto l = std::make_shared<spdlog::logger>("plugin:transport_udp",
                                                std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      l->set_level(spdlog::level::trace);
      return l;
    }
    return std::make_shared<spdlog::logger>("plugin:transport_udp", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  boost::dll::shared_library lib_;  // outlives everything below
  const vpnsdk::PluginDescriptor* desc_ = nullptr;
  boost::asio::io_context io_;
  vpnsdk::PacketPool pool_;
  std::vector<std::unique_ptr<Instance>> instances_;
};

// A plain UDP socket on the rig's io_context: the far end of a test.
class RawPeer {
 public:
  explicit RawPeer(boost::asio::io_context& io)
      : sock(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    receive();
  }
  void send_to(const Bytes& d, std::uint16_t port) {
    sock.send_to(boost::asio::buffer(d), udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  }
  void reply(const Bytes& d) { sock.send_to(boost::asio::buffer(d), last_from); }
  std::uint16_t port() const { return sock.local_endpoint().port(); }
  int count_type(std::uint8_t type) const {
    int n = 0;
    for (const auto& d : got) n += type_of(d) == type ? 1 : 0;
    return n;
  }

  udp::socket sock;
  std::vector<Bytes> got;
  std::vector<std::chrono::steady_clock::time_point> when;
  udp::endpoint last_from;

 private:
  void receive() {
    sock.async_receive_from(boost::asio::buffer(buf_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) {
        got.emplace_back(buf_.begin(), buf_.begin() + static_cast<long>(n));
        when.push_back(std::chrono::steady_clock::now());
        last_from = from_;
      }
      receive();
    });
  }
  std::array<std::byte, 65536> buf_{};
  udp::endpoint from_;
};

// A UDP proxy between one client and a server: it listens on port(), sends
// what the client sends on to the server from its own socket, and what the
// server answers back to the client. `rule` decides for each datagram how
// many copies go on (0: dropped, 2: duplicated); it sees the direction
// (true: client -> server) and the datagram.
class Proxy {
 public:
  using Rule = std::function<int(bool to_server, const Bytes& d)>;

  Proxy(boost::asio::io_context& io, std::uint16_t server_port, Rule rule)
      : front_(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        back_(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        server_(boost::asio::ip::make_address("127.0.0.1"), server_port),
        rule_(std::move(rule)) {
    from_client();
    from_server();
  }
  std::uint16_t port() const { return front_.local_endpoint().port(); }

  std::vector<std::pair<bool, Bytes>> log;  // every datagram seen (direction, bytes)
  int dropped = 0, duplicated = 0;

 private:
  void pass(bool to_server, std::size_t n, const std::array<std::byte, 65536>& buf) {
    Bytes d(buf.begin(), buf.begin() + static_cast<long>(n));
    log.emplace_back(to_server, d);
    const int copies = rule_(to_server, d);
    if (copies == 0) ++dropped;
    if (copies > 1) ++duplicated;
    for (int i = 0; i < copies; ++i) {
      boost::system::error_code ec;
      if (to_server)
        back_.send_to(boost::asio::buffer(d), server_, 0, ec);
      else if (client_.port() != 0)
        front_.send_to(boost::asio::buffer(d), client_, 0, ec);
    }
  }
  void from_client() {
    front_.async_receive_from(boost::asio::buffer(fbuf_), fsrc_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) {
        client_ = fsrc_;
        pass(true, n, fbuf_);
      }
      from_client();
    });
  }
  void from_server() {
    back_.async_receive_from(boost::asio::buffer(bbuf_), bsrc_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) pass(false, n, bbuf_);
      from_server();
    });
  }

  udp::socket front_, back_;
  udp::endpoint server_, client_, fsrc_, bsrc_;
  Rule rule_;
  std::array<std::byte, 65536> fbuf_{}, bbuf_{};
};

}  // namespace udptest
