// A fake transport: opens and closes sessions on command, records every
// frame the host sends (per session, as sealed), delivers received frames
// in one batch from several sessions (one received() per session run, as a
// datagram transport does), and drops what it is told to: send() to a
// session in `full` drops the frames (Code::drop_overflow). close() posts
// closed(), as the SDK asks of a transport (never re-entrant).
#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fault.hpp"
#include "vpnsdk/transport.hpp"
#include "vpnsdk/wire.hpp"

namespace coretest {

using vpnsdk::Code;
using vpnsdk::Status;
using vpnsdk::wire::FrameType;

struct SentFrame {
  vpnsdk::SessionId session = 0;
  FrameType type{};
  std::vector<std::byte> wire;  // the body as the cipher sealed it
};

struct FakeTransport final : vpnsdk::Transport {
  explicit FakeTransport(boost::asio::io_context& context) : io(context) {}

  boost::asio::io_context& io;
  vpnsdk::TransportSink* sink = nullptr;
  Faults faults;  // "start", "send", "close", "adopt_path", "frame_mtu", "reconnect", "stop"
  std::vector<SentFrame> sent;
  std::vector<std::pair<vpnsdk::SessionId, std::string>> closes;  // what the host closed, and why
  std::set<vpnsdk::SessionId> open_sessions;
  std::set<vpnsdk::SessionId> full;     // send() drops these sessions' frames
  std::uint64_t dropped = 0;            // frames send() dropped
  std::uint32_t frame_mtu_answer = 0;   // 0: unknown (the host assumes a 1500-byte underlay)
  Status reconnect_answer;
  std::vector<std::chrono::steady_clock::time_point> reconnect_calls;
  std::vector<std::pair<vpnsdk::SessionId, std::uint32_t>> adopt_calls;
  std::optional<vpnsdk::Endpoint> adopt_answer{vpnsdk::Endpoint{"172.31.9.9", 40000}};
  bool stopped = false;

  // --- commands ---
  void open(vpnsdk::SessionId id, vpnsdk::Role role, vpnsdk::Endpoint peer) {
    open_sessions.insert(id);
    sink->opened({id, role, std::move(peer)});
  }
  // The peer went away (or the connection broke): closed() without close().
  void peer_closes(vpnsdk::SessionId id, const std::string& why = "peer closed the connection") {
    if (open_sessions.erase(id) != 0) sink->closed(id, Status::error(Code::session_fatal, why));
  }
  // A failure not tied to a session (a client's connect failed).
  void fail(const std::string& why) { sink->failed(Status::error(Code::io, why)); }
  // Frames from several sessions in one readiness event: one received() per
  // run of frames of the same session, in order.
  void deliver(std::vector<vpnsdk::PacketPtr> frames) {
    std::size_t i = 0;
    while (i < frames.size()) {
      const vpnsdk::SessionId id = frames[i]->meta.session;
      std::size_t j = i;
      while (j < frames.size() && frames[j]->meta.session == id) ++j;
      sink->received(id, vpnsdk::Batch(frames.data() + i, j - i));
      i = j;
    }
  }

  // --- what the host did ---
  std::size_t count(FrameType t, vpnsdk::SessionId id = 0) const {
    std::size_t n = 0;
    for (const auto& f : sent)
      if (f.type == t && (id == 0 || f.session == id)) ++n;
    return n;
  }
  std::vector<const SentFrame*> frames_to(vpnsdk::SessionId id, FrameType t) const {
    std::vector<const SentFrame*> out;
    for (const auto& f : sent)
      if (f.session == id && f.type == t) out.push_back(&f);
    return out;
  }
  std::size_t closes_of(vpnsdk::SessionId id) const {
    std::size_t n = 0;
    for (const auto& c : closes)
      if (c.first == id) ++n;
    return n;
  }

  // --- vpnsdk::Transport ---
  vpnsdk::Overhead overhead() const override { return {8, 0}; }
  Status start(vpnsdk::TransportSink& s) override {
    faults.check("start");
    sink = &s;
    return {};
  }
  Status send(vpnsdk::SessionId id, vpnsdk::Batch frames) override {
    faults.check("send", id);
    if (open_sessions.count(id) == 0) return Status::error(Code::drop_no_route, "no such session");
    const bool drop = full.count(id) != 0;
    for (auto& f : frames) {
      if (!f) continue;
      if (drop)
        ++dropped;
      else
        sent.push_back({id, static_cast<FrameType>(f->meta.frame_type), {f->bytes().begin(), f->bytes().end()}});
      f.reset();
    }
    return drop ? Status::error(Code::drop_overflow, "send queue full") : Status{};
  }
  void close(vpnsdk::SessionId id, const Status& why) override {
    faults.check("close", id);
    closes.emplace_back(id, why.message);
    if (open_sessions.count(id) == 0) return;
    boost::asio::post(io, [this, id, why] {
      if (open_sessions.erase(id) != 0) sink->closed(id, why);
    });
  }
  Status reconnect() override {
    faults.check("reconnect");
    reconnect_calls.push_back(std::chrono::steady_clock::now());
    return reconnect_answer;
  }
  std::optional<vpnsdk::Endpoint> adopt_path(vpnsdk::SessionId id, std::uint32_t path) override {
    adopt_calls.emplace_back(id, path);
    faults.check("adopt_path", id);
    return adopt_answer;
  }
  std::uint32_t frame_mtu(vpnsdk::SessionId id) const override {
    faults.check("frame_mtu", id);
    return frame_mtu_answer;
  }
  void stop() override {
    faults.check("stop");
    stopped = true;
    open_sessions.clear();
  }
};

}  // namespace coretest
