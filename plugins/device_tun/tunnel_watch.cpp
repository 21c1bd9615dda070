#include "tunnel_watch.hpp"

#include <algorithm>
#include <chrono>

namespace device_tun {

bool TunnelWatch::watch(const std::vector<std::uint32_t>& peers, std::function<void()> on_down) {
  cancel();
  for (const PeerSocket& s : connected_ipv4_sockets())
    if (peers.empty() || std::find(peers.begin(), peers.end(), s.peer) != peers.end()) sockets_.push_back(s);
  if (sockets_.empty()) return false;
  on_down_ = std::move(on_down);
  alive_ = std::make_shared<int>(0);
  arm();
  return true;
}

void TunnelWatch::cancel() noexcept {
  alive_.reset();
  sockets_.clear();
  on_down_ = nullptr;
  boost::system::error_code ignored;
  timer_.cancel(ignored);
}

void TunnelWatch::arm() {
  std::weak_ptr<int> alive = alive_;
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    try {  // nothing escapes into the host's loop
      const bool up =
          std::any_of(sockets_.begin(), sockets_.end(), [](const PeerSocket& s) { return still_connected(s); });
      if (up) return arm();
      auto fire = std::move(on_down_);
      cancel();
      if (fire) fire();
    } catch (...) {
    }
  });
}

}  // namespace device_tun
