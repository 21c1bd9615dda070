// One vpnhost session under cipher_noise: the IK handshake (initiator =
// client, responder = server), the key epochs (current, previous, and on the
// server the unconfirmed next), rekeying, and sealing/opening frames.
//
// Key epochs: every handshake yields a Keypair named by a 1-byte key id
// that the initiator chooses and sends inside the (encrypted) initiation
// payload. Every sealed frame starts with the key id, so the receiver picks
// the right keys without trial decryption.
//
// Rekey: the client starts a new handshake (a new initiation on the same
// connection) once its current keys are rekey_after_seconds old or have
// sealed 2^60 frames, and sends it again every 5 s until answered. On the
// response it switches to the new keys at once, keeps the previous ones to
// open frames still in flight, and sends a key confirmation (an empty
// sealed body, as a HANDSHAKE frame). The server keeps sending with its
// current keys until the new ones are confirmed (by that confirmation or
// any frame sealed with them), then switches. Every key pair is wiped
// reject_after_seconds after its handshake; a session whose current keys
// reach that age ends.
//
// Server, before the keys of a handshake are trusted: the responder of
// IKpsk2 cannot check the psk when it reads the initiation (psk2 is mixed
// into its response), and a recorded initiation can be replayed on a new
// connection before the real one is answered. So a new session of a client
// key is *unconfirmed* until a frame from the client opens with its keys
// (its HELLO): only then does it speak for the key (ctx->owner; the older
// session of that key ends at its next tick), count as the client's
// session, move the key's replay timestamp, and return peer(). A rekey's
// keys likewise wait as next_ until confirmed.
//
// On an established session, an initiation that fails any check (MACs,
// rate limit, decryption, another key, a replay) is dropped and counted
// (Code::again): it never ends the session or touches its keys. Before
// that, every refusal is the same Code::session_fatal with nothing sent.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "cookie.hpp"
#include "ik_handshake.hpp"
#include "noise_context.hpp"
#include "vpnsdk/cipher.hpp"

namespace cipher_noise {

class NoiseSession final : public vpnsdk::CipherSession {
 public:
  NoiseSession(std::shared_ptr<NoiseContext> ctx, const vpnsdk::SessionInfo& info);
  ~NoiseSession() override;
  NoiseSession(const NoiseSession&) = delete;
  NoiseSession& operator=(const NoiseSession&) = delete;

  vpnsdk::Status start(vpnsdk::HandshakeMessages& out) override;
  vpnsdk::Status handshake(std::span<const std::byte> in, vpnsdk::HandshakeMessages& out) override;
  vpnsdk::Status tick(vpnsdk::HandshakeMessages& out) override;
  bool established() const override { return established_; }
  vpnsdk::Status seal(vpnsdk::PacketBuffer& buf) override;
  vpnsdk::Status open(vpnsdk::PacketBuffer& buf) override;
  std::optional<vpnsdk::PeerIdentity> peer() const override;
  // Server: true once a reload removed the client's key from authorized_clients.
  bool revoked() const override;

  // Introspection for tests.
  const Keypair* current_keys() const noexcept { return current_.get(); }
  Keypair* current_keys() noexcept { return current_.get(); }
  const Keypair* previous_keys() const noexcept { return previous_.get(); }
  const Keypair* next_keys() const noexcept { return next_.get(); }
  bool rekey_pending() const noexcept { return pending_ != nullptr; }
  bool confirmed() const noexcept { return confirmed_; }

 private:
  bool initiator() const noexcept { return info_.role == vpnsdk::Role::initiator; }
  std::string who() const;
  vpnsdk::Status send_initiation(vpnsdk::HandshakeMessages& out);
  vpnsdk::Status on_response(View in, vpnsdk::HandshakeMessages& out);
  vpnsdk::Status on_initiation(View in, vpnsdk::HandshakeMessages& out);
  vpnsdk::Status on_confirmation(View in);
  vpnsdk::Status on_cookie_reply(View in, vpnsdk::HandshakeMessages& out);
  // A failure before the session is established ends it; afterwards the
  // message is ignored (and counted in ignored_on_session).
  vpnsdk::Status refuse(const std::string& why);
  // Server: the first frame from the client opened with the keys of the
  // session's handshake.
  void confirm();
  Keypair* keys_for(std::uint8_t id) noexcept;
  void promote_next();
  void drop(std::unique_ptr<Keypair>& k) noexcept;

  std::shared_ptr<NoiseContext> ctx_;
  vpnsdk::SessionInfo info_;
  std::uint64_t serial_;
  bool established_ = false;
  bool confirmed_ = false;  // server: a frame from the client opened with the first keys
  bool initiation_sent_ = false;
  SteadyClock::time_point opened_at_;

  std::optional<PublicKey> peer_key_;
  // Server: the authenticated client's entry, copied (a reload replaces the list).
  std::optional<AuthorizedClient> client_;

  std::unique_ptr<Keypair> current_;   // seals; opens
  std::unique_ptr<Keypair> previous_;  // opens frames sealed before the last switch
  std::unique_ptr<Keypair> next_;      // server: from a rekey, not yet confirmed

  // Server: the source the session was opened from (the cookie is bound to
  // it), its rate-limit bucket (/64 for IPv6), the timestamps of the
  // initiations answered but not yet confirmed, and the session's own
  // allowance for rekeys (so that they never spend the source's bucket).
  Bytes source_;
  std::string bucket_;
  Tai64n answered_ts_{};
  Tai64n next_ts_{};
  TokenBucket allowance_;

  std::optional<CookieJar> jar_;          // client: mac1/mac2 and the server's cookie
  Bytes pending_msg_;                     // client: the Noise message of pending_ (without the MACs)
  bool cookie_resent_ = false;            // client: pending_msg_ already went out again with a cookie
  std::unique_ptr<IkInitiator> pending_;  // client: the handshake waiting for its response
  SteadyClock::time_point pending_since_;
  std::uint8_t key_id_ = 0;               // client: id of the epoch being negotiated
};

}  // namespace cipher_noise
