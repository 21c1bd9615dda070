// Tells when the tunnel is down, for on_tunnel_down = "fallback": once a
// second it checks that the transport's socket to the server (found like the
// underlay routes: this process's connected sockets to the kept addresses)
// is still connected. When none is, on_down runs once; watch() again after
// the next start. Runs on the host's io_context; never blocks.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "transport_peers.hpp"
#include "vpnsdk/asio.hpp"

#include <boost/asio/steady_timer.hpp>

namespace device_tun {

class TunnelWatch {
 public:
  explicit TunnelWatch(boost::asio::io_context& io) : timer_(io) {}
  ~TunnelWatch() { cancel(); }

  // Watches the connected sockets to `peers` (every connected socket if
  // `peers` is empty). False if there is none to watch.
  bool watch(const std::vector<std::uint32_t>& peers, std::function<void()> on_down);
  void cancel() noexcept;

 private:
  void arm();

  boost::asio::steady_timer timer_;
  std::vector<PeerSocket> sockets_;
  std::function<void()> on_down_;
  std::shared_ptr<int> alive_;  // one per watch(); pending waits hold a weak_ptr
};

}  // namespace device_tun
