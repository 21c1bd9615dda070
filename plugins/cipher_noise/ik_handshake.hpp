// vpnhost's use of Noise_IK_25519_ChaChaPoly_BLAKE2b (or Noise_IKpsk2_...
// when a pre-shared key is configured):
//
//   <- s
//   ...
//   -> e, es, s, ss          initiation (109 bytes), payload = TAI64N (12) || key id (1)
//   <- e, ee, se [, psk]     response   (48 bytes),  payload empty
//
// prologue = "vpnhost-noise-v1". Split() gives c1 (client -> server) and c2
// (server -> client); the key id names the pair in every transport frame.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "handshake_state.hpp"
#include "tai64n.hpp"
#include "transport_keys.hpp"

namespace cipher_noise {

inline constexpr char kPrologue[] = "vpnhost-noise-v1";
inline constexpr std::size_t kInitiationPayload = 12 + 1;
inline constexpr std::size_t kInitiationSize = kDhLen + (kDhLen + kTagLen) + (kInitiationPayload + kTagLen);  // 109
inline constexpr std::size_t kResponseSize = kDhLen + kTagLen;                                                 // 48
// A key confirmation (the initiator's first frame with new keys after a
// rekey): an empty sealed body, sent as a HANDSHAKE frame.
inline constexpr std::size_t kConfirmationSize = kFrameOverhead;                                               // 25

struct Initiation {
  Tai64n timestamp{};
  std::uint8_t key_id = 0;
};

// The initiator's side of one handshake.
class IkInitiator {
 public:
  // `fixed_e` only for tests; normally a fresh ephemeral is generated.
  IkInitiator(const DhKeyPair& self, const PublicKey& server, const Key* psk,
              const std::optional<DhKeyPair>& fixed_e = std::nullopt);
  // Writes the initiation message into `out`.
  bool write_initiation(const Initiation& init, Bytes& out);
  // Reads the response; on success fills `keys` (send = c1, recv = c2). A
  // response that fails leaves this object unchanged.
  bool read_response(View msg, SessionKeys& keys);
  const std::string& error() const { return error_.empty() ? hs_.error() : error_; }
  const Initiation& sent() const { return sent_; }

 private:
  HandshakeState hs_;
  Initiation sent_;
  std::string error_;
};

// The responder's side: read the initiation, let the caller decide whether
// the client is welcome, then write the response.
class IkResponder {
 public:
  IkResponder(const DhKeyPair& self, const Key* psk, const std::optional<DhKeyPair>& fixed_e = std::nullopt);
  // False when the message is not a well-formed initiation for this
  // server's key (and psk). On success: the client's static key and payload.
  bool read_initiation(View msg, PublicKey& client, Initiation& init);
  // Writes the response; on success fills `keys` (send = c2, recv = c1).
  bool write_response(Bytes& out, SessionKeys& keys);
  const std::string& error() const { return hs_.error(); }

 private:
  HandshakeState hs_;
};

}  // namespace cipher_noise
