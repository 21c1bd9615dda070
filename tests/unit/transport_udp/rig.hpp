// Test rig for transport_udp, over the SDK testkit's PluginRig (instances
// sharing ONE io_context and ONE packet pool, as in the host) and its
// RecordingSink (notices re-entrant callbacks); raw UDP sockets for the far
// end; and a small UDP proxy that drops or duplicates datagrams by a rule,
// for the loss tests.
#pragma once
#include <array>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/udp.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/rig.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"

namespace udptest {

using namespace std::chrono_literals;
using boost::asio::ip::udp;
using vpnsdk::Code;
using vpnsdk::PacketPtr;
using vpnsdk::SessionId;
using vpnsdk::Status;
using vpnsdk::testkit::RecordingSink;
using Bytes = std::vector<std::byte>;
using Frame = RecordingSink::Frame;

inline std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/transport_udp.so"; }

inline std::uint16_t free_port() { return vpnsdk::testkit::free_udp_port(); }

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

// Address proof (protocol.md 11.7): a client's datagram with the cookie
// field (flags 0x03: index, then 16 cookie bytes, then the body), and the
// server's COOKIE datagram (type 0x80, 20 bytes).
inline constexpr std::uint8_t COOKIE = 0x80;
inline Bytes encode_with_cookie(std::uint8_t type, const Bytes& body, std::uint32_t index, const Bytes& cookie) {
  Bytes out = encode_indexed(type, body, index);
  out[3] = std::byte(3);
  out.insert(out.begin() + 8, cookie.begin(), cookie.end());
  return out;
}
inline Bytes cookie_of(const Bytes& d) {  // the cookie of a COOKIE datagram (empty: not one)
  if (d.size() != 20 || type_of(d) != COOKIE) return {};
  return Bytes(d.begin() + 4, d.end());
}

// One plugin instance (options, counters: the testkit's) with its own sink.
// Host calls are bracketed so the sink sees a callback made inside one.
class Instance {
 public:
  Instance(vpnsdk::testkit::PluginRig& rig, vpnsdk::testkit::PluginRig::Instance& i)
      : create_status(i.status), plugin(i.plugin), rig_(rig), i_(i) {}

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
  Status send(SessionId id, std::uint8_t type, const Bytes& body) {
    std::vector<PacketPtr> v;
    v.push_back(frame(type, body));
    return send(id, v);
  }
  PacketPtr frame(std::uint8_t type, const Bytes& body) {
    PacketPtr p = rig_.packet(body);
    p->meta.frame_type = type;
    return p;
  }
  void close(SessionId id, const Status& why = {}) {
    RecordingSink::HostCall m(sink);
    t().close(id, why);
  }
  Status reconnect() {
    RecordingSink::HostCall m(sink);
    return t().reconnect();
  }
  void stop() {
    RecordingSink::HostCall m(sink);
    t().stop();
  }
  SessionId session() const { return sink.opened_.empty() ? 0 : sink.opened_.back().id; }

 private:
  friend class Rig;
  vpnsdk::testkit::PluginRig& rig_;
  vpnsdk::testkit::PluginRig::Instance& i_;
};

class Rig {
 public:
  explicit Rig(vpnsdk::PoolConfig pool = {}) : rig_(plugin_path(), pool, logger()) {}
  ~Rig() {
    for (auto& i : instances_) destroy(i);  // plugins before their sinks
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Creates an instance; its create_status tells whether it worked.
  Instance& make(const std::map<std::string, vpnsdk::OptionValue>& given) {
    return instances_.emplace_back(rig_, rig_.create(given));
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

 private:
  // TRANSPORT_UDP_TEST_LOG=1 shows the plugin's log.
  static std::shared_ptr<spdlog::logger> logger() {
    if (std::getenv("TRANSPORT_UDP_TEST_LOG") != nullptr) {
      auto l = std::make_shared<spdlog::logger>("plugin:transport_udp",
                                                std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      l->set_level(spdlog::level::trace);
      return l;
    }
    return std::make_shared<spdlog::logger>("plugin:transport_udp", std::make_shared<spdlog::sinks::null_sink_mt>());
  }

  vpnsdk::testkit::PluginRig rig_;
  std::list<Instance> instances_;  // stable addresses
};

// A plain UDP socket on the rig's io_context: the far end of a test.
class RawPeer {
 public:
  explicit RawPeer(boost::asio::io_context& io, const char* address = "127.0.0.1")
      : sock(io, udp::endpoint(boost::asio::ip::make_address(address), 0)) {
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
