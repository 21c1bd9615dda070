// UDP GSO/GRO in transport_udp's DatagramSocket, tested on the class itself
// (its source is compiled into this test: the plugin exports only its entry
// point) against plain sockets on loopback: which queued datagrams share one
// UDP_SEGMENT message, that every datagram arrives intact and in order, and
// that a GRO train is split into one datagram per segment.
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "../../../plugins/transport_udp/datagram_socket.cpp"
#include "rig.hpp"

using namespace udptest;
using transport_udp::Config;
using transport_udp::DatagramSocket;
using transport_udp::Peer;
using transport_udp::RxDatagram;
using transport_udp::UdpCounters;

namespace {

const auto kLoopback = boost::asio::ip::make_address("127.0.0.1");

struct Received {
  Bytes bytes;
  std::uint16_t from_port = 0;
  bool truncated = false;
};

class Owner final : public transport_udp::SocketOwner {
 public:
  void on_datagrams(DatagramSocket&, std::span<RxDatagram> batch) override {
    for (RxDatagram& d : batch) got.push_back({{d.buf->bytes().begin(), d.buf->bytes().end()}, d.from.endpoint().port,
                                               d.truncated});
  }
  void on_socket_error(DatagramSocket&, int err) override { errors.push_back(err); }
  void on_drained(DatagramSocket&) override {}
  std::vector<Received> got;
  std::vector<int> errors;
};

// A DatagramSocket with its pool, counters and logger.
struct SocketRig {
  explicit SocketRig(bool gso, bool gro) {
    cfg.gso = gso;
    cfg.gro = gro;
    sock = std::make_unique<DatagramSocket>(io, pool, cfg, n, *log, owner);
  }
  ~SocketRig() { sock->close(); }
  std::uint64_t counter(const std::string& name) const { return counters.value(name); }
  PacketPtr datagram(const Bytes& b) {
    PacketPtr p = pool.acquire();
    REQUIRE(p);
    REQUIRE(p->append(b));
    return p;
  }

