#include "noise_context.hpp"

namespace cipher_noise {

NoiseCounters::NoiseCounters(vpnsdk::Counters& c)
    : handshakes_completed(c.counter("handshakes_completed")),
      rekeys(c.counter("rekeys")),
      rekey_retries(c.counter("rekey_retries")),
      handshake_failed(c.counter("handshake_failed")),
      handshake_malformed(c.counter("handshake_malformed")),
      unknown_client(c.counter("unknown_client")),
      replayed_initiation(c.counter("replayed_initiation")),
      rate_limited(c.counter("rate_limited")),
      stale_handshake(c.counter("stale_handshake")),
      frames_sealed(c.counter("frames_sealed")),
      frames_opened(c.counter("frames_opened")),
      bad_tag(c.counter("bad_tag")),
      replayed(c.counter("replayed")),
      too_old(c.counter("too_old")),
      unknown_key_id(c.counter("unknown_key_id")),
      short_frame(c.counter("short_frame")),
      keys_dropped(c.counter("keys_dropped")),
      keys_expired(c.counter("keys_expired")),
      sessions_replaced(c.counter("sessions_replaced")),
      bad_mac1(c.counter("bad_mac1")),
      cookies_sent(c.counter("cookies_sent")),
      cookies_received(c.counter("cookies_received")),
      bad_cookie_reply(c.counter("bad_cookie_reply")),
      mac2_valid(c.counter("mac2_valid")),
      ignored_on_session(c.counter("ignored_on_session")),
      wrong_client_key(c.counter("wrong_client_key")),
      unconfirmed_ended(c.counter("unconfirmed_ended")),
      log_suppressed(c.counter("log_suppressed")) {}

NoiseContext::NoiseContext(NoiseConfig config, vpnsdk::Counters& counters, std::shared_ptr<spdlog::logger> logger)
    : cfg(std::move(config)),
      counters(counters),
      n(counters),
      log(std::move(logger)),
      limiter(cfg.handshakes_per_second, cfg.handshake_burst),
      proven(cfg.handshakes_per_second, cfg.handshake_burst),
      load(cfg.cookie_above_per_second) {
  if (cfg.clients) cookies.emplace(cfg.self.pub);
  count_clients();
}

void NoiseContext::count_clients() {
  if (!cfg.clients) return;
  for (const auto& c : cfg.clients->all()) {
    ClientCounters cc;
    cc.sessions = &counters.counter("client." + c.name + ".sessions");
    cc.handshakes = &counters.counter("client." + c.name + ".handshakes");
    auto [it, fresh] = client_counters.emplace(c.key, cc);
    if (fresh || it->second.sessions == cc.sessions) continue;
    *cc.sessions += *it->second.sessions;  // renamed: its sessions now count under the new name
    *it->second.sessions = 0;
    it->second = cc;
  }
}

Tai64n NoiseContext::next_timestamp() {
  Tai64n t = tai64n(wall());
  if (!tai64n_after(t, last_sent_)) t = tai64n_next(last_sent_);
  last_sent_ = t;
  return t;
}

}  // namespace cipher_noise
