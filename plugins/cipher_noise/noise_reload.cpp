#include "noise_reload.hpp"

#include <sodium.h>

#include <set>

#include "noise_config.hpp"

namespace cipher_noise {
namespace {

using vpnsdk::Code;
using vpnsdk::Status;

bool same_psk(const std::optional<Key>& a, const std::optional<Key>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return sodium_memcmp(a->view().data(), b->view().data(), a->view().size()) == 0;
}

Status needs_restart(const std::string& what) {
  return Status::error(Code::config, what + ": that needs a restart (the running configuration is kept)");
}

}  // namespace

Status reload_context(NoiseContext& ctx, const vpnsdk::Options& next, const std::string& base_dir) {
  std::optional<NoiseConfig> parsed;
  try {
    parsed.emplace(parse_config(next, base_dir, ctx.cfg.run_uid, ctx.cfg.run_gid));
  } catch (const std::exception& e) {
    return Status::error(Code::config, e.what());
  }
  NoiseConfig& n = *parsed;
  NoiseConfig& cur = ctx.cfg;
  if (n.self.pub != cur.self.pub) return needs_restart("this host's private key (private_key_file) changed");
  if (!same_psk(n.psk, cur.psk)) return needs_restart("the pre-shared key (psk_file) changed");
  if (n.server != cur.server) return needs_restart("server_public_key changed");
  if (n.clients.has_value() != cur.clients.has_value())
    return needs_restart("changing between server (authorized_clients) and client (server_public_key)");

  std::size_t added = 0, removed = 0;
  if (n.clients) {
    std::set<PublicKey> before, after;
    for (const auto& c : cur.clients->all()) before.insert(c.key);
    for (const auto& c : n.clients->all()) after.insert(c.key);
    for (const auto& k : after) added += before.count(k) == 0 ? 1 : 0;
    for (const auto& k : before) removed += after.count(k) == 0 ? 1 : 0;
    cur.clients = std::move(n.clients);
    ctx.count_clients();
  }
  cur.rekey_after = n.rekey_after;
  cur.reject_after = n.reject_after;
  if (n.handshakes_per_second != cur.handshakes_per_second || n.handshake_burst != cur.handshake_burst) {
    cur.handshakes_per_second = n.handshakes_per_second;
    cur.handshake_burst = n.handshake_burst;
    ctx.limiter = RateLimiter(cur.handshakes_per_second, cur.handshake_burst);  // buckets start full again
    ctx.proven = RateLimiter(cur.handshakes_per_second, cur.handshake_burst);
  }
  cur.cookie_above_per_second = n.cookie_above_per_second;
  ctx.load.set_threshold(cur.cookie_above_per_second);
  if (ctx.log) {
    if (cur.clients)
      ctx.log->info("reloaded: {} authorized client(s) ({} added, {} removed)", cur.clients->size(), added, removed);
    else
      ctx.log->info("reloaded");
  }
  return {};
}

}  // namespace cipher_noise
