// Noise HandshakeState (spec rev 34, section 5.3) for the patterns this
// plugin uses (IK, IKpsk2) and the ones the published test vectors cover
// (NN, XX). Token processing follows the spec literally, including the PSK
// rule of section 9.2: in a psk handshake every `e` token also calls
// MixKey(e.public_key).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "symmetric_state.hpp"

namespace cipher_noise {

enum class Token { e, s, ee, es, se, ss, psk };

struct Pattern {
  std::string name;                         // "IK", "IKpsk2", ...
  std::vector<Token> pre_initiator;         // pre-message keys of the initiator
  std::vector<Token> pre_responder;         // ... and of the responder
  std::vector<std::vector<Token>> messages; // initiator sends messages 0, 2, ...
  bool psk = false;                         // a psk modifier is present
};

const Pattern& pattern_ik();
const Pattern& pattern_ikpsk2();
const Pattern& pattern_nn();
const Pattern& pattern_xx();

// "Noise_<pattern>_25519_ChaChaPoly_BLAKE2b"
std::string protocol_name(const Pattern& p);

struct HandshakeConfig {
  const Pattern* pattern = nullptr;
  bool initiator = true;
  Bytes prologue;
  std::optional<DhKeyPair> s;   // local static key pair
  std::optional<DhKeyPair> e;   // a fixed ephemeral (test vectors only); empty: generated
  std::optional<PublicKey> rs;  // remote static public key known in advance
  std::optional<PublicKey> re;  // remote ephemeral known in advance
  std::vector<Key> psks;        // consumed in order by psk tokens

  HandshakeConfig clone() const;
};

class HandshakeState {
 public:
  // Initialize(): throws std::invalid_argument when a key the pattern needs
  // is missing.
  explicit HandshakeState(HandshakeConfig cfg);
  // A copy of this state, its keys in slots of their own.
  HandshakeState clone() const { return HandshakeState(*this, Clone{}); }

  // WriteMessage(payload, message_buffer): appends the message to `out`.
  // False on failure (the handshake is then unusable); error() says why.
  bool write_message(View payload, Bytes& out);
  // ReadMessage(message, payload_buffer): appends the payload to `payload`.
  bool read_message(View message, Bytes& payload);

  bool finished() const noexcept { return index_ >= cfg_.pattern->messages.size(); }
  bool initiator() const noexcept { return cfg_.initiator; }
  const std::optional<PublicKey>& remote_static() const noexcept { return cfg_.rs; }
  const HashValue& handshake_hash() const noexcept { return ss_.handshake_hash(); }
  const std::string& error() const noexcept { return error_; }

  // After the last message: Split() = (c1 initiator->responder, c2 responder->initiator).
  std::pair<CipherState, CipherState> split() const { return ss_.split(); }

 private:
  struct Clone {};
  HandshakeState(const HandshakeState& o, Clone);
  bool fail(std::string why);
  bool mix_dh(const Key& priv, const std::optional<PublicKey>& pub, const char* token);
  bool next_psk();
  bool process_dh(Token t);

  HandshakeConfig cfg_;
  SymmetricState ss_;
  std::size_t index_ = 0;
  std::size_t psk_index_ = 0;
  bool failed_ = false;
  std::string error_;
};

}  // namespace cipher_noise
