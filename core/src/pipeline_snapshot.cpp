// Pipeline: a read-only snapshot of the sessions for `vpnhost status`.
#include <algorithm>

#include "vpnhost/pipeline.hpp"

namespace vpnhost {
namespace {

double seconds_between(Pipeline::Clock::time_point from, Pipeline::Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

std::vector<SessionSnapshot> Pipeline::session_snapshots() const {
  const auto now = Clock::now();
  const auto wall = std::chrono::system_clock::now();
  std::vector<SessionSnapshot> out;
  out.reserve(sessions_.size());
  for (const auto& entry : sessions_) {
    const Session& s = entry.second;
    SessionSnapshot x;
    x.id = entry.first;
    if (s.assigned) {
      x.address = vpnsdk::ipv4::to_string(s.assignment.address);
      x.prefix_len = s.assignment.prefix_len;
    }
    x.peer = s.info.peer.to_string();
    x.role = s.info.role == vpnsdk::Role::initiator ? "initiator" : "responder";
    switch (s.state) {
      case State::handshaking: x.state = "handshaking"; break;
      case State::awaiting_hello: x.state = "awaiting_hello"; break;
      case State::hello_sent: x.state = "hello_sent"; break;
      case State::established: x.state = "established"; break;
      case State::closing: x.state = "closing"; break;
    }
    // The authenticated identity, if the cipher has one. A read-only call:
    // a plugin that throws here is counted and logged, but (unlike guarded())
    // this does not end the session while the table is being walked.
    if (s.cipher) {
      try {
        if (auto who = s.cipher->peer(); who && !who->name.empty()) x.name = who->name;
      } catch (const std::exception& e) {
        ++*c_.plugin_exceptions;
        log_->error("[{}] threw in peer: {}", stages_.cipher->name, e.what());
      } catch (...) {
        ++*c_.plugin_exceptions;
        log_->error("[{}] threw in peer: unknown exception", stages_.cipher->name);
      }
    }
    x.connected_seconds = seconds_between(s.opened_at, now);
    x.connected_since = std::chrono::duration_cast<std::chrono::seconds>(
                            (wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - s.opened_at))
                                .time_since_epoch())
                            .count();
    x.last_rx_seconds = seconds_between(s.last_rx, now);
    x.last_tx_seconds = seconds_between(s.last_tx, now);
    x.rx_packets = s.rx_packets;
    x.rx_bytes = s.rx_bytes;
    x.tx_packets = s.tx_packets;
    x.tx_bytes = s.tx_bytes;
    x.drops = s.drops;
    out.push_back(std::move(x));
  }
  std::sort(out.begin(), out.end(), [](const SessionSnapshot& a, const SessionSnapshot& b) { return a.id < b.id; });
  return out;
}

}  // namespace vpnhost
