// fuzz_udp_datagram: transport_udp's datagram classifier, twice.
//
// 1. parse_datagram() (plugins/transport_udp/datagram.hpp) on every datagram
//    of the input, against the layout it documents, and encode_prefix()
//    round trips.
// 2. The real UdpTransport (the plugin's sources, created through its
//    descriptor) listening on 127.0.0.1, fed the same datagrams from three
//    loopback sockets: its receive path (recvmmsg, GRO split, classify(),
//    session lookup by source and by index, session opening, ControlState,
//    grouping, delivery, roaming) runs as in the host. The sink records,
//    answers a session's HELLO/HANDSHAKE as the host would (a WELCOME /
//    HANDSHAKE through send(): it carries the session's index to a client
//    that speaks indices) and, for a frame marked with a new path, moves
//    the session there (adopt_path(), as the host does once the cipher
//    authenticated it; here every frame counts as authenticated).
//
// Input: datagrams until the input ends, each [source][len u16][bytes]:
//   source % 3 picks the sending socket; bit 7 of source: the bytes get a
//   valid header (length fixed to the body, a known type) and, with bit 6,
//   the index flag with the index the server gave the session of source
//   (source >> 2) % 3, learned from its answers (while there is none, the
//   datagram's own 4 bytes): so a datagram from one source can name
//   another's session (roaming). Datagrams are sent one at a time, each
//   after the server handled the previous one.
//
// Invariants beyond the sanitizers: parse_datagram accepts exactly a known
// type, flags 0 or 1, and a length equal to the rest of the datagram (after
// the index when flagged), reads the index big-endian, and its prefix and
// body are the datagram; re-encoding the prefix gives the same bytes. The
// transport delivers only frames parse_datagram accepts, each exactly the
// body (type, bytes) of a datagram that was sent, at most as many as were
// sent, to a session it opened, with meta.session set; it opens sessions only
// for HELLO/HANDSHAKE datagrams (open_on default), never more than those;
// every answer it sends parses as a datagram (an indexed one to a client
// that speaks indices); it
// never calls the sink re-entrantly, and after stop() and destruction every
// packet buffer is back in the pool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "datagram.hpp"
#include "fuzz_check.hpp"
#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/testkit/transport_loopback.hpp"
#include "vpnsdk/wire.hpp"

extern "C" const vpnsdk::PluginDescriptor* vpnhost_plugin_v1();

