#include "gateway.hpp"

#include <net/if.h>
#include <unistd.h>

#include <cstring>

#include "nft_table.hpp"
#include "sysctl.hpp"

namespace device_tun {

using vpnsdk::Code;
using vpnsdk::Status;

Status gateway_up(const TunConfig& cfg, const std::string& tun, const vpnsdk::ipv4::Prefix& net,
                  const StateFile& file, State& state, const std::shared_ptr<spdlog::logger>& log) {
  if (::if_nametoindex(cfg.masquerade.c_str()) == 0)
    return Status::error(Code::config, "masquerade: there is no interface '" + cfg.masquerade +
                                           "' (the outward interface, e.g. eth0; see `ip link`)");
  std::string current;
  if (int err = read_sysctl(kIpForward, current); err != 0)
    return Status::error(Code::io, std::string("cannot read ") + kIpForward + ": " + std::strerror(err));
  std::string original = current;
  for (const State& other : file.others_alive())
    if (other.ip_forward) original = *other.ip_forward;  // it set the current value; keep the true original

  state.pid = ::getpid();
  state.ip_forward = original;
  state.nft_table = nft_table_name(tun);
  if (std::string err = file.save(state); !err.empty()) {
    state.ip_forward.reset();
    state.nft_table.clear();
    return Status::error(Code::io, err);
  }
  if (Status s = run_nft(cfg.nft, masquerade_script(state.nft_table, tun, cfg.masquerade, net)); !s) {
    state.nft_table.clear();  // the transaction failed as a whole: nothing was made
    gateway_down(cfg, file, state, log);
    return Status::error(s.code, "masquerade: " + s.message);
  }
  if (current != "1") {
    if (int err = write_sysctl(kIpForward, "1"); err != 0) {
      gateway_down(cfg, file, state, log);
      return Status::error(Code::io, std::string("cannot set ") + kIpForward + " = 1: " + std::strerror(err));
    }
  }
  if (log)
    log->info("gateway: {} masqueraded out of {} (nftables table inet {}), net.ipv4.ip_forward = 1 (was {})",
              prefix_text(net), cfg.masquerade, state.nft_table, original);
  return {};
}

void gateway_down(const TunConfig& cfg, const StateFile& file, State& state,
                  const std::shared_ptr<spdlog::logger>& log) noexcept {
  try {
    if (!state.nft_table.empty()) {
      if (Status s = run_nft(cfg.nft, delete_script(state.nft_table)); !s) {
        if (log) log->error("gateway: cannot delete nftables table inet {}: {}", state.nft_table, s.message);
      } else if (log) {
        log->info("gateway: nftables table inet {} deleted", state.nft_table);
      }
      state.nft_table.clear();
    }
    if (state.ip_forward) {
      bool shared = false;
      for (const State& other : file.others_alive()) shared = shared || other.ip_forward.has_value();
      std::string current;
      read_sysctl(kIpForward, current);
      if (shared) {
        if (log) log->info("gateway: net.ipv4.ip_forward left at {}: another gateway in this namespace still runs", current);
      } else if (current != *state.ip_forward) {
        if (int err = write_sysctl(kIpForward, *state.ip_forward); err != 0) {
          if (log) log->error("gateway: cannot restore {} = {}: {}", kIpForward, *state.ip_forward, std::strerror(err));
        } else if (log) {
          log->info("gateway: net.ipv4.ip_forward restored to {}", *state.ip_forward);
        }
      }
      state.ip_forward.reset();
    }
  } catch (const std::exception& e) {
    if (log) log->error("gateway: cleanup failed: {}", e.what());
  } catch (...) {
  }
}

}  // namespace device_tun
