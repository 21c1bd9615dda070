// fuzz_frames: the TCP transport's receive path, as it runs in the plugin.
//
// Input: [split seed][mode][byte stream ...]
//   The stream is first parsed in one piece with parse_frame() (the
//   reference, on an exact-size heap copy so ASan sees any read past the
//   end), checking every ParsedFrame against the raw header. Then the same
//   stream is written, cut into chunks chosen by the split seed, into a
//   socket pair whose other end is a real transport_tcp::TcpSession (the
//   plugin's session.cpp: read buffer, reassembly, batching, memmove). The
//   frames the session delivers must be exactly the reference frames, and the
//   session must end the way the reference says: on the first bad header
//   with that header's problem, else at end of stream.
//   mode bits 0-1: the pool payload (= largest body accepted): 9216, 1400, 64, 65535.
//   mode bit 2: echo every received frame back through TcpSession::send();
//   the bytes read back must be a prefix of the frames' wire encoding.
//   mode bit 3: the host close()s the session after the first batch: no
//   frame is delivered after that, and closed() carries the host's reason.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/tcp.hpp>
#include <spdlog/sinks/null_sink.h>

#include "frame_parser.hpp"
#include "fuzz_check.hpp"
#include "session.hpp"
#include "vpnsdk/wire.hpp"

namespace {

using transport_tcp::ParsedFrame;
namespace wire = vpnsdk::wire;

constexpr vpnsdk::SessionId kId = 7;
constexpr const char* kHostReason = "the host closed it";
constexpr std::size_t kPayloads[4] = {9216, 1400, 64, 65535};

struct Frame {
  std::uint8_t type = 0;
  std::vector<std::byte> body;
  bool operator==(const Frame&) const = default;
};

// ---- the reference: parse_frame over the whole stream at once -------------

// Checks one parse result against what the header bytes say.
void check_parsed(std::span<const std::byte> in, const ParsedFrame& f, std::size_t max_body) {
  if (in.size() < wire::kHeaderSize) {
    FUZZ_CHECK(f.result == ParsedFrame::need_more);
    return;
  }
  const wire::FrameHeader h = wire::decode_header(in.data());
  const bool header_ok = h.flags == 0 && wire::known_type(h.type) && h.length <= max_body;
  if (!header_ok) {
    FUZZ_CHECK(f.result == ParsedFrame::bad);
    FUZZ_CHECK(!f.problem.empty());
    return;
  }
  FUZZ_CHECK(f.problem.empty());
  if (in.size() < wire::kHeaderSize + h.length) {
    FUZZ_CHECK(f.result == ParsedFrame::need_more);
    return;
  }
  FUZZ_CHECK(f.result == ParsedFrame::frame);
  FUZZ_CHECK(f.type == h.type);
  FUZZ_CHECK(f.body.data() == in.data() + wire::kHeaderSize);
  FUZZ_CHECK(f.body.size() == h.length);  // the body length is the header's length
  FUZZ_CHECK(f.consumed == wire::kHeaderSize + h.length);
  FUZZ_CHECK(f.consumed <= in.size());
}

struct Reference {
  std::vector<Frame> frames;
  bool bad = false;
  std::string problem;
};

Reference reference(std::span<const std::byte> stream, std::size_t max_body) {
  std::unique_ptr<std::byte[]> copy(new std::byte[stream.size()]);
  if (!stream.empty()) std::memcpy(copy.get(), stream.data(), stream.size());
  Reference r;
  std::size_t off = 0;
  for (;;) {
    std::span<const std::byte> rest(copy.get() + off, stream.size() - off);
    ParsedFrame f = transport_tcp::parse_frame(rest, max_body);
    check_parsed(rest, f, max_body);
    if (f.result == ParsedFrame::need_more) break;
    if (f.result == ParsedFrame::bad) {
      r.bad = true;
      r.problem = f.problem;
      break;
    }
    r.frames.push_back(Frame{f.type, std::vector<std::byte>(f.body.begin(), f.body.end())});
    off += f.consumed;
  }
  return r;
}

// ---- the real session -------------------------------------------------------

struct MapCounters final : vpnsdk::Counters {
  std::map<std::string, std::uint64_t> values;  // node-based: references stay valid
  std::uint64_t& counter(std::string_view name) override { return values[std::string(name)]; }
};

struct Owner final : transport_tcp::SessionOwner {
  int ended = 0;
  void session_ended(vpnsdk::SessionId id) noexcept override {
    FUZZ_CHECK(id == kId);
    ++ended;
  }
  std::size_t session_count() const noexcept override { return ended == 0 ? 1 : 0; }  // the one session
};

struct Sink final : vpnsdk::TransportSink {
  transport_tcp::TcpSession* session = nullptr;
  std::size_t headroom = 0;
  bool echo = false;
  bool close_after_first = false;
  bool closed_by_host = false;
  std::vector<Frame> got;
  int closed_calls = 0;
  vpnsdk::Status why;

