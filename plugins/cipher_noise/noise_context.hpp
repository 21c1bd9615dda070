// What all sessions of one cipher_noise instance share: the configuration,
// the counters, the clocks, and the per-client-key state that must survive
// a single connection (the last accepted initiation timestamp, which
// session currently speaks for a key, the per-source rate limit).
#pragma once
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "authorized_clients.hpp"
#include "cookie.hpp"
#include "noise_primitives.hpp"
#include "rate_limiter.hpp"
#include "tai64n.hpp"
#include "transport_keys.hpp"
#include "vpnsdk/counters.hpp"
#include "vpnsdk/log.hpp"
#include "vpnsdk/log_limit.hpp"

namespace cipher_noise {

struct NoiseConfig {
  // Who reads the files again on a live reload: the user vpnhost runs as
  // after setup (HostContext::run_uid/run_gid; docs/security.md, "Privileges").
  uid_t run_uid = ::geteuid();
  gid_t run_gid = ::getegid();
  std::vector<std::string> reload_warnings;  // files that user cannot read
  DhKeyPair self;                              // this host's static key pair
  std::optional<PublicKey> server;             // client role: the server's public key
  std::string server_where = "default";        // where server_public_key was given
  std::optional<AuthorizedClients> clients;    // server role
  std::optional<Key> psk;                      // IKpsk2 when set
  std::chrono::seconds rekey_after{120};
  std::chrono::seconds reject_after{180};
  double handshakes_per_second = 5;
  double handshake_burst = 20;
  // Server: above this many initiations a second (in total) the server is
  // under load: an initiation without a valid mac2 gets a cookie reply.
  double cookie_above_per_second = 50;
};

// A retransmitted rekey initiation goes out after this long without a response.
inline constexpr std::chrono::seconds kRekeyTimeout{5};

struct NoiseCounters {
  explicit NoiseCounters(vpnsdk::Counters& c);
  std::uint64_t& handshakes_completed;  // initial handshakes (either role)
  std::uint64_t& rekeys;                // key epochs switched after a rekey
  std::uint64_t& rekey_retries;         // initiator: initiation sent again after kRekeyTimeout
  std::uint64_t& handshake_failed;      // a handshake message did not decrypt/authenticate
  std::uint64_t& handshake_malformed;   // wrong size or unexpected message
  std::uint64_t& unknown_client;        // initiation from a key not in authorized_clients
  std::uint64_t& replayed_initiation;   // initiation whose timestamp is not newer than the last accepted
  std::uint64_t& rate_limited;          // initiation refused by the per-source rate limit
  std::uint64_t& stale_handshake;       // response/confirmation for a handshake no longer pending
  std::uint64_t& frames_sealed;
  std::uint64_t& frames_opened;
  std::uint64_t& bad_tag;               // frame failed authentication
  std::uint64_t& replayed;              // frame counter already seen
  std::uint64_t& too_old;               // frame counter behind the replay window
  std::uint64_t& unknown_key_id;        // frame for keys we do not (or no longer) hold
  std::uint64_t& short_frame;           // frame shorter than header + tag
  std::uint64_t& keys_dropped;          // key pairs wiped (expired or superseded)
  std::uint64_t& keys_expired;          // sessions ended: keys reached reject_after without a rekey
  std::uint64_t& sessions_replaced;     // sessions ended: the same client key opened a newer session
  std::uint64_t& bad_mac1;              // initiation without a valid mac1: refused before any DH
  std::uint64_t& cookies_sent;          // server: cookie replies sent instead of a DH (under load / bucket empty)
  std::uint64_t& cookies_received;      // client: cookie replies taken (the initiation went out again with mac2)
  std::uint64_t& bad_cookie_reply;      // client: a cookie reply that does not decrypt for the last initiation
  std::uint64_t& mac2_valid;            // server: initiations with a valid cookie (source address proven)
  std::uint64_t& ignored_on_session;    // server: an initiation on an established session that failed: dropped
  std::uint64_t& wrong_client_key;      // server: an initiation on an established session with another client's key
  std::uint64_t& unconfirmed_ended;     // server: answered handshakes whose keys were never confirmed by a frame
  std::uint64_t& log_suppressed;        // log lines from unauthenticated input held back by the log limit
};

struct ClientCounters {
  std::uint64_t* sessions = nullptr;    // gauge: authenticated sessions of this client now
  std::uint64_t* handshakes = nullptr;  // handshakes (initial + rekeys) completed
};

class NoiseContext {
 public:
  using WallClock = std::chrono::system_clock;

  NoiseContext(NoiseConfig cfg, vpnsdk::Counters& counters, std::shared_ptr<spdlog::logger> log);

  NoiseConfig cfg;
  vpnsdk::Counters& counters;
  NoiseCounters n;
  std::shared_ptr<spdlog::logger> log;
  std::function<SteadyClock::time_point()> now = [] { return SteadyClock::now(); };
  std::function<WallClock::time_point()> wall = [] { return WallClock::now(); };
  RateLimiter limiter;         // new sessions' initiations without a valid mac2, per source (/64)
  RateLimiter proven;          // initiations with a valid mac2 (their source is proven), per source (/64)
  LoadMeter load;              // initiations a second, for "under load"
  vpnsdk::LogLimit noisy;      // log lines that unauthenticated input causes: 10 a second
  std::optional<CookieChecker> cookies;  // server: mac1/mac2 checks and cookie replies

  // A debug line caused by unauthenticated input: rate-limited (at most 10
  // a second; the rest counted in log_suppressed and summarised).
  template <typename... A>
  void noisy_debug(spdlog::format_string_t<A...> fmt, A&&... args) {
    // Counted whatever the level: log_suppressed measures the input, not the log.
    if (!noisy.allow(now())) {
      ++n.log_suppressed;
      return;
    }
    if (!log) return;
    if (noisy.held() > 0)
      log->debug("{} more line(s) about unauthenticated handshake input suppressed in the last second", noisy.held());
    log->debug(fmt, std::forward<A>(args)...);
  }

  // Per client key: the newest initiation timestamp whose keys were
  // confirmed (a frame from the client opened with them). Only confirmed
  // handshakes move it: an initiation with the right static key but
  // another psk (psk2 is only checked by the first frame) cannot.
  std::map<PublicKey, Tai64n> last_initiation;
  std::map<PublicKey, std::uint64_t> owner;     // client key -> the session serial that speaks for it
  std::map<PublicKey, ClientCounters> client_counters;
  std::uint64_t next_serial = 1;

  // Per-client counters for every key in cfg.clients not counted yet (at
  // start and after a reload); a renamed client's live sessions move along.
  void count_clients();

  // Initiator: a timestamp strictly later than any this process sent before.
  Tai64n next_timestamp();

 private:
  Tai64n last_sent_{};
};

}  // namespace cipher_noise
