#include "ik_handshake.hpp"

#include <algorithm>
#include <cstring>

namespace cipher_noise {
namespace {

HandshakeConfig ik_config(bool initiator, const DhKeyPair& self, const Key* psk, const std::optional<DhKeyPair>& e) {
  HandshakeConfig c;
  c.pattern = psk != nullptr ? &pattern_ikpsk2() : &pattern_ik();
  c.initiator = initiator;
  c.prologue.assign(kPrologue, kPrologue + sizeof kPrologue - 1);
  c.s = self.clone();
  if (e) c.e = e->clone();
  if (psk != nullptr) c.psks.push_back(psk->clone());
  return c;
}

HandshakeConfig initiator_config(const DhKeyPair& self, const PublicKey& server, const Key* psk,
                                 const std::optional<DhKeyPair>& e) {
  HandshakeConfig c = ik_config(true, self, psk, e);
  c.rs = server;
  return c;
}

void take_keys(const HandshakeState& hs, bool initiator, SessionKeys& keys) {
  auto [c1, c2] = hs.split();
  keys.send = (initiator ? c1 : c2).key().clone();
  keys.recv = (initiator ? c2 : c1).key().clone();
}

}  // namespace

IkInitiator::IkInitiator(const DhKeyPair& self, const PublicKey& server, const Key* psk,
                         const std::optional<DhKeyPair>& fixed_e)
    : hs_(initiator_config(self, server, psk, fixed_e)) {}

bool IkInitiator::write_initiation(const Initiation& init, Bytes& out) {
  std::uint8_t payload[kInitiationPayload];
  std::memcpy(payload, init.timestamp.data(), init.timestamp.size());
  payload[12] = init.key_id;
  sent_ = init;
  return hs_.write_message(View(payload, sizeof payload), out);
}

bool IkInitiator::read_response(View msg, SessionKeys& keys) {
  if (msg.size() != kResponseSize) return false;
  // Read on a copy: a response that does not authenticate (e.g. the answer
  // to an earlier initiation) leaves this handshake waiting for the right one.
  HandshakeState attempt = hs_.clone();
  Bytes payload;
  if (!attempt.read_message(msg, payload) || !payload.empty() || !attempt.finished()) {
    error_ = attempt.error();
    return false;
  }
  take_keys(attempt, true, keys);
  hs_ = std::move(attempt);
  return true;
}

IkResponder::IkResponder(const DhKeyPair& self, const Key* psk, const std::optional<DhKeyPair>& fixed_e)
    : hs_(ik_config(false, self, psk, fixed_e)) {}

bool IkResponder::read_initiation(View msg, PublicKey& client, Initiation& init) {
  if (msg.size() != kInitiationNoiseSize) return false;
  Bytes payload;
  if (!hs_.read_message(msg, payload) || payload.size() != kInitiationPayload || !hs_.remote_static()) return false;
  client = *hs_.remote_static();
  std::copy(payload.begin(), payload.begin() + 12, init.timestamp.begin());
  init.key_id = payload[12];
  return true;
}

bool IkResponder::write_response(Bytes& out, SessionKeys& keys) {
  if (!hs_.write_message(View{}, out) || !hs_.finished()) return false;
  take_keys(hs_, false, keys);
  return true;
}

}  // namespace cipher_noise