  void opened(const vpnsdk::SessionInfo&) override { FUZZ_CHECK(!"opened() is not the session's to call"); }
  void received(vpnsdk::SessionId id, vpnsdk::Batch frames) override {
    FUZZ_CHECK(id == kId);
    FUZZ_CHECK(closed_calls == 0);
    FUZZ_CHECK(!frames.empty() && frames.size() <= transport_tcp::kMaxBatch);
    for (const auto& p : frames) {
      FUZZ_CHECK(p != nullptr);
      FUZZ_CHECK(p->meta.session == kId);
      FUZZ_CHECK(p->headroom() == headroom);  // room for the next stage to push into
      const auto b = p->bytes();
      got.push_back(Frame{p->meta.frame_type, std::vector<std::byte>(b.begin(), b.end())});
    }
    if (echo) {
      const vpnsdk::Status s = session->send(frames);
      FUZZ_CHECK(s.ok());  // queue bounds are set far above what one input can fill
    }
    if (close_after_first && !closed_by_host) {
      closed_by_host = true;
      session->close(vpnsdk::Status::error(vpnsdk::Code::session_fatal, kHostReason));
      FUZZ_CHECK(closed_calls == 0);  // closed() never runs inside close()
    }
  }
  void closed(vpnsdk::SessionId id, const vpnsdk::Status& w) override {
    FUZZ_CHECK(id == kId);
    ++closed_calls;
    why = w;
  }
  void failed(const vpnsdk::Status&) override { FUZZ_CHECK(!"failed() on an accepted session"); }
};

struct World {
  boost::asio::io_context io;
  std::shared_ptr<spdlog::logger> log =
      std::make_shared<spdlog::logger>("fuzz_frames", std::make_shared<spdlog::sinks::null_sink_st>());
  std::unique_ptr<vpnsdk::PacketPool> pools[4];
  World() {
    log->set_level(spdlog::level::trace);  // format every message the session logs
    for (int i = 0; i < 4; ++i) {
      vpnsdk::PoolConfig pc;
      pc.payload = kPayloads[i];
      // With echo on, frames wait in the send queue: room for every frame of
      // one input (at most max_len / 4 of them).
      pc.max_buffers = 8192;
      pools[i] = std::make_unique<vpnsdk::PacketPool>(pc);
    }
  }
};

World& world() {
  static World* w = new World();  // never destroyed: outlives every input
  return *w;
}

// xorshift32: chunk boundaries from the split seed.
struct Rng {
  std::uint32_t s;
  std::uint32_t next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
};

std::vector<std::size_t> chunk_sizes(std::uint8_t seed, std::size_t total) {
  std::vector<std::size_t> out;
  if (total == 0) return out;
  if (seed == 0) return {total};  // one chunk
  if (seed == 1) {                // byte by byte (the first 512 bytes), then the rest
    const std::size_t n = total < 512 ? total : 512;
    out.assign(n, 1);
    if (total > n) out.push_back(total - n);
    return out;
  }
  Rng rng{0x9e3779b9u ^ (std::uint32_t{seed} * 0x85ebca6bu) ^ static_cast<std::uint32_t>(total)};
  const std::size_t max_chunk = std::size_t{1} << (seed % 14);  // 1 .. 8192
  std::size_t left = total;
  while (left > 0 && out.size() < 256) {
    std::size_t n = 1 + rng.next() % max_chunk;
    if (n > left) n = left;
    out.push_back(n);
    left -= n;
  }
  if (left > 0) out.push_back(left);
  return out;
}

class Run {
 public:
  Run(std::size_t payload_index, bool echo, bool close_after_first) : w_(world()), pool_(*w_.pools[payload_index]) {
    int sv[2];
    FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    peer_ = sv[1];
    FUZZ_CHECK(::fcntl(peer_, F_SETFL, ::fcntl(peer_, F_GETFL) | O_NONBLOCK) == 0);
    boost::asio::ip::tcp::socket sock(w_.io);
    sock.assign(boost::asio::ip::tcp::v4(), sv[0]);  // a stream socket is all the session needs

    cfg_.listen = "127.0.0.1";
    cfg_.max_queue_frames = 1 << 20;
    cfg_.max_queue_bytes = std::size_t{1} << 30;
    cfg_.stall_timeout = std::chrono::seconds(0);
    env_ = std::make_unique<transport_tcp::SessionEnv>(
        transport_tcp::SessionEnv{cfg_, pool_, *w_.log, tcp_counters_, owner_, &sink_});
    vpnsdk::SessionInfo info{kId, vpnsdk::Role::responder, {"127.0.0.1", 40000}};
    session_ = std::make_shared<transport_tcp::TcpSession>(*env_, info, std::move(sock));
    sink_.session = session_.get();
    sink_.headroom = pool_.config().headroom;
    sink_.echo = echo;
    sink_.close_after_first = close_after_first;
    w_.io.restart();
    session_->begin();
  }

  ~Run() {
    session_.reset();
    pump();  // pending handlers (if any) let go of the session
    if (peer_ >= 0) ::close(peer_);
  }

