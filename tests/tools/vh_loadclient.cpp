// vh_loadclient: opens N TUN-less sessions to a vpnhost server over TCP
// (wire protocol v1, cipher_xor), prints what the server answered to each,
// optionally pings the hub through every session or injects one UDP packet,
// and holds the sessions open until stdin EOF / SIGTERM / SIGINT.
//
//   vh_loadclient --server 172.31.2.1 --port 5000 --key-file xor.key
//                 --sessions 253 --expect-welcome 252 --expect-reject 1 --hold
//
// Output (stdout, one line each, flushed):
//   welcome 10.10.0.7          a session got WELCOME
//   reject address pool full   a session got REJECT (the server's reason text)
//   error <what>               connect/protocol failure or timeout
//   ping-ok 10.10.0.7 / ping-fail 10.10.0.7 <what>   (--ping)
//   summary sessions=N welcome=W reject=R error=E ping_ok=P
//   holding                    (--hold) sessions stay open from here on
//   lost <addr> <why>          (--hold) the server ended a held session
//   released sessions=K        (--hold) we sent BYE and closed them
// Exit 0 only if every expectation held (default: every session welcomed).
//
// --no-read (with --hold): after WELCOME the held sessions never read again
// (they still send KEEPALIVEs): a peer that stops reading, for the stall
// tests. --rcvbuf BYTES sets SO_RCVBUF before connecting (a small window).
//
// --cycles N: churn instead. N connect/disconnect cycles in total, run by
// --sessions lanes at once; each cycle opens a fresh connection and ends it
// as --cycle-mode says:
//   bye      HELLO, WELCOME, BYE, wait for the server to close (EOF)
//   close    HELLO, WELCOME, close (FIN) without BYE
//   reset    HELLO, WELCOME, close with RST (SO_LINGER 0)
//   nohello  connect and close at once, no HELLO (an abandoned handshake)
//   mixed    the four in turn (cycle i uses mode i % 4)
// Output: "error cycle I: <what>" (first 20), "reject <reason>", then
//   seen <addr> <times>        every address a WELCOME carried
//   cycles done=N welcome=W reject=R error=E aborted=A distinct=D ms=T rate=C/s
// --expect-welcome defaults to the cycles that send HELLO; exit 0 if every
// expectation held.
// --udp: the same over transport_udp (one frame per datagram, a connected
// UDP socket per session). HELLO and the ping are sent again every 0.5 s
// (doubling, at most 2 s) until answered, as transport_udp does; the HELLO
// carries the cookie field (flag 0x02, no index) and is sent again at once
// with the server's COOKIE (protocol.md 11.7); copies of WELCOME are
// ignored; BYE is sent twice. Not with --cycles.
// Single-threaded Boost.Asio; every wait is bounded.
#include <utility>  // first: Boost 1.74 awaitable.hpp lacks it under C++20

#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vpnhost/protocol.hpp"
#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/wire.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Bytes = std::vector<std::byte>;
namespace ipv4 = vpnsdk::ipv4;
namespace proto = vpnhost::protocol;
using FT = vpnsdk::wire::FrameType;

namespace {

struct Config {
  std::string server = "127.0.0.1";
  std::uint16_t port = 5000;
  std::string key_file;
  int sessions = 1;
  int expect_welcome = -1;  // -1: all sessions
  int expect_reject = -1;   // -1: none
  bool hold = false;
  bool ping = false;
  double timeout_s = 20;     // the whole connect/handshake/ping phase
  double max_hold_s = 600;   // safety bound on --hold
  std::uint16_t max_body = 9216;
  std::string udp_to;        // ADDR:PORT: session 0 sends one UDP datagram there
  std::string udp_src;       // source address for it (default: the assigned one)
  std::string udp_text = "vh_loadclient";
  bool no_read = false;      // --hold without reading: a stalled peer
  int rcvbuf = 0;            // SO_RCVBUF before connect (0: system default)
  int cycles = 0;            // churn: connect/disconnect cycles in total (0: off)
  std::string cycle_mode = "bye";
  bool udp = false;          // transport_udp instead of transport_tcp
};

enum class CycleKind { bye, close, reset, nohello };

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

Bytes decode_base64(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  Bytes out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    const int v = value(c);
    if (v < 0) throw std::runtime_error("key file is not base64");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(std::byte((acc >> bits) & 0xff));
    }
  }
  if (out.empty()) throw std::runtime_error("key file is empty");
  return out;
}

