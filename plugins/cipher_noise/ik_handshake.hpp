// vpnhost's use of Noise_IK_25519_ChaChaPoly_BLAKE2b (or Noise_IKpsk2_...
// when a pre-shared key is configured):
//
//   <- s
//   ...
//   -> e, es, s, ss          initiation (109 bytes + mac1 16 + mac2 16 = 141), payload = TAI64N (12) || key id (1)
//   <- e, ee, se [, psk]     response   (48 bytes),  payload empty
//   <- cookie reply          (56 bytes, instead of the response when the server is under load; cookie.hpp)
//
// prologue = "vpnhost-noise-v2" (v1 had no mac1/mac2). Split() gives c1
// (client -> server) and c2 (server -> client); the key id names the pair
// in every transport frame. This file handles the Noise message only; the
// MACs are added and checked by cookie.hpp.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "handshake_state.hpp"
#include "tai64n.hpp"
#include "transport_keys.hpp"

namespace cipher_noise {

inline constexpr char kPrologue[] = "vpnhost-noise-v2";
inline constexpr std::size_t kInitiationPayload = 12 + 1;
// The Noise message of the initiation ...
inline constexpr std::size_t kInitiationNoiseSize =
    kDhLen + (kDhLen + kTagLen) + (kInitiationPayload + kTagLen);  // 109
// ... and the whole initiation on the wire: Noise message || mac1 || mac2.
inline constexpr std::size_t kInitiationSize = kInitiationNoiseSize + 16 + 16;  // 141
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
  // Writes the initiation's Noise message (109 bytes) into `out`.
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
  // `msg`: the Noise message (109 bytes, without the MACs).
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