  // Writes one chunk into the socket; false once the session closed its end.
  bool write(std::span<const std::byte> chunk) {
    std::size_t sent = 0;
    for (int spins = 0; sent < chunk.size(); ++spins) {
      FUZZ_CHECK(spins < 100000);  // the session stopped reading without closing
      const ssize_t n = ::send(peer_, chunk.data() + sent, chunk.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      } else
        return false;  // EPIPE/ECONNRESET: the session ended
      pump();
    }
    pump();
    return true;
  }

  void end_of_stream() {
    ::shutdown(peer_, SHUT_WR);
    pump();
  }

  // Runs every ready handler and collects what the session wrote back.
  void pump() {
    for (int i = 0; i < 10000; ++i) {
      const std::size_t handlers = w_.io.poll();
      const std::size_t bytes = read_echo();
      if (handlers == 0 && bytes == 0) return;
    }
    FUZZ_CHECK(!"the event loop never went idle");
  }

  const Sink& sink() const { return sink_; }
  const Owner& owner() const { return owner_; }
  const std::vector<std::byte>& echoed() const { return echoed_; }
  std::uint64_t counter(const char* name) { return counters_.values[name]; }

 private:
  std::size_t read_echo() {
    if (peer_ < 0) return 0;
    std::size_t total = 0;
    std::byte buf[16384];
    for (;;) {
      const ssize_t n = ::recv(peer_, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      echoed_.insert(echoed_.end(), buf, buf + n);
      total += static_cast<std::size_t>(n);
    }
    return total;
  }

  World& w_;
  vpnsdk::PacketPool& pool_;
  transport_tcp::Config cfg_;
  MapCounters counters_;
  transport_tcp::TcpCounters tcp_counters_{counters_};
  Owner owner_;
  Sink sink_;
  std::unique_ptr<transport_tcp::SessionEnv> env_;
  std::shared_ptr<transport_tcp::TcpSession> session_;
  int peer_ = -1;
  std::vector<std::byte> echoed_;
};

std::vector<std::byte> encode_frames(const std::vector<Frame>& frames) {
  std::vector<std::byte> out;
  for (const auto& f : frames) {
    std::byte h[wire::kHeaderSize];
    wire::encode_header(h, static_cast<std::uint16_t>(f.body.size()), f.type);
    out.insert(out.end(), h, h + wire::kHeaderSize);
    out.insert(out.end(), f.body.begin(), f.body.end());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t seed = data[0];
  const std::size_t payload_index = data[1] & 3;
  const std::size_t max_body = kPayloads[payload_index];
  const bool echo = (data[1] & 4) != 0 && max_body <= 9216;  // bounded pool memory
  const bool host_close = (data[1] & 8) != 0;
  const std::span<const std::byte> stream(reinterpret_cast<const std::byte*>(data + 2), size - 2);

  const Reference ref = reference(stream, max_body);

  const std::size_t before_in_use = world().pools[payload_index]->in_use();
  {
    Run run(payload_index, echo, host_close);
    std::size_t off = 0;
    for (std::size_t n : chunk_sizes(seed, stream.size())) {
      if (!run.write(stream.subspan(off, n))) break;
      off += n;
    }
    run.end_of_stream();

    const Sink& sink = run.sink();
    FUZZ_CHECK(sink.closed_calls == 1);  // exactly once, and by now
    FUZZ_CHECK(run.owner().ended == 1);
    FUZZ_CHECK(sink.why.code == vpnsdk::Code::session_fatal);
    if (sink.closed_by_host) {
      // Nothing after the batch in which the host closed: a prefix.
      FUZZ_CHECK(!sink.got.empty() && sink.got.size() <= ref.frames.size());
      FUZZ_CHECK(std::equal(sink.got.begin(), sink.got.end(), ref.frames.begin()));
      FUZZ_CHECK(sink.why.message == kHostReason);
      FUZZ_CHECK(run.counter("protocol_errors") == 0);
    } else {
      // Reassembly over any chunking gives the frames of the one-piece parse.
      FUZZ_CHECK(sink.got == ref.frames);
      if (ref.bad)
        FUZZ_CHECK(sink.why.message == ref.problem);
      else
        FUZZ_CHECK(sink.why.message == "peer closed the connection");
      FUZZ_CHECK(run.counter("protocol_errors") == (ref.bad ? 1u : 0u));
    }
    FUZZ_CHECK(run.counter("frames_in") == sink.got.size());
    FUZZ_CHECK(run.counter("pool_exhausted") == 0);
    FUZZ_CHECK(run.counter("sessions_closed") == 1);

    // What send() framed and wrote is the frames' encoding (cut short only
    // where the session ended with frames still queued).
    const std::vector<std::byte> expected_echo = echo ? encode_frames(sink.got) : std::vector<std::byte>{};
    const auto& echoed = run.echoed();
    FUZZ_CHECK(echoed.size() <= expected_echo.size());
    FUZZ_CHECK(std::equal(echoed.begin(), echoed.end(), expected_echo.begin()));
    if (sink.closed_by_host) FUZZ_CHECK(echoed.size() == expected_echo.size());  // close() flushes
  }
  // Every buffer went back to the pool.
  FUZZ_CHECK(world().pools[payload_index]->in_use() == before_in_use);
  return 0;
}