Bytes read_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return decode_base64(ss.str());
}

void xor_body(Bytes& body, const Bytes& key) {
  for (std::size_t i = 0; i < body.size(); ++i) body[i] ^= key[i % key.size()];
}

void put16(Bytes& p, std::size_t at, std::uint16_t v) { ipv4::store16(p.data() + at, v); }

Bytes ip_header(std::size_t total, std::uint8_t protocol, std::uint32_t src, std::uint32_t dst, std::uint16_t id) {
  Bytes p(total);
  p[0] = std::byte{0x45};
  put16(p, 2, static_cast<std::uint16_t>(total));
  put16(p, 4, id);
  p[8] = std::byte{64};
  p[9] = std::byte{protocol};
  ipv4::store32(p.data() + 12, src);
  ipv4::store32(p.data() + 16, dst);
  put16(p, 10, ipv4::checksum(std::span<const std::byte>(p).first(20)));
  return p;
}

Bytes make_echo(std::uint32_t src, std::uint32_t dst, std::uint16_t id, std::uint16_t seq) {
  const std::string payload = "vh_loadclient echo payload 0123456789";
  Bytes p = ip_header(20 + 8 + payload.size(), ipv4::kProtoIcmp, src, dst, id);
  p[20] = std::byte{8};
  put16(p, 24, id);
  put16(p, 26, seq);
  for (std::size_t i = 0; i < payload.size(); ++i) p[28 + i] = std::byte(payload[i]);
  put16(p, 22, ipv4::checksum(std::span<const std::byte>(p).subspan(20)));
  return p;
}

Bytes make_udp(std::uint32_t src, std::uint32_t dst, std::uint16_t dport, const std::string& text) {
  const std::size_t ulen = 8 + text.size();
  Bytes p = ip_header(20 + ulen, ipv4::kProtoUdp, src, dst, 4242);
  put16(p, 20, 40000);
  put16(p, 22, dport);
  put16(p, 24, static_cast<std::uint16_t>(ulen));
  for (std::size_t i = 0; i < text.size(); ++i) p[28 + i] = std::byte(text[i]);
  const std::uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + ipv4::kProtoUdp +
                               static_cast<std::uint32_t>(ulen);
  std::uint16_t sum = ipv4::checksum(std::span<const std::byte>(p).subspan(20), pseudo);
  put16(p, 26, sum == 0 ? 0xffff : sum);
  return p;
}

bool is_echo_reply(const Bytes& pkt, std::uint32_t from, std::uint32_t to, std::uint16_t id, std::uint16_t seq) {
  ipv4::Header h;
  if (ipv4::parse(pkt, h) != ipv4::Problem::none || h.protocol != ipv4::kProtoIcmp) return false;
  if (h.src != from || h.dst != to || h.total_len < h.header_len + 8) return false;
  const std::byte* icmp = pkt.data() + h.header_len;
  return icmp[0] == std::byte{0} && ipv4::load16(icmp + 4) == id && ipv4::load16(icmp + 6) == seq;
}

struct Frame {
  std::uint8_t type = 0;
  Bytes body;
};

enum class State { pending, welcomed, rejected, failed };

struct Session {
  Session(asio::io_context& io, int idx) : sock(io), usock(io), rtx(io), deadline(io), keepalive(io), index(idx) {}
  tcp::socket sock;
  udp::socket usock;          // --udp
  asio::steady_timer rtx;     // --udp: sends `unanswered` again until cleared
  int cookie_resends = 0;     // --udp: HELLOs sent again at once with the server's cookie
  Bytes unanswered;
  std::chrono::milliseconds rtx_delay{500};
  std::vector<std::byte> rbuf;
  asio::steady_timer deadline;
  asio::steady_timer keepalive;
  int index;
  State state = State::pending;
  bool timed_out = false;
  bool ping_ok = false;
  bool open = false;  // welcomed and not yet closed by either side
  std::uint32_t address = 0;
  std::uint32_t server = 0;
  std::uint16_t keepalive_s = 0;
};

