// Test rig for transport_tcp, over the SDK testkit's PluginRig (instances
// sharing ONE io_context and ONE packet pool, as in the host) and its
// RecordingSink (notices re-entrant callbacks); plus raw-socket helpers and
// the test's own frame encoder and parser.
#pragma once
#include <array>
#include <chrono>
#include <cstdlib>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/rig.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

namespace tcptest {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;
using vpnsdk::Code;
using vpnsdk::PacketPtr;
using vpnsdk::SessionId;
using vpnsdk::Status;
using vpnsdk::testkit::RecordingSink;
using Frame = RecordingSink::Frame;

inline std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/transport_tcp.so"; }

inline std::uint16_t free_port() { return vpnsdk::testkit::free_tcp_port(); }

inline std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<unsigned char>((i * 7 + seed) % 251));
  return v;
}

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

// One plugin instance (options, counters: the testkit's) with its own sink.
// Host calls are bracketed so the sink sees a callback made inside one.
class Instance {
 public:
  explicit Instance(vpnsdk::testkit::PluginRig::Instance& i) : create_status(i.status), plugin(i.plugin), i_(i) {}

  const Status& create_status;    // what create() said
  vpnsdk::Plugin* const& plugin;  // nullptr when create() failed or after destroy()
  RecordingSink sink;

  vpnsdk::Transport& t() { return i_.get<vpnsdk::Transport>(); }
  std::uint64_t counter(const std::string& name) const { return i_.counters.value(name); }

  Status start() {
    RecordingSink::HostCall m(sink);
    return t().start(sink);
  }
  Status send(SessionId id, std::vector<PacketPtr>& frames) {
    RecordingSink::HostCall m(sink);
    return t().send(id, vpnsdk::Batch(frames.data(), frames.size()));
  }
  Status send(SessionId id, PacketPtr frame) {
    std::vector<PacketPtr> v;
    v.push_back(std::move(frame));
    return send(id, v);
  }
  void close(SessionId id, const Status& why) {
    RecordingSink::HostCall m(sink);
    t().close(id, why);
  }
  void stop() {
    RecordingSink::HostCall m(sink);
    t().stop();
  }
  SessionId session() const { return sink.opened_.empty() ? 0 : sink.opened_.front().id; }

 private:
  friend class Rig;
  vpnsdk::testkit::PluginRig::Instance& i_;
};

class Rig {
 public:
  explicit Rig(vpnsdk::PoolConfig pool = {}, std::shared_ptr<spdlog::logger> log = nullptr)
      : rig_(plugin_path(), pool, log ? std::move(log) : logger()) {}
  ~Rig() {
    for (auto& i : instances_) destroy(i);  // plugins before their sinks
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Creates an instance; its create_status tells whether it worked.
  Instance& make(const std::map<std::string, vpnsdk::OptionValue>& given) {
    return instances_.emplace_back(rig_.create(given));
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
  void destroy(Instance& i) { rig_.destroy(i.i_); }

  boost::asio::io_context& io() { return rig_.io(); }
  vpnsdk::PacketPool& pool() { return rig_.pool(); }
  const vpnsdk::PluginDescriptor& descriptor() const { return rig_.descriptor(); }

  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = 5000ms) {
    return rig_.run_until(pred, limit);
  }
  void run_for(std::chrono::milliseconds d) { rig_.run_for(d); }
  void poll() { rig_.poll(); }

  PacketPtr frame(std::uint8_t type, const std::vector<std::byte>& body) {
    PacketPtr p = rig_.packet(body);
    p->meta.frame_type = type;
    return p;
  }

 private:
  // TRANSPORT_TCP_TEST_LOG=1 shows the plugin's log.
  static std::shared_ptr<spdlog::logger> logger() {
    if (std::getenv("TRANSPORT_TCP_TEST_LOG") != nullptr) {
      auto l = std::make_shared<spdlog::logger>("plugin:transport_tcp",
                                                std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      l->set_level(spdlog::level::trace);
      return l;
    }
    return std::make_shared<spdlog::logger>("plugin:transport_tcp", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  vpnsdk::testkit::PluginRig rig_;
  std::list<Instance> instances_;  // stable addresses
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
