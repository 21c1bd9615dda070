// Pipeline: the data path. Packets are routed one by one, then sealed and
// sent grouped by destination session, so one transport send (one writev)
// carries everything a batch produced for that session.
#include <algorithm>

#include "vpnhost/pipeline.hpp"

namespace vpnhost {

using vpnsdk::Code;
using vpnsdk::RouteDecision;
using vpnsdk::Status;

void Pipeline::drop(std::string_view reason, Session* s) {
  auto it = drop_counters_.find(reason);
  if (it == drop_counters_.end()) {
    std::uint64_t* c = &counters_.get("drop." + std::string(reason));
    it = drop_counters_.emplace(std::string_view(drop_names_.emplace_back(reason)), c).first;
  }
  ++*it->second;
  if (s != nullptr) ++s->drops;
}

void Pipeline::route_packet(vpnsdk::SessionId from, vpnsdk::PacketPtr p, bool local_reply) {
  vpnsdk::ipv4::Header h;
  if (auto problem = vpnsdk::ipv4::parse(p->bytes(), h); problem != vpnsdk::ipv4::Problem::none)
    return drop(vpnsdk::ipv4::problem_name(problem), find(from));
  p->trim(h.total_len);
  RouteDecision d;
  if (!guarded(*stages_.router, from, "route", [&] { d = router_->route(*p, from); })) return;
  switch (d.kind) {
    case RouteDecision::Kind::session: {
      Session* to = find(d.session);
      if (to == nullptr || to->state != State::established) return drop("session_not_ready", find(from));
      return forward(from, d.session, to, std::move(p), h);
    }
    case RouteDecision::Kind::device:
      if (device_ == nullptr || !device_started_) return drop("no_device", find(from));
      return forward(from, 0, nullptr, std::move(p), h);
    case RouteDecision::Kind::local:
      if (local_reply) return drop("local_loop");  // a responder's reply addressed to ourselves
      return deliver_local(from, std::move(p));
    case RouteDecision::Kind::drop:
      return drop(d.reason != nullptr ? d.reason : "router_drop", find(from));
  }
}

void Pipeline::deliver_local(vpnsdk::SessionId from, vpnsdk::PacketPtr p) {
  std::optional<vpnsdk::Assignment> self;
  guarded(*stages_.router, from, "local", [&] { self = router_->local(); });
  if (!self) return drop("local_unclaimed", find(from));
  for (auto& entry : responders_) {
    vpnsdk::Responder* responder = entry.first;
    StageInstance* stage = entry.second;
    vpnsdk::Verdict v = vpnsdk::Verdict::pass;
    // A throwing responder ends the session the packet came from, not the host.
    if (!guarded(*stage, from, "handle", [&] { v = responder->handle(*p, *self); })) return drop("responder_failed");
    if (v == vpnsdk::Verdict::consumed) return;
    if (v == vpnsdk::Verdict::reply) {
      ++*c_.echo_local;
      return route_packet(0, std::move(p), true);
    }
  }
  // With a device (a gateway), the host's own kernel gets what no responder
  // took: through forward(), so the device's MTU (fragmentation, "needs
  // fragmentation" for DF) and MSS clamping apply as to any packet for it.
  if (device_ != nullptr && device_started_) {
    vpnsdk::ipv4::Header h;
    if (auto problem = vpnsdk::ipv4::parse(p->bytes(), h); problem != vpnsdk::ipv4::Problem::none)
      return drop(vpnsdk::ipv4::problem_name(problem), find(from));  // a responder that passed broke it
    return forward(from, 0, nullptr, std::move(p), h);
  }
  drop("local_unclaimed", find(from));
}

void Pipeline::flush() {
  if (!pending_.empty()) {
    std::stable_sort(pending_.begin(), pending_.end(),
                     [](const Pending& a, const Pending& b) { return a.to < b.to; });
    std::size_t i = 0;
    while (i < pending_.size()) {
      const vpnsdk::SessionId to = pending_[i].to;
      Session* s = find(to);
      std::uint64_t bytes = 0;
      for (; i < pending_.size() && pending_[i].to == to; ++i) {
        vpnsdk::PacketPtr p = std::move(pending_[i].packet);
        if (s == nullptr || s->state != State::established) {
          drop("session_not_ready");
          continue;
        }
        const std::size_t plain = p->size();
        p->meta.frame_type = static_cast<std::uint8_t>(vpnsdk::wire::FrameType::data);
        p->meta.session = to;
        Status st;
        if (!guarded(*stages_.cipher, to, "seal", [&] { st = s->cipher->seal(*p); })) {
          s = find(to);
          continue;
        }
        if (!st.ok()) {
          drop(vpnsdk::code_name(st.code), s);
          continue;
        }
        bytes += plain;
        scratch_.push_back(std::move(p));
      }
      if (s != nullptr && !scratch_.empty()) {
        const std::size_t n = scratch_.size();
        Status st;
        if (guarded(*stages_.transport, to, "send", [&] { st = transport_->send(to, vpnsdk::Batch(scratch_)); })) {
          if (Session* again = find(to)) {
            again->tx_packets += n;
            again->tx_bytes += bytes;
            again->last_tx = Clock::now();
          }
          *c_.tx_packets += n;
          *c_.tx_bytes += bytes;
          if (st.code == Code::drop_overflow) drop("send_queue_full", find(to));
        }
      }
      scratch_.clear();
    }
    pending_.clear();
  }
  if (!to_device_.empty()) {
    const std::size_t n = to_device_.size();
    Status st;
    if (guarded(*stages_.device, 0, "write", [&] { st = device_->write(vpnsdk::Batch(to_device_)); }))
      *c_.device_tx_packets += n;
    to_device_.clear();
  }
}

void Pipeline::from_device(vpnsdk::Batch packets) {
  *c_.device_rx_packets += packets.size();
  for (auto& p : packets)
    if (p) route_packet(0, std::move(p));
  flush();
}

}  // namespace vpnhost
