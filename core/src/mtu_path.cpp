// Pipeline: the tunnel MTU on the data path (docs/mtu.md). A packet bigger
// than where it goes next (a session's tunnel MTU, or the device's MTU)
// is answered with ICMP "fragmentation needed" when DF is set, and
// fragmented when it is not; TCP SYNs get their MSS clamped on the way.
#include <algorithm>

#include "vpnhost/ipv4_fragment.hpp"
#include "vpnhost/mss_clamp.hpp"
#include "vpnhost/pipeline.hpp"

namespace vpnhost {

namespace ip = vpnsdk::ipv4;

std::uint16_t Pipeline::derive_mtu(Session& s) {
  if (limits_.mtu != 0) return limits_.mtu;
  std::uint32_t frame = 0;
  guarded(*stages_.transport, s.info.id, "frame_mtu", [&] { frame = transport_->frame_mtu(s.info.id); });
  const auto co = cipher_->overhead();
  const std::uint16_t m = mtu::tunnel_mtu(frame, transport_->overhead().head, std::size_t{co.head} + co.tail);
  debug_limited("session {}: tunnel MTU {} (transport frame_mtu {}{}, cipher overhead {})", s.info.id, m, frame,
              frame == 0 ? " = unknown, assumed 1500-byte underlay" : "", co.head + co.tail);
  return m;
}

// The server's device exists before any session: [host] mtu, else the
// assumed 1500-byte underlay; a router's own MTU (router_hub `mtu`) caps it.
std::uint16_t Pipeline::server_device_mtu(const vpnsdk::Assignment& self) const {
  if (limits_.mtu != 0) return limits_.mtu;
  const auto co = cipher_->overhead();
  const std::uint16_t m = mtu::tunnel_mtu(0, transport_->overhead().head, std::size_t{co.head} + co.tail);
  return self.mtu != 0 ? std::min(m, self.mtu) : m;
}

void Pipeline::queue(vpnsdk::SessionId to, vpnsdk::PacketPtr p) {
  if (to != 0)
    pending_.push_back(Pending{to, std::move(p)});
  else
    to_device_.push_back(std::move(p));
}

void Pipeline::forward(vpnsdk::SessionId from, vpnsdk::SessionId to, const Session* dst, vpnsdk::PacketPtr p,
                       const ip::Header& h) {
  const std::uint16_t limit = dst != nullptr ? dst->assignment.mtu : device_mtu_;
  if (limits_.mss_clamp && mss_clamp::is_syn(p->bytes(), h)) {
    // Both tunnels the segment crosses: the one it came through and the next.
    std::uint16_t m = limit;
    if (const Session* src = find(from); src != nullptr && src->assigned)
      m = m == 0 ? src->assignment.mtu : std::min(m, src->assignment.mtu);
    if (m > 40 && mss_clamp::clamp(p->bytes(), h, static_cast<std::uint16_t>(m - 40))) ++*mc_.mss_clamped;
  }
  if (limit == 0 || p->size() <= limit) return queue(to, std::move(p));
  if ((h.frag & 0x4000) != 0) return too_big(from, *p, h, limit);
  fragment_to(from, to, *p, h, limit);
}

void Pipeline::too_big(vpnsdk::SessionId from, const vpnsdk::PacketBuffer& p, const ip::Header& h, std::uint16_t mtu) {
  drop("too_big_df", find(from));
  if (!mtu::may_answer_with_icmp_error(p.bytes(), h)) return;
  if (!icmp_limit_.allow()) {
    ++*mc_.frag_needed_limited;
    return;
  }
  std::optional<vpnsdk::Assignment> self;
  guarded(*stages_.router, from, "local", [&] { self = router_->local(); });
  if (!self) return;
  // From the hub's address: a server's own, a client's next hop. (A client
  // kernel would take an ICMP error from its own address as a martian.)
  const std::uint32_t source = self->server != 0 ? self->server : self->address;
  vpnsdk::PacketPtr icmp = pool_.acquire();
  std::byte* out = icmp ? icmp->put(mtu::frag_needed_size(h)) : nullptr;
  if (out == nullptr) return drop("pool_exhausted");
  mtu::build_frag_needed(p.bytes(), h, source, mtu, ++icmp_id_, icmp->bytes());
  ++*mc_.frag_needed_sent;
  // Back where the packet came from: its session (whose source address the
  // router checked), or the device. Not through the router: a client's
  // router sends everything from the device to the server.
  if (from != 0) {
    const Session* s = find(from);
    if (s != nullptr && s->state == State::established) queue(from, std::move(icmp));
  } else if (device_ != nullptr && device_started_) {
    queue(0, std::move(icmp));
  }
}

void Pipeline::fragment_to(vpnsdk::SessionId from, vpnsdk::SessionId to, const vpnsdk::PacketBuffer& p,
                           const ip::Header& h, std::uint16_t mtu) {
  fragments_.clear();
  const std::size_t n = ipv4_fragment::fragment(p.bytes(), h, mtu, [this](std::size_t len) -> std::byte* {
    vpnsdk::PacketPtr f = pool_.acquire();
    std::byte* at = f ? f->put(len) : nullptr;
    if (at != nullptr) fragments_.push_back(std::move(f));
    return at;
  });
  if (n == 0) {
    fragments_.clear();
    return drop("fragment_failed", find(from));
  }
  ++*mc_.fragmented;
  *mc_.fragments += n;
  for (auto& f : fragments_) queue(to, std::move(f));
  fragments_.clear();
}

}  // namespace vpnhost
