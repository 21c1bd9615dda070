#include "noise_session.hpp"

#include <exception>

#include "key_files.hpp"
#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/secret.hpp"
#include "vpnsdk/wire.hpp"

namespace cipher_noise {
namespace {

using vpnsdk::Code;
using vpnsdk::Status;

constexpr std::uint8_t kHandshakeType = static_cast<std::uint8_t>(vpnsdk::wire::FrameType::handshake);

View as_view(std::span<const std::byte> in) { return {reinterpret_cast<const std::uint8_t*>(in.data()), in.size()}; }

void emit(vpnsdk::HandshakeMessages& out, const Bytes& msg) {
  const auto* p = reinterpret_cast<const std::byte*>(msg.data());
  out.emplace_back(p, p + msg.size());
}

}  // namespace

NoiseSession::NoiseSession(std::shared_ptr<NoiseContext> ctx, const vpnsdk::SessionInfo& info)
    : ctx_(std::move(ctx)), info_(info), serial_(ctx_->next_serial++), opened_at_(ctx_->now()) {
  if (initiator()) {
    if (ctx_->cfg.server) jar_.emplace(*ctx_->cfg.server);
  } else {
    source_ = source_bytes(info_.peer.address, info_.peer.port);
    bucket_ = source_bucket(info_.peer.address);
    allowance_ = TokenBucket{ctx_->cfg.handshake_burst, opened_at_};
  }
}

NoiseSession::~NoiseSession() {
  try {
    if (peer_key_ && client_ && confirmed_) {
      auto it = ctx_->owner.find(*peer_key_);
      if (it != ctx_->owner.end() && it->second == serial_) ctx_->owner.erase(it);
      auto cc = ctx_->client_counters.find(*peer_key_);
      if (cc != ctx_->client_counters.end() && *cc->second.sessions > 0) --*cc->second.sessions;
    }
    if (!initiator() && established_ && !confirmed_) {
      // Answered, but no frame ever opened with the keys: a client that went
      // away, a replayed initiation, or the right key with another psk.
      ++ctx_->n.unconfirmed_ended;
      ctx_->noisy_debug("{}: the handshake was answered but no frame from the client opened with its keys (a "
                        "replay, another psk, or the client left): the session never spoke for the key",
                        who());
    }
    if (initiator() && initiation_sent_ && !established_ && ctx_->log) {
      const auto waited = std::chrono::duration_cast<std::chrono::seconds>(ctx_->now() - opened_at_).count();
      ctx_->log->error(
          "no Noise handshake with the server (the session ended after {} s without a valid response). The server "
          "answers only initiations it can authenticate, and says nothing otherwise: check that server_public_key "
          "({}) is the server's public key (vpnhost pubkey < the server's private key file), that this client's "
          "public key (vpnhost pubkey < private_key_file) is listed in the server's authorized_clients, and that "
          "both sides use the same psk_file (or none)",
          waited, ctx_->cfg.server_where);
    }
  } catch (...) {
    // A destructor must not throw; logging is best effort.
  }
  drop(current_);
  drop(previous_);
  drop(next_);
}

std::string NoiseSession::who() const {
  std::string s = "session " + std::to_string(info_.id) + " from " + info_.peer.to_string();
  if (client_) s += confirmed_ || initiator() ? " (client '" + client_->name + "')" : " (unconfirmed, key of '" + client_->name + "')";
  return s;
}

Status NoiseSession::refuse(const std::string& why) {
  if (established_) {
    if (!initiator()) ++ctx_->n.ignored_on_session;
    return Status::error(Code::again, why + " (dropped; the session goes on)");
  }
  return Status::error(Code::session_fatal, why);
}

void NoiseSession::drop(std::unique_ptr<Keypair>& k) noexcept {
  if (!k) return;
  k->wipe();
  k.reset();
  ++ctx_->n.keys_dropped;
}

Keypair* NoiseSession::keys_for(std::uint8_t id) noexcept {
  if (current_ && current_->id() == id) return current_.get();
  if (next_ && next_->id() == id) return next_.get();
  if (previous_ && previous_->id() == id) return previous_.get();
  return nullptr;
}

void NoiseSession::promote_next() {
  drop(previous_);
  previous_ = std::move(current_);
  current_ = std::move(next_);
  ++ctx_->n.rekeys;
  if (!initiator() && peer_key_) {
    auto last = ctx_->last_initiation.find(*peer_key_);
    if (last == ctx_->last_initiation.end() || tai64n_after(next_ts_, last->second))
      ctx_->last_initiation[*peer_key_] = next_ts_;
    auto cc = ctx_->client_counters.find(*peer_key_);
    if (cc != ctx_->client_counters.end()) ++*cc->second.handshakes;
  }
  if (ctx_->log) ctx_->log->debug("{}: new keys confirmed (key id {})", who(), current_->id());
}

// ------------------------------------------------------------- initiator ---

Status NoiseSession::start(vpnsdk::HandshakeMessages& out) {
  try {
    if (!initiator()) return {};
    if (!ctx_->cfg.server)
      return Status::error(Code::config,
                           "cipher_noise: this host connects to a server, so option server_public_key must be set "
                           "(the server's public key, base64; on the server: vpnhost pubkey < its private key file)");
    key_id_ = 0;
    return send_initiation(out);
  } catch (const std::exception& e) {
    return Status::error(Code::internal, std::string("cipher_noise: start: ") + e.what());
  }
}

Status NoiseSession::send_initiation(vpnsdk::HandshakeMessages& out) {
  const Key* psk = ctx_->cfg.psk ? &*ctx_->cfg.psk : nullptr;
  auto hs = std::make_unique<IkInitiator>(ctx_->cfg.self, *ctx_->cfg.server, psk);
  Bytes msg;
  if (!hs->write_initiation(Initiation{ctx_->next_timestamp(), key_id_}, msg))
    return Status::error(Code::internal, "cipher_noise: cannot write a handshake initiation: " + hs->error());
  pending_ = std::move(hs);
  pending_since_ = ctx_->now();
  pending_msg_ = msg;
  cookie_resent_ = false;
  initiation_sent_ = true;
  jar_->add_macs(msg, pending_since_);
  emit(out, msg);
  return {};
}

// The server is under load (or our source used up its handshakes): it sent
// a cookie instead of a response. Send the same initiation again at once,
// now with mac2; the response to it will be for the same pending handshake.
Status NoiseSession::on_cookie_reply(View in, vpnsdk::HandshakeMessages& out) {
  const auto now = ctx_->now();
  if (!pending_) {
    ++ctx_->n.stale_handshake;
    return Status::error(Code::again, "a cookie reply without a pending initiation");
  }
  if (!jar_->consume(in, now)) {
    ++ctx_->n.bad_cookie_reply;
    return Status::error(Code::again, "a cookie reply that is not for the last initiation: ignored");
  }
  ++ctx_->n.cookies_received;
  // At most one immediate resend per initiation: anyone who saw the
  // initiation's mac1 on the wire can forge a cookie reply (its key comes
  // from the server's public key), and must not make this client send 141
  // bytes to the server for every 56 it forges. A later cookie is kept for
  // the next initiation (a rekey retry or a new connection).
  if (cookie_resent_) return Status::error(Code::again, "a further cookie reply: kept for the next initiation");
  cookie_resent_ = true;
  Bytes msg = pending_msg_;
  jar_->add_macs(msg, now);
  emit(out, msg);
  ctx_->noisy_debug("session {}: the server is under load: initiation sent again with its cookie", info_.id);
  // Code::again: the host sends `out` but does not take a cookie reply
  // (which anyone who saw mac1 can forge) as a sign of life of the peer.
  return Status::error(Code::again, "cookie reply: initiation sent again with the cookie");
}

Status NoiseSession::on_response(View in, vpnsdk::HandshakeMessages& out) {
  if (in.size() == kCookieReplySize) return on_cookie_reply(in, out);
  if (!pending_) {
    ++ctx_->n.stale_handshake;
    return refuse("a handshake response without a pending initiation");
  }
  if (in.size() != kResponseSize) {
    ++ctx_->n.handshake_malformed;
    return refuse("the server's handshake response has " + std::to_string(in.size()) + " bytes, not " +
                  std::to_string(kResponseSize));
  }
  SessionKeys keys;
  if (!pending_->read_response(in, keys)) {
    ++ctx_->n.handshake_failed;
    if (established_) ++ctx_->n.stale_handshake;  // e.g. the answer to an initiation we already sent again
    return refuse(
        "the server's handshake response did not authenticate: psk_file differs from the server's, or this is not "
        "the server that server_public_key names");
  }
  auto kp = std::make_unique<Keypair>(pending_->sent().key_id, std::move(keys), ctx_->now());
  pending_.reset();
  if (!established_) {
    current_ = std::move(kp);
    established_ = true;
    ++ctx_->n.handshakes_completed;
    if (ctx_->log) ctx_->log->info("Noise handshake with the server complete (key id {})", current_->id());
    return {};
  }
  drop(previous_);
  previous_ = std::move(current_);
  current_ = std::move(kp);
  ++ctx_->n.rekeys;
  // Key confirmation: the first frame sealed with the new keys, empty.
  Bytes confirm(kConfirmationSize);
  if (!current_->seal(kHandshakeType, confirm.data(), confirm.data() + kFrameHeader, 0,
                      confirm.data() + kFrameHeader))
    return Status::error(Code::session_fatal, "cannot seal the key confirmation");
  emit(out, confirm);
  if (ctx_->log) ctx_->log->debug("session {}: rekeyed (key id {})", info_.id, current_->id());
  return {};
}

// ------------------------------------------------------------- responder ---

Status NoiseSession::on_initiation(View in, vpnsdk::HandshakeMessages& out) {
  const auto now = ctx_->now();
  if (!ctx_->cfg.clients || !ctx_->cookies)
    return Status::error(Code::config,
                         "cipher_noise: this host accepts sessions, so option authorized_clients must be set");
  // Everything up to the decryption costs no Diffie-Hellman.
  if (in.size() != kInitiationSize) {
    ++ctx_->n.handshake_malformed;
    ctx_->noisy_debug("{}: a handshake message of {} bytes, not an initiation ({})", who(), in.size(),
                      kInitiationSize);
    return refuse("a handshake initiation of " + std::to_string(in.size()) + " bytes, not " +
                  std::to_string(kInitiationSize));
  }
  if (!ctx_->cookies->mac1_ok(in)) {
    ++ctx_->n.bad_mac1;
    ctx_->noisy_debug("{}: handshake initiation without a valid mac1 (not made for this server's public key)", who());
    return refuse("handshake initiation without a valid mac1");
  }
  ctx_->load.note(now);
  if (ctx_->cookies->mac2_ok(in, source_, now)) {
    // The sender got our cookie at this address: the load shedding does not
    // apply, only the limit of the proven source, which no forger can spend.
    ++ctx_->n.mac2_valid;
    if (!ctx_->proven.allow(bucket_, now)) {
      ++ctx_->n.rate_limited;
      ctx_->noisy_debug("{}: handshake rate limit reached for {} (with a valid cookie)", who(), bucket_);
      return refuse("handshake rate limit reached for " + bucket_);
    }
  } else {
    // Under load, or over this source's (or this session's) allowance: a
    // cookie reply, smaller than the initiation, instead of any DH. The
    // sender can answer only if it receives at the session's address.
    const bool busy = ctx_->load.busy(now);
    const bool admitted =
        !busy && (established_ ? allowance_.take(ctx_->cfg.handshakes_per_second, ctx_->cfg.handshake_burst, now)
                               : ctx_->limiter.allow(bucket_, now));
    if (!admitted) {
      ++ctx_->n.cookies_sent;
      emit(out, ctx_->cookies->reply(in, source_, now));
      ctx_->noisy_debug("{}: {}: answered with a cookie reply", who(),
                        busy ? "under load" : "handshake rate limit reached for " + bucket_);
      return Status::error(Code::again, "cookie reply sent");
    }
  }
  const Key* psk = ctx_->cfg.psk ? &*ctx_->cfg.psk : nullptr;
  IkResponder hs(ctx_->cfg.self, psk);
  PublicKey key{};
  Initiation init;
  if (!hs.read_initiation(in.first(kInitiationNoiseSize), key, init)) {
    ++ctx_->n.handshake_failed;
    ctx_->noisy_debug("{}: handshake initiation does not decrypt: {}", who(), hs.error());
    return refuse("handshake initiation not for this server's key (or another psk setting)");
  }
  const AuthorizedClient* client = ctx_->cfg.clients->find(key);
  if (client == nullptr) {
    ++ctx_->n.unknown_client;
    ctx_->noisy_debug("{}: a key that is not in authorized_clients: no session", who());
    return refuse("client key not in authorized_clients");
  }
  if (established_ && key != *peer_key_) {
    ++ctx_->n.wrong_client_key;
    ctx_->noisy_debug("{}: an initiation with the key of client '{}' on this session", who(), client->name);
    return refuse("an initiation with another client's key");
  }
  if (established_ && !confirmed_) {
    ++ctx_->n.stale_handshake;
    return refuse("a rekey before the first frame confirmed the keys");
  }
  auto last = ctx_->last_initiation.find(key);
  if ((last != ctx_->last_initiation.end() && !tai64n_after(init.timestamp, last->second)) ||
      (established_ && next_ && !tai64n_after(init.timestamp, next_ts_))) {
    ++ctx_->n.replayed_initiation;
    ctx_->noisy_debug("{}: initiation for client '{}' is not newer than the last one accepted (a replay?): refused",
                      who(), client->name);
    return refuse("replayed handshake initiation");
  }
  if (established_ && current_ && current_->id() == init.key_id) {
    ++ctx_->n.handshake_malformed;
    return refuse("a rekey reuses the key id in use");
  }
  Bytes msg;
  SessionKeys keys;
  if (!hs.write_response(msg, keys))
    return Status::error(Code::internal, "cipher_noise: cannot write a handshake response: " + hs.error());
  auto kp = std::make_unique<Keypair>(init.key_id, std::move(keys), now);
  emit(out, msg);
  if (!established_) {
    // Not trusted yet (class comment): no owner, no client session, no
    // replay timestamp until a frame from the client opens.
    current_ = std::move(kp);
    established_ = true;
    peer_key_ = key;
    client_ = *client;
    answered_ts_ = init.timestamp;
    ctx_->noisy_debug("{}: initiation of client '{}' answered; waiting for its first frame", who(), client->name);
    return {};
  }
  if (previous_ && previous_->id() == init.key_id) drop(previous_);
  drop(next_);
  next_ = std::move(kp);
  next_ts_ = init.timestamp;
  if (ctx_->log) ctx_->log->debug("{}: rekey answered (key id {}), waiting for confirmation", who(), next_->id());
  return {};
}

void NoiseSession::confirm() {
  confirmed_ = true;
  const PublicKey& key = *peer_key_;
  auto last = ctx_->last_initiation.find(key);
  if (last == ctx_->last_initiation.end() || tai64n_after(answered_ts_, last->second)) {
    ctx_->last_initiation[key] = answered_ts_;
    ctx_->owner[key] = serial_;  // the previous session of this key ends at its next tick
  }  // else a newer session of this key already spoke for it: this one ends at its tick
  auto cc = ctx_->client_counters.find(key);
  if (cc != ctx_->client_counters.end()) {
    ++*cc->second.sessions;
    ++*cc->second.handshakes;
  }
  ++ctx_->n.handshakes_completed;
  if (ctx_->log) ctx_->log->info("{}: client '{}' authenticated", who(), client_->name);
}

Status NoiseSession::on_confirmation(View in) {
  if (!next_ || in[0] != next_->id()) {
    ++ctx_->n.stale_handshake;
    return Status::error(Code::again, "a key confirmation for keys not pending");
  }
  Bytes body(in.begin(), in.end());
  switch (next_->open(kHandshakeType, body.data(), body.data() + kFrameHeader, 0, body.data() + kFrameHeader)) {
    case Keypair::OpenResult::ok:
      promote_next();
      return {};
    case Keypair::OpenResult::bad_tag:
      ++ctx_->n.bad_tag;
      break;
    default:
      ++ctx_->n.replayed;
  }
  return Status::error(Code::again, "a key confirmation that does not authenticate");
}

// ---------------------------------------------------------------- common ---

Status NoiseSession::handshake(std::span<const std::byte> in, vpnsdk::HandshakeMessages& out) {
  try {
    const View v = as_view(in);
    Status st = initiator() ? on_response(v, out)
                : established_ && v.size() == kConfirmationSize ? on_confirmation(v)
                                                                 : on_initiation(v, out);
    // New keys may have grown the arena past RLIMIT_MEMLOCK: said once.
    vpnsdk::log_secret_memory(ctx_->log.get(), false);
    return st;
  } catch (const std::exception& e) {
    return Status::error(Code::internal, std::string("cipher_noise: handshake: ") + e.what());
  }
}

Status NoiseSession::tick(vpnsdk::HandshakeMessages& out) {
  try {
    const auto now = ctx_->now();
    const auto limit = ctx_->cfg.reject_after;
    if (previous_ && now - previous_->born() >= limit) drop(previous_);
    if (next_ && now - next_->born() >= limit) drop(next_);
    if (!established_) return {};
    if (current_ && now - current_->born() >= limit) {
      drop(current_);
      ++ctx_->n.keys_expired;
      return Status::error(Code::session_fatal,
                           "keys reached reject_after_seconds (" + std::to_string(limit.count()) +
                               " s) without a new handshake");
    }
    if (!current_) return Status::error(Code::session_fatal, "no keys");
    if (!initiator()) {
      if (!confirmed_) return {};  // the host's handshake_timeout ends it if no HELLO comes
      auto it = ctx_->owner.find(*peer_key_);
      if (it == ctx_->owner.end() || it->second != serial_) {
        ++ctx_->n.sessions_replaced;
        return Status::error(Code::session_fatal, "replaced by a newer session of client '" + client_->name + "'");
      }
      return {};
    }
    if (pending_) {
      if (now - pending_since_ >= kRekeyTimeout) {
        ++ctx_->n.rekey_retries;
        return send_initiation(out);
      }
      return {};
    }
    if (now - current_->born() >= ctx_->cfg.rekey_after || current_->sent() >= kRekeyAfterMessages) {
      key_id_ = static_cast<std::uint8_t>(current_->id() + 1);
      return send_initiation(out);
    }
    return {};
  } catch (const std::exception& e) {
    return Status::error(Code::internal, std::string("cipher_noise: tick: ") + e.what());
  }
}

Status NoiseSession::seal(vpnsdk::PacketBuffer& buf) {
  if (!established_ || !current_) return Status::error(Code::internal, "cipher_noise: seal before the handshake");
  const std::size_t len = buf.size();
  auto* header = reinterpret_cast<std::uint8_t*>(buf.push(kFrameHeader));
  if (header == nullptr) return Status::error(Code::internal, "cipher_noise: no headroom for the frame header");
  auto* tag = reinterpret_cast<std::uint8_t*>(buf.put(kTagLen));
  if (tag == nullptr) {
    buf.pull(kFrameHeader);
    return Status::error(Code::internal, "cipher_noise: no tailroom for the tag");
  }
  if (!current_->seal(buf.meta.frame_type, header, header + kFrameHeader, len, tag)) {
    buf.pull(kFrameHeader);
    buf.trim(len);
    return Status::error(Code::session_fatal, "cipher_noise: send counter exhausted");
  }
  ++ctx_->n.frames_sealed;
  return {};
}

Status NoiseSession::open(vpnsdk::PacketBuffer& buf) {
  if (!established_) return Status::error(Code::drop_auth, "cipher_noise: frame before the handshake");
  if (buf.size() < kFrameOverhead) {
    ++ctx_->n.short_frame;
    return Status::error(Code::drop_malformed, "sealed frame shorter than header and tag");
  }
  auto* header = reinterpret_cast<std::uint8_t*>(buf.data());
  Keypair* k = keys_for(header[0]);
  if (k == nullptr) {
    ++ctx_->n.unknown_key_id;
    return Status::error(Code::drop_auth, "frame for keys this session does not hold");
  }
  const std::size_t len = buf.size() - kFrameOverhead;
  switch (k->open(buf.meta.frame_type, header, header + kFrameHeader, len, header + kFrameHeader + len)) {
    case Keypair::OpenResult::ok:
      break;
    case Keypair::OpenResult::replayed:
      ++ctx_->n.replayed;
      return Status::error(Code::drop_malformed, "replayed frame");
    case Keypair::OpenResult::too_old:
      ++ctx_->n.too_old;
      return Status::error(Code::drop_malformed, "frame counter behind the replay window");
    case Keypair::OpenResult::bad_tag:
      ++ctx_->n.bad_tag;
      return Status::error(Code::drop_auth, "frame failed authentication");
  }
  if (k == next_.get()) promote_next();
  if (!initiator() && !confirmed_) confirm();
  buf.pull(kFrameHeader);
  buf.trim(len);
  ++ctx_->n.frames_opened;
  return {};
}

std::optional<vpnsdk::PeerIdentity> NoiseSession::peer() const {
  try {
    vpnsdk::PeerIdentity id;
    if (initiator()) {
      if (!ctx_->cfg.server) return std::nullopt;
      id.name = "server";
      id.public_key.assign(ctx_->cfg.server->begin(), ctx_->cfg.server->end());
      return id;
    }
    if (!client_ || !peer_key_ || !confirmed_) return std::nullopt;
    id.name = client_->name;
    id.public_key.assign(peer_key_->begin(), peer_key_->end());
    id.fixed_address = client_->fixed_address;
    return id;
  } catch (...) {
    return std::nullopt;
  }
}

bool NoiseSession::revoked() const {
  if (initiator() || !established_ || !peer_key_ || !ctx_->cfg.clients) return false;
  return ctx_->cfg.clients->find(*peer_key_) == nullptr;
}

}  // namespace cipher_noise
