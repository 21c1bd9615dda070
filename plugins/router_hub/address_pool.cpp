#include "address_pool.hpp"

namespace router_hub {

AddressPool::AddressPool(vpnsdk::ipv4::Prefix network, std::uint32_t server, std::uint32_t first,
                         std::uint32_t last)
    : network_(network),
      server_off_(server - network.network),
      first_off_(first - network.network),
      last_off_(last - network.network),
      hint_(first_off_),
      pool_size_(last_off_ - first_off_ + 1 - (server_off_ >= first_off_ && server_off_ <= last_off_ ? 1 : 0)),
      owner_(std::size_t{~network.mask()} + 1, 0) {
  by_session_.reserve(pool_size_);
}

std::optional<std::uint32_t> AddressPool::take_lowest(vpnsdk::SessionId id) {
  for (std::uint32_t off = hint_; off <= last_off_; ++off) {
    if (off == server_off_ || owner_[off] != 0) continue;
    by_session_.emplace(id, network_.network + off);  // may throw: nothing changed yet
    owner_[off] = id;
    hint_ = off + 1;
    return network_.network + off;
  }
  hint_ = last_off_ + 1;
  return std::nullopt;
}

AddressPool::Take AddressPool::take(std::uint32_t address, vpnsdk::SessionId id) {
  if (!network_.contains(address)) return Take::outside;
  const std::uint32_t off = address - network_.network;
  if (off == 0 || off == ~network_.mask() || off == server_off_) return Take::reserved;
  if (owner_[off] != 0) return Take::taken;
  by_session_.emplace(id, address);
  owner_[off] = id;
  return Take::ok;
}

vpnsdk::SessionId AddressPool::transfer(std::uint32_t address, vpnsdk::SessionId id) {
  const std::uint32_t off = address - network_.network;
  const vpnsdk::SessionId old = owner_[off];
  by_session_.emplace(id, address);  // may throw: nothing changed yet
  if (old != 0) by_session_.erase(old);
  owner_[off] = id;
  return old;
}

std::optional<std::uint32_t> AddressPool::release(vpnsdk::SessionId id) noexcept {
  auto it = by_session_.find(id);
  if (it == by_session_.end()) return std::nullopt;
  const std::uint32_t address = it->second;
  by_session_.erase(it);
  const std::uint32_t off = address - network_.network;
  owner_[off] = 0;
  if (off >= first_off_ && off < hint_) hint_ = off;
  return address;
}

std::optional<std::uint32_t> AddressPool::address_of(vpnsdk::SessionId id) const noexcept {
  auto it = by_session_.find(id);
  if (it == by_session_.end()) return std::nullopt;
  return it->second;
}

}  // namespace router_hub