  boost::asio::io_context io;
  vpnsdk::PacketPool pool;
  vpnsdk::testkit::SimpleCounters counters;
  UdpCounters n{counters};
  Config cfg;
  std::shared_ptr<spdlog::logger> log =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
  Owner owner;
  std::unique_ptr<DatagramSocket> sock;
};

// A plain, non-blocking UDP socket on loopback (no GRO: the kernel hands it
// one datagram per receive, whatever the sender did).
struct Plain {
  Plain() : fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) {
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const int size = 4 << 20;  // room for a whole burst (capped by rmem_max without CAP_NET_ADMIN)
    if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Plain() { ::close(fd); }
  Peer peer() const { return Peer::from(udp::endpoint(kLoopback, port)); }
  // Reads until `want` datagrams arrived or 3 s passed.
  std::vector<Bytes> receive(std::size_t want) {
    std::vector<Bytes> out;
    std::vector<std::byte> buf(65536);
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (out.size() < want && std::chrono::steady_clock::now() < deadline) {
      const ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
      if (r >= 0) {
        out.emplace_back(buf.begin(), buf.begin() + r);
        continue;
      }
      pollfd p{fd, POLLIN, 0};
      ::poll(&p, 1, 50);
    }
    return out;
  }
  int fd;
  std::uint16_t port = 0;
};

// Sends `sizes` datagrams (pattern seed = index + seed0) in ONE sendmsg with
// UDP_SEGMENT of the first one's size: a train, as a GSO sender makes it.
void send_train(const Plain& from, std::uint16_t to_port, const std::vector<std::size_t>& sizes, unsigned seed0,
                std::vector<Bytes>& sent) {
  std::vector<Bytes> parts;
  std::vector<iovec> iov;
  for (std::size_t i = 0; i < sizes.size(); ++i) parts.push_back(pattern(sizes[i], seed0 + static_cast<unsigned>(i)));
  for (Bytes& p : parts) iov.push_back({p.data(), p.size()});
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(to_port);
  alignas(cmsghdr) unsigned char ctl[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  msghdr h{};
  h.msg_name = &to;
  h.msg_namelen = sizeof to;
  h.msg_iov = iov.data();
  h.msg_iovlen = iov.size();
  h.msg_control = ctl;
  h.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto seg = static_cast<std::uint16_t>(sizes.front());
  std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
  REQUIRE(::sendmsg(from.fd, &h, 0) >= 0);
  for (Bytes& p : parts) sent.push_back(std::move(p));
}

bool kernel_has_gso() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int v = 0;
  socklen_t len = sizeof v;
  const bool ok = ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, &len) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("GSO: equal-size datagrams to one peer arrive intact and in order, fewer messages with gso on",
          "[transport_udp][gso]") {
  if (!kernel_has_gso()) {
    WARN("SKIPPED: this kernel has no UDP_SEGMENT");
    return;
  }
  for (const bool gso : {true, false}) {
    INFO("gso = " << gso);
    SocketRig r(gso, false);
    REQUIRE(!r.sock->open_listen(udp::endpoint(kLoopback, 0)));
    CHECK(r.sock->gso() == gso);
    Plain dst;
    const Peer to = dst.peer();
    std::vector<Bytes> sent;
    for (unsigned i = 0; i < 80; ++i) sent.push_back(pattern(1000, i));
    sent.push_back(pattern(500, 80));  // the last one shorter: still in the train
    for (const Bytes& b : sent) REQUIRE(r.sock->enqueue(r.datagram(b), &to));
    r.sock->flush();
    CHECK(r.sock->queued() == 0);
    const std::vector<Bytes> got = dst.receive(sent.size());
    REQUIRE(got.size() == sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
      INFO("datagram " << i);
      CHECK(got[i] == sent[i]);
    }
    CHECK(r.counter("frames_out") == sent.size());
    CHECK(r.counter("gso_fallbacks") == 0);
    if (gso) {
      CHECK(r.counter("gso_sends") == 2);  // 64 + 17 (the kernel's limit is 64 per message)
      CHECK(r.counter("gso_datagrams") == sent.size());
    } else {
      CHECK(r.counter("gso_sends") == 0);
      CHECK(r.counter("gso_datagrams") == 0);
    }
  }
}

TEST_CASE("GSO: mixed sizes and destinations form trains only of one destination and one size",
          "[transport_udp][gso]") {
  if (!kernel_has_gso()) {
    WARN("SKIPPED: this kernel has no UDP_SEGMENT");
    return;
  }
  SocketRig r(true, false);
  REQUIRE(!r.sock->open_listen(udp::endpoint(kLoopback, 0)));
  Plain a, b;
  const Peer pa = a.peer(), pb = b.peer();
  // (destination, size); the trains expected are marked.
  const std::vector<std::pair<const Peer*, std::size_t>> plan{
      {&pa, 1000}, {&pa, 1000}, {&pa, 1000}, {&pa, 600},  // train of 4 (the last shorter ends it)
      {&pa, 1000}, {&pa, 1000},                           // train of 2
      {&pb, 1000}, {&pb, 1000},                           // train of 2 (another destination)
      {&pa, 500},  {&pa, 1000},                           // single, single (a larger one cannot follow)
      {&pb, 300},  {&pb, 0},                              // single, single (an empty datagram)
      {&pb, 1200}, {&pb, 1200}, {&pa, 1200},              // train of 2, single
  };
  std::vector<Bytes> to_a, to_b;
  unsigned seed = 0;
  for (const auto& [to, size] : plan) {
    Bytes d = pattern(size, seed++);
    (to == &pa ? to_a : to_b).push_back(d);
    REQUIRE(r.sock->enqueue(r.datagram(d), to));
  }
  r.sock->flush();
  CHECK(r.sock->queued() == 0);
  CHECK(r.counter("send_calls") == 1);
  CHECK(r.counter("gso_sends") == 4);
  CHECK(r.counter("gso_datagrams") == 10);
  CHECK(r.counter("frames_out") == plan.size());
  CHECK(a.receive(to_a.size()) == to_a);
  CHECK(b.receive(to_b.size()) == to_b);
}

TEST_CASE("GRO: a train from a GSO sender is split into its datagrams, intact and in order",
          "[transport_udp][gro]") {
  if (!kernel_has_gso()) {
    WARN("SKIPPED: this kernel has no UDP_SEGMENT");
    return;
  }
  for (const bool gro : {true, false}) {
    INFO("gro = " << gro);
    SocketRig r(false, gro);
    REQUIRE(!r.sock->open_listen(udp::endpoint(kLoopback, 0)));
    const std::uint16_t port = r.sock->local_endpoint().port();
    r.sock->start_receiving();
    Plain src;
    std::vector<Bytes> sent;
    std::vector<std::size_t> small(9, 1000);
    small.push_back(400);
    send_train(src, port, small, 0, sent);                                // fits in the first pool buffer
    send_train(src, port, std::vector<std::size_t>(40, 1400), 100, sent);  // 56 000 bytes: spills past it
    send_train(src, port, {777}, 200, sent);                              // one datagram, not a train
    const bool all = [&] {
      const auto deadline = std::chrono::steady_clock::now() + 3s;
      while (r.owner.got.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
        r.io.restart();
        r.io.run_one_for(10ms);
      }
      return r.owner.got.size() == sent.size();
    }();
    REQUIRE(all);
    for (std::size_t i = 0; i < sent.size(); ++i) {
      INFO("datagram " << i);
      CHECK(r.owner.got[i].bytes == sent[i]);
      CHECK(r.owner.got[i].from_port == src.port);
      CHECK_FALSE(r.owner.got[i].truncated);
    }
    if (gro) {
      CHECK(r.sock->gro());
      CHECK(r.counter("gro_trains") == 2);
      CHECK(r.counter("gro_datagrams") == 50);
    } else {
      CHECK(r.counter("gro_trains") == 0);
    }
    CHECK(r.counter("pool_exhausted") == 0);
    CHECK(r.owner.errors.empty());
  }
}

TEST_CASE("GRO: a train of datagrams larger than a packet buffer is dropped as oversize, datagram by datagram",
          "[transport_udp][gro]") {
  if (!kernel_has_gso()) {
    WARN("SKIPPED: this kernel has no UDP_SEGMENT");
    return;
  }
  SocketRig r(false, true);
  REQUIRE(!r.sock->open_listen(udp::endpoint(kLoopback, 0)));
  REQUIRE(r.sock->gro());
  r.sock->start_receiving();
  Plain src;
  std::vector<Bytes> sent;
  send_train(src, r.sock->local_endpoint().port(), {9500, 9500, 9500}, 0, sent);  // > 9216 + headroom
  send_train(src, r.sock->local_endpoint().port(), {100}, 9, sent);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (r.owner.got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    r.io.restart();
    r.io.run_one_for(10ms);
  }
  REQUIRE(r.owner.got.size() == 2);
  CHECK(r.owner.got[0].truncated);  // the owner counts it as oversize
  CHECK(r.counter("oversize") == 2);  // the other two of the train
  CHECK(r.owner.got[1].bytes == sent[3]);
  CHECK_FALSE(r.owner.got[1].truncated);
}

TEST_CASE("PKTINFO: each datagram leaves from its own source address and a GSO run never mixes sources",
          "[transport_udp][gso][pktinfo]") {
  for (const bool gso : {true, false}) {
    if (gso && !kernel_has_gso()) continue;
    INFO("gso = " << gso);
    SocketRig r(gso, false);
    REQUIRE(!r.sock->open_listen(udp::endpoint(boost::asio::ip::make_address("0.0.0.0"), 0)));
    REQUIRE(r.sock->pktinfo());  // bound to the wildcard address
    Plain dst;
    const Peer to = dst.peer();
    auto local = [](const char* a) {
      transport_udp::LocalAddr l;
      l.family = AF_INET;
      REQUIRE(::inet_pton(AF_INET, a, &l.v4) == 1);
      return l;
    };
    const transport_udp::LocalAddr two = local("127.0.0.2"), three = local("127.0.0.3");
    const std::vector<const transport_udp::LocalAddr*> plan{&two, &two, &two, &three, &three, &three, nullptr};
    for (std::size_t i = 0; i < plan.size(); ++i) REQUIRE(r.sock->enqueue(r.datagram(pattern(1000, i)), &to, plan[i]));
    r.sock->flush();
    CHECK(r.sock->queued() == 0);
    if (gso) CHECK(r.counter("gso_sends") == 2);  // .2 x3, .3 x3 (and the last one alone: another source)
    std::vector<std::string> from;
    std::vector<std::byte> buf(65536);
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (from.size() < plan.size() && std::chrono::steady_clock::now() < deadline) {
      sockaddr_in a{};
      socklen_t len = sizeof a;
      const ssize_t n = ::recvfrom(dst.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&a), &len);
      if (n < 0) {
        pollfd p{dst.fd, POLLIN, 0};
        ::poll(&p, 1, 50);
        continue;
      }
      char t[INET_ADDRSTRLEN];
      from.emplace_back(::inet_ntop(AF_INET, &a.sin_addr, t, sizeof t));
    }
    const std::vector<std::string> want{"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3",
                                        "127.0.0.3", "127.0.0.3", "127.0.0.1"};  // the kernel's choice for the last
    CHECK(from == want);
    CHECK(r.counter("pktinfo_fallbacks") == 0);
  }
}

TEST_CASE("PKTINFO: a source address the kernel refuses (gone) falls back to the kernel's choice",
          "[transport_udp][pktinfo]") {
  SocketRig r(true, false);
  REQUIRE(!r.sock->open_listen(udp::endpoint(boost::asio::ip::make_address("0.0.0.0"), 0)));
  Plain dst;
  const Peer to = dst.peer();
  transport_udp::LocalAddr gone;
  gone.family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, "192.0.2.1", &gone.v4) == 1);  // not an address of this host
  REQUIRE(r.sock->enqueue(r.datagram(pattern(100, 1)), &to, &gone));
  r.sock->flush();
  const std::vector<Bytes> got = dst.receive(1);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == pattern(100, 1));
  CHECK(r.counter("pktinfo_fallbacks") == 1);
  CHECK(r.counter("send_errors") == 0);
}
