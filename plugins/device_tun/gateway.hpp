// The gateway side: source NAT for the tunnel network out of the outward
// interface (our own nftables table) and IPv4 forwarding on. Both are listed
// in the state file before they are made, so a later start can undo them
// after a crash.
#pragma once
#include <memory>
#include <string>

#include "state_file.hpp"
#include "tun_config.hpp"
#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/status.hpp"

namespace device_tun {

// Makes table inet vpnhost_<tun> (replacing a stale one) and sets
// net.ipv4.ip_forward=1, recording the original value (or, while another
// gateway of this namespace runs, the original value it recorded).
vpnsdk::Status gateway_up(const TunConfig& cfg, const std::string& tun, const vpnsdk::ipv4::Prefix& net,
                          const StateFile& file, State& state, const std::shared_ptr<spdlog::logger>& log);

// Deletes state.nft_table and restores state.ip_forward unless another
// gateway of this namespace still runs (the last one restores it). Clears
// both from `state`. Problems are logged, never thrown.
void gateway_down(const TunConfig& cfg, const StateFile& file, State& state,
                  const std::shared_ptr<spdlog::logger>& log) noexcept;

}  // namespace device_tun