namespace {

using Bytes = std::vector<std::byte>;
namespace wire = vpnsdk::wire;
using transport_udp::ParsedDatagram;

constexpr int kSources = 3;

void check_parse(const Bytes& d) {
  // An exact-size heap copy: ASan sees any read past the end.
  std::unique_ptr<std::byte[]> copy(new std::byte[d.size() + 1]);
  if (!d.empty()) std::memcpy(copy.get(), d.data(), d.size());
  const std::span<const std::byte> in(copy.get(), d.size());
  const ParsedDatagram p = transport_udp::parse_datagram(in);
  if (d.size() < wire::kHeaderSize) {
    FUZZ_CHECK(!p.ok);
    return;
  }
  const auto u = [&](std::size_t i) { return std::to_integer<std::uint32_t>(d[i]); };
  const std::uint32_t len = u(0) << 8 | u(1);
  const std::uint8_t type = static_cast<std::uint8_t>(u(2)), flags = static_cast<std::uint8_t>(u(3));
  // protocol.md 11.7: COOKIE (type 0x80) is exactly 00 10 80 00 + 16 bytes.
  if (type == 0x80) {
    const bool ok = flags == 0 && len == 16 && d.size() == 20;
    FUZZ_CHECK(p.ok == ok);
    FUZZ_CHECK(!ok || (p.cookie_reply && p.type == type && p.prefix == 4));
    return;
  }
  // Flags 0x01: a 4-byte index after the header; 0x02: a 16-byte cookie field after that.
  const bool indexed = (flags & 1) != 0, cookie = (flags & 2) != 0;
  const std::size_t cookie_at = indexed ? 8 : 4;
  const std::size_t prefix = cookie_at + (cookie ? 16 : 0);
  const bool ok = (flags & ~3u) == 0 && wire::known_type(type) && d.size() >= prefix && len == d.size() - prefix;
  FUZZ_CHECK(p.ok == ok);
  if (!ok) {
    FUZZ_CHECK(p.problem != nullptr && *p.problem != '\0');
    return;
  }
  FUZZ_CHECK(!p.cookie_reply);
  FUZZ_CHECK(p.type == type);
  FUZZ_CHECK(p.indexed == indexed);
  FUZZ_CHECK(p.cookie_field == cookie);
  FUZZ_CHECK(!cookie || p.cookie_at == cookie_at);
  FUZZ_CHECK(p.prefix == prefix);
  FUZZ_CHECK(p.index == (indexed ? (u(4) << 24 | u(5) << 16 | u(6) << 8 | u(7)) : 0u));
  if (cookie) return;  // encode_prefix writes header and index only
  FUZZ_CHECK(p.prefix == transport_udp::prefix_size(indexed));
  std::byte again[transport_udp::kPrefixSize];
  transport_udp::encode_prefix(again, static_cast<std::uint16_t>(len), type, indexed, p.index);
  FUZZ_CHECK(std::memcmp(again, d.data(), prefix) == 0);
}

struct Sent {
  int source;
  Bytes datagram;
  int index_of = -1;  // >= 0: carry the index learned for this source's session (when known)
};

struct Udp {
  int fd[kSources];
  std::uint16_t port[kSources];
  std::uint16_t server_port;
  Udp() {
    server_port = vpnsdk::testkit::free_udp_port();
    for (int i = 0; i < kSources; ++i) {
      fd[i] = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (fd[i] < 0 || ::bind(fd[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
      socklen_t l = sizeof a;
      ::getsockname(fd[i], reinterpret_cast<sockaddr*>(&a), &l);
      port[i] = ntohs(a.sin_port);
    }
  }
  void send(int i, const Bytes& d) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(server_port);
    (void)::sendto(fd[i], d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  // Reads what the server sent back: each answer must parse; an indexed
  // one tells the source's session index.
  void answers(std::uint32_t index[kSources]) const {
    std::byte buf[65536];
    for (int i = 0; i < kSources; ++i) {
      ssize_t n;
      while ((n = ::recv(fd[i], buf, sizeof buf, 0)) >= 0) {
        if (n == 0) continue;  // a NAT keepalive
        const ParsedDatagram p = transport_udp::parse_datagram({buf, static_cast<std::size_t>(n)});
        FUZZ_CHECK(p.ok);
        if (p.indexed && p.index != 0) index[i] = p.index;
      }
    }
  }
};

Udp* g_udp = nullptr;
std::shared_ptr<spdlog::logger> g_log;

void run_transport(std::vector<Sent> sent) {
  const vpnsdk::PluginDescriptor* desc = vpnhost_plugin_v1();
  boost::asio::io_context io;
  vpnsdk::PacketPool pool(vpnsdk::PoolConfig{128, 9216, 64, 512});
  vpnsdk::testkit::SimpleCounters counters;
  vpnsdk::testkit::RecordingSink sink;
  const vpnsdk::Options options = vpnsdk::testkit::options_from(
      *desc, {{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{g_udp->server_port}},
              {"sndbuf", std::int64_t{0}}, {"rcvbuf", std::int64_t{0}}});
  vpnsdk::HostContext ctx;
  ctx.io = &io;
  ctx.log = g_log;
  ctx.options = &options;
  ctx.counters = &counters;
  ctx.pool = &pool;
  ctx.base_dir = ".";
  vpnsdk::Status st;
  vpnsdk::Plugin* plugin = desc->create(ctx, st);
  FUZZ_CHECK(plugin != nullptr);
  auto* t = dynamic_cast<vpnsdk::Transport*>(plugin);
  FUZZ_CHECK(t != nullptr);
  {
    vpnsdk::testkit::RecordingSink::HostCall m(sink);
    st = t->start(sink);
  }
  if (!st.ok()) {  // the port was taken meanwhile: try another next time
    desc->destroy(plugin);
    g_udp->server_port = vpnsdk::testkit::free_udp_port();
    return;
  }
  std::uint32_t index[kSources] = {0, 0, 0};
  std::size_t answered = 0;
  sink.on_received = [&](vpnsdk::SessionId id, vpnsdk::Batch frames) {
    for (const auto& f : frames) {
      if (!f) continue;
      if (f->meta.path != 0) (void)t->adopt_path(id, f->meta.path);
      const std::uint8_t type = f->meta.frame_type;
      if (type != static_cast<std::uint8_t>(wire::FrameType::hello) &&
          type != static_cast<std::uint8_t>(wire::FrameType::handshake))
        continue;
      vpnsdk::PacketPtr a = pool.acquire();
      if (!a) continue;
      const std::byte body[12] = {};
      FUZZ_CHECK(a->append(std::span<const std::byte>(body, std::min<std::size_t>(sizeof body, f->size()))));
      a->meta.frame_type = static_cast<std::uint8_t>(type == 1 ? wire::FrameType::welcome : wire::FrameType::handshake);
      (void)t->send(id, vpnsdk::Batch(&a, 1));
      ++answered;
    }
  };
  for (Sent& s : sent) {
    if (s.index_of >= 0 && index[s.index_of] != 0) {
      s.datagram[3] = std::byte{transport_udp::kFlagIndex};
      vpnsdk::ipv4::store32(s.datagram.data() + wire::kHeaderSize, index[s.index_of]);
    }
    g_udp->send(s.source, s.datagram);
    for (int idle = 0; idle < 2;) {
      io.restart();
      idle = io.poll() == 0 ? idle + 1 : 0;
    }
    g_udp->answers(index);
  }
  {
    vpnsdk::testkit::RecordingSink::HostCall m(sink);
    t->stop();
  }
  io.restart();
  io.poll();
  desc->destroy(plugin);
  g_udp->answers(index);

  if (std::getenv("FUZZ_VERBOSE") != nullptr) {  // how far an input got
    std::fprintf(stderr, "%zu datagrams, %zu sessions opened, %zu frames delivered;", sent.size(), sink.opened_.size(),
                 sink.frames_.size());
    for (const auto& [k, v] : counters.all())
      if (v != 0) std::fprintf(stderr, " %s=%llu", k.c_str(), static_cast<unsigned long long>(v));
    std::fprintf(stderr, "\n");
  }
  FUZZ_CHECK(sink.violations.empty());
  std::multiset<std::pair<std::uint8_t, Bytes>> bodies;
  std::size_t openers = 0;
  for (const Sent& s : sent) {
    const ParsedDatagram p = transport_udp::parse_datagram(s.datagram);
    if (!p.ok) continue;
    bodies.emplace(p.type, Bytes(s.datagram.begin() + static_cast<long>(p.prefix), s.datagram.end()));
    if (p.type == static_cast<std::uint8_t>(wire::FrameType::hello) ||
        p.type == static_cast<std::uint8_t>(wire::FrameType::handshake))
      ++openers;
  }
  FUZZ_CHECK(sink.opened_.size() <= openers);
  (void)answered;
  std::set<vpnsdk::SessionId> ids;
  for (const auto& o : sink.opened_) {
    FUZZ_CHECK(o.role == vpnsdk::Role::responder);
    FUZZ_CHECK(ids.insert(o.id).second);
  }
  FUZZ_CHECK(sink.frames_.size() <= bodies.size());
  for (const auto& f : sink.frames_) {
    FUZZ_CHECK(ids.count(f.id) == 1);
    FUZZ_CHECK(f.meta_session == f.id);
    auto it = bodies.find({f.type, f.body});
    FUZZ_CHECK(it != bodies.end());  // exactly a datagram's body
    bodies.erase(it);
  }
  FUZZ_CHECK(pool.in_use() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_udp = new Udp;
  if (std::getenv("FUZZ_VERBOSE") != nullptr) {  // the transport's log on stderr
    g_log = std::make_shared<spdlog::logger>("plugin:transport_udp", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_log->set_level(spdlog::level::trace);
  } else {
    g_log = std::make_shared<spdlog::logger>("plugin:transport_udp", std::make_shared<spdlog::sinks::null_sink_mt>());
    g_log->set_level(spdlog::level::off);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<Sent> sent;
  std::size_t off = 0;
  while (off < size && sent.size() < 64) {
    const std::uint8_t src = data[off++];
    std::size_t len = 0;
    if (off + 2 <= size) len = (data[off] << 8 | data[off + 1]) % 2048;
    off += 2;
    if (off > size) off = size;
    len = std::min(len, size - off);
    Bytes d(reinterpret_cast<const std::byte*>(data + off), reinterpret_cast<const std::byte*>(data + off + len));
    off += len;
    if ((src & 0x80) != 0 && d.size() >= 4) {
      const bool indexed = (src & 0x40) != 0 && d.size() >= 8;
      const std::size_t body = d.size() - (indexed ? 8 : 4);
      if (body <= 0xffff) {
        d[0] = std::byte(body >> 8);
        d[1] = std::byte(body & 0xff);
        const auto type = std::to_integer<std::uint8_t>(d[2]);
        if (!wire::known_type(type)) d[2] = std::byte(1 + type % 7);
        d[3] = std::byte(indexed ? 1 : 0);
      }
    }
    const int index_of = (src & 0xc0) == 0xc0 && d.size() >= 8 ? (src >> 2) % kSources : -1;
    check_parse(d);
    sent.push_back({src % kSources, std::move(d), index_of});
  }
  if (!sent.empty()) run_transport(std::move(sent));
  return 0;
}