class LoadClient {
 public:
  LoadClient(asio::io_context& io, Config cfg, Bytes key)
      : io_(io), cfg_(std::move(cfg)), key_(std::move(key)), signals_(io, SIGINT, SIGTERM), stdin_(io),
        hold_limit_(io) {}

  void start() {
    endpoint_ = tcp::endpoint(asio::ip::make_address(cfg_.server), cfg_.port);
    if (cfg_.cycles > 0) return start_cycles();
    for (int i = 0; i < cfg_.sessions; ++i) sessions_.push_back(std::make_unique<Session>(io_, i));
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      say("signal " + std::to_string(sig));
      interrupted_ = true;
      release();
    });
    for (auto& s : sessions_) asio::co_spawn(io_, run(*s), asio::detached);
  }

  int exit_code() const {
    if (cfg_.cycles > 0) return cycles_exit_code();
    int welcome = 0, reject = 0, error = 0, ping_ok = 0;
    for (auto& s : sessions_) {
      welcome += s->state == State::welcomed;
      reject += s->state == State::rejected;
      error += s->state == State::failed || s->state == State::pending;
      ping_ok += s->ping_ok;
    }
    const int want_welcome = cfg_.expect_welcome >= 0 ? cfg_.expect_welcome : cfg_.sessions;
    const int want_reject = cfg_.expect_reject >= 0 ? cfg_.expect_reject : 0;
    bool ok = welcome == want_welcome && reject == want_reject && error == 0 && lost_ == 0 && !duplicate_;
    if (cfg_.ping && ping_ok != welcome) ok = false;
    if (!udp_ok_) ok = false;
    if (interrupted_ && !phase_done_) ok = false;
    return ok ? 0 : 1;
  }

 private:
  Bytes make_frame(FT type, Bytes body) const {
    xor_body(body, key_);
    Bytes frame(vpnsdk::wire::kHeaderSize + body.size());
    vpnsdk::wire::encode_header(frame.data(), static_cast<std::uint16_t>(body.size()),
                                static_cast<std::uint8_t>(type));
    std::copy(body.begin(), body.end(), frame.begin() + vpnsdk::wire::kHeaderSize);
    return frame;
  }

  awaitable<void> send_frame(Session& s, FT type, Bytes body) {
    Bytes frame = make_frame(type, std::move(body));
    if (cfg_.udp) {
      co_await s.usock.async_send(asio::buffer(frame), use_awaitable);
      co_return;
    }
    co_await asio::async_write(s.sock, asio::buffer(frame), use_awaitable);
  }

  // --udp: send a frame and keep sending it (0.5 s, doubling to 2 s) until
  // answered() - as transport_udp does with HELLO.
  awaitable<void> send_until_answered(Session& s, FT type, Bytes body) {
    Bytes frame = make_frame(type, std::move(body));
    if (type == FT::hello) {
      // The server's address proof (protocol.md 11.7): the first HELLO
      // carries the cookie field (flag 0x02, 16 bytes after the header; zero
      // until the server's COOKIE came), which also makes it at least as
      // large as the COOKIE, so the server may answer it.
      frame[3] = std::byte{0x02};
      frame.insert(frame.begin() + vpnsdk::wire::kHeaderSize, 16, std::byte{0});
    }
    co_await s.usock.async_send(asio::buffer(frame), use_awaitable);
    s.unanswered = std::move(frame);
    s.rtx_delay = std::chrono::milliseconds(500);
    arm_rtx(s);
  }
  void arm_rtx(Session& s) {
    s.rtx.expires_after(s.rtx_delay);
    s.rtx.async_wait([this, &s](const boost::system::error_code& ec) {
      if (ec || s.unanswered.empty() || !s.usock.is_open()) return;
      boost::system::error_code ignored;
      s.usock.send(asio::buffer(s.unanswered), 0, ignored);
      s.rtx_delay = std::min(s.rtx_delay * 2, std::chrono::milliseconds(2000));
      arm_rtx(s);
    });
  }
  static void answered(Session& s) {
    s.unanswered.clear();
    s.rtx.cancel();
  }

  awaitable<Frame> read_datagram(Session& s) {
    if (s.rbuf.empty()) s.rbuf.resize(16384);
    for (;;) {
      const std::size_t n = co_await s.usock.async_receive(asio::buffer(s.rbuf), use_awaitable);
      if (n == 0) continue;  // a NAT keepalive
      if (n < vpnsdk::wire::kHeaderSize) throw std::runtime_error("datagram shorter than a frame header");
      const auto h = vpnsdk::wire::decode_header(s.rbuf.data());
      if (h.type == 0x80 && h.flags == 0 && h.length == 16 && n == 20) {
        // COOKIE: the HELLO again at once, carrying it (at most 4 times).
        if (s.unanswered.size() >= 20 && s.unanswered[3] == std::byte{0x02} && s.cookie_resends < 4) {
          ++s.cookie_resends;
          std::copy(s.rbuf.begin() + 4, s.rbuf.begin() + 20, s.unanswered.begin() + vpnsdk::wire::kHeaderSize);
          boost::system::error_code ignored;
          s.usock.send(asio::buffer(s.unanswered), 0, ignored);
        }
        continue;
      }
      if (h.flags != 0) throw std::runtime_error("frame with flags " + std::to_string(h.flags));
      if (h.length != n - vpnsdk::wire::kHeaderSize) throw std::runtime_error("frame length does not match the datagram");
      Frame f;
      f.type = h.type;
      f.body.assign(s.rbuf.begin() + vpnsdk::wire::kHeaderSize, s.rbuf.begin() + static_cast<long>(n));
      xor_body(f.body, key_);
      co_return f;
    }
  }

  awaitable<Frame> read_frame(Session& s) {
    if (cfg_.udp) co_return co_await read_datagram(s);
    std::byte hdr[vpnsdk::wire::kHeaderSize];
    co_await asio::async_read(s.sock, asio::buffer(hdr), use_awaitable);
    const auto h = vpnsdk::wire::decode_header(hdr);
    if (h.flags != 0) throw std::runtime_error("frame with flags " + std::to_string(h.flags));
    Frame f;
    f.type = h.type;
    f.body.resize(h.length);
    if (h.length > 0) co_await asio::async_read(s.sock, asio::buffer(f.body), use_awaitable);
    xor_body(f.body, key_);
    co_return f;
  }

  awaitable<void> run(Session& s) {
    s.deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(cfg_.timeout_s)));
    s.deadline.async_wait([&s](const boost::system::error_code& ec) {
      if (ec) return;
      s.timed_out = true;
      boost::system::error_code ignored;
      s.sock.close(ignored);
      s.usock.close(ignored);
    });
    try {
      co_await handshake(s);
      if (s.state == State::welcomed && cfg_.ping) co_await ping(s);
      if (s.state == State::welcomed && s.index == 0 && !cfg_.udp_to.empty()) co_await send_udp(s);
    } catch (const std::exception& e) {
      const std::string why = s.timed_out ? "timeout" : e.what();
      if (s.state == State::welcomed) {
        say("ping-fail " + ipv4::to_string(s.address) + " " + why);
        s.open = false;
      } else {
        s.state = State::failed;
        say("error session " + std::to_string(s.index) + ": " + why);
      }
    }
    s.deadline.cancel();
    if (s.state != State::welcomed || !s.open) close(s);
    if (++finished_ == cfg_.sessions) phase_done();
    if (s.open && cfg_.hold && !released_) co_await hold(s);
  }

  awaitable<void> connect(Session& s) {
    if (cfg_.udp) {
      const udp::endpoint to(endpoint_.address(), endpoint_.port());
      s.usock.open(to.protocol());
      if (cfg_.rcvbuf > 0) s.usock.set_option(asio::socket_base::receive_buffer_size(cfg_.rcvbuf));
      s.usock.connect(to);  // sends nothing: the session begins with HELLO
      co_return;
    }
    if (cfg_.rcvbuf > 0) {
      s.sock.open(endpoint_.protocol());
      s.sock.set_option(asio::socket_base::receive_buffer_size(cfg_.rcvbuf));
    }
    co_await s.sock.async_connect(endpoint_, use_awaitable);
  }

  awaitable<void> handshake(Session& s) {
    co_await connect(s);
    proto::Hello hello;
    hello.max_body = cfg_.max_body;
    if (cfg_.udp)
      co_await send_until_answered(s, FT::hello, proto::encode(hello));
    else
      co_await send_frame(s, FT::hello, proto::encode(hello));
    Frame f = co_await read_frame(s);
    // Over UDP, DATA/KEEPALIVE may come before a WELCOME that was lost: skip them.
    while (cfg_.udp && (f.type == static_cast<std::uint8_t>(FT::data) || f.type == static_cast<std::uint8_t>(FT::keepalive)))
      f = co_await read_frame(s);
    if (cfg_.udp) answered(s);
    if (f.type == static_cast<std::uint8_t>(FT::welcome)) {
      proto::Welcome w;
      if (auto err = proto::decode(f.body, w); !err.empty()) throw std::runtime_error(err);
      s.address = w.assignment.address;
      s.server = w.assignment.server;
      s.keepalive_s = w.assignment.keepalive_s;
      if (s.keepalive_s == 0 && w.assignment.timeout_s > 0)
        s.keepalive_s = std::max<std::uint16_t>(1, w.assignment.timeout_s / 3);
      s.state = State::welcomed;
      s.open = true;
      if (!addresses_.insert(s.address).second) {
        duplicate_ = true;
        say("duplicate address " + ipv4::to_string(s.address));
      }
      say("welcome " + ipv4::to_string(s.address));
    } else if (f.type == static_cast<std::uint8_t>(FT::reject)) {
      proto::Reject r;
      if (auto err = proto::decode(f.body, r); !err.empty()) throw std::runtime_error(err);
      s.state = State::rejected;
      say("reject " + (r.reason.empty() ? std::string(proto::reject_code_name(r.code)) : r.reason));
    } else {
      throw std::runtime_error(std::string("expected WELCOME or REJECT, got ") + vpnsdk::wire::type_name(f.type));
    }
  }

  awaitable<void> ping(Session& s) {
    const auto id = static_cast<std::uint16_t>(0x5600 + s.index);
    if (cfg_.udp)
      co_await send_until_answered(s, FT::data, make_echo(s.address, s.server, id, 1));
    else
      co_await send_frame(s, FT::data, make_echo(s.address, s.server, id, 1));
    for (;;) {
      Frame f = co_await read_frame(s);
      if (f.type == static_cast<std::uint8_t>(FT::keepalive)) continue;
      if (cfg_.udp && f.type == static_cast<std::uint8_t>(FT::welcome)) continue;  // a copy of WELCOME
      if (f.type != static_cast<std::uint8_t>(FT::data))
        throw std::runtime_error(std::string("expected DATA, got ") + vpnsdk::wire::type_name(f.type));
      if (is_echo_reply(f.body, s.server, s.address, id, 1)) break;
    }
    if (cfg_.udp) answered(s);
    s.ping_ok = true;
    say("ping-ok " + ipv4::to_string(s.address));
  }

  awaitable<void> send_udp(Session& s) {
    const auto colon = cfg_.udp_to.rfind(':');
    auto dst = ipv4::parse_address(cfg_.udp_to.substr(0, colon));
    const int port = colon == std::string::npos ? -1 : std::atoi(cfg_.udp_to.c_str() + colon + 1);
    auto src = cfg_.udp_src.empty() ? std::optional<std::uint32_t>(s.address) : ipv4::parse_address(cfg_.udp_src);
    if (!dst || !src || port <= 0 || port > 65535) {
      udp_ok_ = false;
      say("error bad --udp-to/--udp-src");
      co_return;
    }
    co_await send_frame(s, FT::data, make_udp(*src, *dst, static_cast<std::uint16_t>(port), cfg_.udp_text));
    say("udp-sent " + ipv4::to_string(*src) + " -> " + cfg_.udp_to);
  }

  awaitable<void> hold(Session& s) {
    if (s.keepalive_s > 0) keepalive_tick(s);
    if (cfg_.no_read) {  // never read again: the server's queue for us fills up
      say("not reading " + ipv4::to_string(s.address));
      co_return;
    }
    try {
      for (;;) {
        Frame f = co_await read_frame(s);
        if (f.type == static_cast<std::uint8_t>(FT::bye)) {
          proto::Bye b;
          proto::decode(f.body, b);
          throw std::runtime_error(std::string("BYE ") + proto::bye_reason_name(b.reason) + " " + b.text);
        }
        // KEEPALIVE and DATA are ignored while holding.
      }
    } catch (const std::exception& e) {
      if (s.open && !released_) {
        ++lost_;
        say("lost " + ipv4::to_string(s.address) + " " + e.what());
        s.open = false;
        close(s);
        check_all_gone();
      }
    }
  }

  void keepalive_tick(Session& s) {
    s.keepalive.expires_after(std::chrono::seconds(s.keepalive_s));
    s.keepalive.async_wait([this, &s](const boost::system::error_code& ec) {
      if (ec || !s.open || released_) return;
      asio::co_spawn(io_, send_frame(s, FT::keepalive, {}), [](std::exception_ptr) {});
      keepalive_tick(s);
    });
  }

  void phase_done() {
    phase_done_ = true;
    int welcome = 0, reject = 0, error = 0, ping_ok = 0;
    for (auto& s : sessions_) {
      welcome += s->state == State::welcomed;
      reject += s->state == State::rejected;
      error += s->state == State::failed || s->state == State::pending;
      ping_ok += s->ping_ok;
    }
    say("summary sessions=" + std::to_string(cfg_.sessions) + " welcome=" + std::to_string(welcome) +
        " reject=" + std::to_string(reject) + " error=" + std::to_string(error) +
        " ping_ok=" + std::to_string(ping_ok));
    if (!cfg_.hold || released_) {
      release();
      return;
    }
    say("holding");
    hold_limit_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(cfg_.max_hold_s)));
    hold_limit_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      say("max hold time reached");
      release();
    });
    const int fd = ::dup(0);
    if (fd < 0) {
      release();
      return;
    }
    stdin_.assign(fd);
    wait_stdin_eof();
    check_all_gone();
  }

  void wait_stdin_eof() {
    stdin_.async_read_some(asio::buffer(stdin_buf_), [this](const boost::system::error_code& ec, std::size_t) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {  // EOF or an error: either way the holder is gone
        release();
        return;
      }
      wait_stdin_eof();
    });
  }

  void check_all_gone() {
    if (!phase_done_ || released_) return;
    for (auto& s : sessions_)
      if (s->open) return;
    say("no session left to hold");
    release();
  }

  void release() {
    if (released_) return;
    released_ = true;
    int count = 0;
    proto::Bye bye;
    bye.reason = proto::ByeReason::leaving;
    for (auto& s : sessions_) {
      if (s->open) {
        Bytes body = proto::encode(bye);
        xor_body(body, key_);
        Bytes frame(vpnsdk::wire::kHeaderSize + body.size());
        vpnsdk::wire::encode_header(frame.data(), static_cast<std::uint16_t>(body.size()),
                                    static_cast<std::uint8_t>(FT::bye));
        std::copy(body.begin(), body.end(), frame.begin() + vpnsdk::wire::kHeaderSize);
        boost::system::error_code ec;
        if (cfg_.udp) {  // twice: nothing answers a BYE
          s->usock.send(asio::buffer(frame), 0, ec);
          s->usock.send(asio::buffer(frame), 0, ec);
        } else {
          asio::write(s->sock, asio::buffer(frame), ec);
        }
        ++count;
        s->open = false;
      }
      s->deadline.cancel();
      close(*s);
    }
    if (cfg_.hold) say("released sessions=" + std::to_string(count));
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    hold_limit_.cancel();
    if (stdin_.is_open()) stdin_.close(ignored);
  }

  static void close(Session& s) {
    boost::system::error_code ignored;
    s.keepalive.cancel();
    s.rtx.cancel();
    s.unanswered.clear();
    if (s.usock.is_open()) s.usock.close(ignored);
    if (s.sock.is_open()) {
      s.sock.shutdown(tcp::socket::shutdown_both, ignored);
      s.sock.close(ignored);
    }
  }

  // ---- churn: --cycles --------------------------------------------------

  static CycleKind kind_of(const std::string& mode, int cycle) {
    if (mode == "close") return CycleKind::close;
    if (mode == "reset") return CycleKind::reset;
    if (mode == "nohello") return CycleKind::nohello;
    if (mode == "mixed") return static_cast<CycleKind>(cycle % 4);
    return CycleKind::bye;
  }

  int hello_cycles() const {
    int n = 0;
    for (int i = 0; i < cfg_.cycles; ++i) n += kind_of(cfg_.cycle_mode, i) != CycleKind::nohello;
    return n;
  }

  void start_cycles() {
    cycles_start_ = std::chrono::steady_clock::now();
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      say("signal " + std::to_string(sig));
      interrupted_ = true;
    });
    lanes_ = std::max(1, std::min(cfg_.sessions, cfg_.cycles));
    for (int i = 0; i < lanes_; ++i) asio::co_spawn(io_, lane(), asio::detached);
  }

  awaitable<void> lane() {
    while (next_cycle_ < cfg_.cycles && !interrupted_) {
      const int c = next_cycle_++;
      co_await one_cycle(c, kind_of(cfg_.cycle_mode, c));
    }
    if (++lanes_done_ == lanes_) cycles_done();
  }

  void cycle_error(int cycle, const std::string& what) {
    if (++cycle_errors_ <= 20) say("error cycle " + std::to_string(cycle) + ": " + what);
  }

  awaitable<void> one_cycle(int cycle, CycleKind kind) {
    Session s(io_, cycle);
    s.deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(cfg_.timeout_s)));
    s.deadline.async_wait([&s](const boost::system::error_code& ec) {
      if (ec) return;
      s.timed_out = true;
      boost::system::error_code ignored;
      s.sock.close(ignored);
    });
    try {
      if (kind == CycleKind::nohello) {
        co_await connect(s);
        ++cycle_aborted_;
      } else {
        co_await connect(s);
        proto::Hello hello;
        hello.max_body = cfg_.max_body;
        co_await send_frame(s, FT::hello, proto::encode(hello));
        Frame f = co_await read_frame(s);
        if (f.type == static_cast<std::uint8_t>(FT::welcome)) {
          proto::Welcome w;
          if (auto err = proto::decode(f.body, w); !err.empty()) throw std::runtime_error(err);
          ++cycle_welcome_;
          ++seen_[w.assignment.address];
          if (kind == CycleKind::bye) {
            proto::Bye bye;
            bye.reason = proto::ByeReason::leaving;
            co_await send_frame(s, FT::bye, proto::encode(bye));
            // The server closes after a BYE: read (and ignore) until EOF.
            for (;;) {
              boost::system::error_code ec;
              co_await s.sock.async_read_some(asio::buffer(drain_buf_),
                                              asio::redirect_error(use_awaitable, ec));
              if (ec == asio::error::eof) break;
              if (ec) throw boost::system::system_error(ec);
            }
          } else if (kind == CycleKind::reset) {
            s.sock.set_option(asio::socket_base::linger(true, 0));
          }
        } else if (f.type == static_cast<std::uint8_t>(FT::reject)) {
          proto::Reject r;
          if (auto err = proto::decode(f.body, r); !err.empty()) throw std::runtime_error(err);
          ++cycle_reject_;
          if (cycle_reject_ <= 20)
            say("reject " + (r.reason.empty() ? std::string(proto::reject_code_name(r.code)) : r.reason));
        } else {
          throw std::runtime_error(std::string("expected WELCOME or REJECT, got ") + vpnsdk::wire::type_name(f.type));
        }
      }
    } catch (const std::exception& e) {
      cycle_error(cycle, s.timed_out ? std::string("timeout") : std::string(e.what()));
    }
    s.deadline.cancel();
    boost::system::error_code ignored;
    if (s.sock.is_open()) s.sock.close(ignored);  // FIN, or RST with linger 0
    ++cycles_run_;
  }

  void cycles_done() {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                          cycles_start_).count();
    for (const auto& [addr, times] : seen_) say("seen " + ipv4::to_string(addr) + " " + std::to_string(times));
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.0f", ms > 0 ? cycles_run_ * 1000.0 / static_cast<double>(ms) : 0.0);
    say("cycles done=" + std::to_string(cycles_run_) + " welcome=" + std::to_string(cycle_welcome_) +
        " reject=" + std::to_string(cycle_reject_) + " error=" + std::to_string(cycle_errors_) +
        " aborted=" + std::to_string(cycle_aborted_) + " distinct=" + std::to_string(seen_.size()) +
        " ms=" + std::to_string(ms) + " rate=" + rate + "/s");
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  }

  int cycles_exit_code() const {
    const int want_welcome = cfg_.expect_welcome >= 0 ? cfg_.expect_welcome : hello_cycles();
    const int want_reject = cfg_.expect_reject >= 0 ? cfg_.expect_reject : 0;
    const bool ok = !interrupted_ && cycles_run_ == cfg_.cycles && cycle_welcome_ == want_welcome &&
                    cycle_reject_ == want_reject && cycle_errors_ == 0;
    return ok ? 0 : 1;
  }

  asio::io_context& io_;
  Config cfg_;
  Bytes key_;
  tcp::endpoint endpoint_;
  std::vector<std::unique_ptr<Session>> sessions_;
  asio::signal_set signals_;
  asio::posix::stream_descriptor stdin_;
  asio::steady_timer hold_limit_;
  char stdin_buf_[256];
  std::set<std::uint32_t> addresses_;
  int finished_ = 0;
  int lost_ = 0;
  bool duplicate_ = false;
  bool udp_ok_ = true;
  bool phase_done_ = false;
  bool released_ = false;
  bool interrupted_ = false;
  // --cycles
  std::chrono::steady_clock::time_point cycles_start_{};
  int lanes_ = 0, lanes_done_ = 0, next_cycle_ = 0, cycles_run_ = 0;
  int cycle_welcome_ = 0, cycle_reject_ = 0, cycle_errors_ = 0, cycle_aborted_ = 0;
  std::map<std::uint32_t, int> seen_;
  char drain_buf_[4096];
};

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"vh_loadclient: many TUN-less vpnhost sessions (wire protocol v1, XOR cipher)"};
  app.add_option("--server", cfg.server, "server address (numeric IPv4)");
  app.add_option("--port", cfg.port, "server port (TCP, or UDP with --udp)");
  app.add_option("--key-file", cfg.key_file, "XOR key file (base64), as made by vpnhost keygen")->required();
  app.add_option("--sessions,-n", cfg.sessions, "sessions to open at once")->check(CLI::Range(1, 10000));
  app.add_option("--expect-welcome", cfg.expect_welcome, "WELCOMEs expected (default: all sessions)");
  app.add_option("--expect-reject", cfg.expect_reject, "REJECTs expected (default: 0)");
  app.add_flag("--hold", cfg.hold, "keep the sessions open until stdin EOF, SIGTERM or SIGINT");
  app.add_flag("--ping", cfg.ping, "ping the hub through every welcomed session");
  app.add_option("--timeout", cfg.timeout_s, "seconds for connect + handshake (+ ping) of each session");
  app.add_option("--max-hold", cfg.max_hold_s, "upper bound in seconds on --hold");
  app.add_option("--max-body", cfg.max_body, "max_body announced in HELLO");
  app.add_option("--udp-to", cfg.udp_to, "ADDR:PORT: session 0 sends one UDP datagram there after WELCOME");
  app.add_option("--udp-src", cfg.udp_src, "source address of that datagram (default: the assigned address)");
  app.add_option("--udp-text", cfg.udp_text, "payload of that datagram");
  app.add_flag("--no-read", cfg.no_read, "with --hold: never read after WELCOME (a peer that stopped reading)");
  app.add_option("--rcvbuf", cfg.rcvbuf, "SO_RCVBUF in bytes, set before connecting")->check(CLI::Range(0, 1 << 26));
  app.add_option("--cycles", cfg.cycles, "churn: this many connect/disconnect cycles over --sessions lanes")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--cycle-mode", cfg.cycle_mode, "how a cycle ends: bye, close, reset, nohello or mixed")
      ->check(CLI::IsMember({"bye", "close", "reset", "nohello", "mixed"}));
  app.add_flag("--udp", cfg.udp, "transport_udp: one frame per datagram (HELLO and the ping sent again until answered)");
  CLI11_PARSE(app, argc, argv);
  if (cfg.udp && cfg.cycles > 0) {
    std::fprintf(stderr, "vh_loadclient: --cycles is for TCP only\n");
    return 64;
  }

  try {
    asio::io_context io;
    LoadClient client(io, cfg, read_key(cfg.key_file));
    client.start();
    io.run();
    return client.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vh_loadclient: %s\n", e.what());
    return 2;
  }
}
