// The hub's address table: which session holds which address of the network.
//
// owner_ is indexed by host offset within the network (at most a /16, so at
// most 65536 entries), which makes every per-packet question an array read.
// by_session_ answers "which address does session X hold".
#pragma once
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/packet.hpp"

namespace router_hub {

class AddressPool {
 public:
  // [first, last] is the pool (inclusive); `server` is never handed out.
  AddressPool(vpnsdk::ipv4::Prefix network, std::uint32_t server, std::uint32_t first, std::uint32_t last);

  // The lowest free pool address for `id`, or nullopt when the pool is full.
  std::optional<std::uint32_t> take_lowest(vpnsdk::SessionId id);

  enum class Take { ok, outside, reserved, taken };
  // A given address for `id` (any host address of the network but the server's).
  Take take(std::uint32_t address, vpnsdk::SessionId id);

  // Gives `address`, held by another session, to `id` instead (the holder
  // then holds nothing); returns the previous holder (0: it was free and is
  // now taken by `id`).
  vpnsdk::SessionId transfer(std::uint32_t address, vpnsdk::SessionId id);

  // Frees what `id` holds; returns the address it held.
  std::optional<std::uint32_t> release(vpnsdk::SessionId id) noexcept;

  std::optional<std::uint32_t> address_of(vpnsdk::SessionId id) const noexcept;
  // The session holding `address`, 0 if none (or not in the network).
  vpnsdk::SessionId owner(std::uint32_t address) const noexcept {
    if (!network_.contains(address)) return 0;
    return owner_[address - network_.network];
  }
  // True if `id` holds `address`: one array read.
  bool holds(vpnsdk::SessionId id, std::uint32_t address) const noexcept {
    return id != 0 && owner(address) == id;
  }

  std::size_t pool_size() const noexcept { return pool_size_; }
  std::size_t in_use() const noexcept { return by_session_.size(); }

 private:
  vpnsdk::ipv4::Prefix network_;
  std::uint32_t server_off_;
  std::uint32_t first_off_;
  std::uint32_t last_off_;
  std::uint32_t hint_;  // every pool offset below it is taken (or the server's)
  std::size_t pool_size_;
  std::vector<vpnsdk::SessionId> owner_;
  std::unordered_map<vpnsdk::SessionId, std::uint32_t> by_session_;
};

}  // namespace router_hub
