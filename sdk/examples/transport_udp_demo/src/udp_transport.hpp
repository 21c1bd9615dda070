// transport_udp_demo: the Transport implementation.
#pragma once
#include <memory>

#include "vpnsdk/sdk.hpp"

namespace transport_udp_demo {

class UdpTransport final : public vpnsdk::Transport {
 public:
  // Validates the options (ConfigError) and registers counters; no I/O.
  explicit UdpTransport(const vpnsdk::HostContext& ctx);
  ~UdpTransport() override;

  vpnsdk::Overhead overhead() const override;
  vpnsdk::Status start(vpnsdk::TransportSink& sink) override;
  vpnsdk::Status send(vpnsdk::SessionId id, vpnsdk::Batch frames) override;
  void close(vpnsdk::SessionId id, const vpnsdk::Status& why) override;
  void stop() override;

 private:
  // Everything a pending Asio handler may touch. Handlers hold a shared_ptr
  // to it, so a handler that runs (or is destroyed) after the transport is
  // gone finds valid memory and `stopped` set.
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace transport_udp_demo
