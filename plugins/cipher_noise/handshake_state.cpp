#include "handshake_state.hpp"

#include <stdexcept>

namespace cipher_noise {

const Pattern& pattern_ik() {
  static const Pattern p{"IK",
                         {},
                         {Token::s},
                         {{Token::e, Token::es, Token::s, Token::ss}, {Token::e, Token::ee, Token::se}},
                         false};
  return p;
}

const Pattern& pattern_ikpsk2() {
  static const Pattern p{"IKpsk2",
                         {},
                         {Token::s},
                         {{Token::e, Token::es, Token::s, Token::ss}, {Token::e, Token::ee, Token::se, Token::psk}},
                         true};
  return p;
}

const Pattern& pattern_nn() {
  static const Pattern p{"NN", {}, {}, {{Token::e}, {Token::e, Token::ee}}, false};
  return p;
}

const Pattern& pattern_xx() {
  static const Pattern p{"XX",
                         {},
                         {},
                         {{Token::e}, {Token::e, Token::ee, Token::s, Token::es}, {Token::s, Token::se}},
                         false};
  return p;
}

std::string protocol_name(const Pattern& p) { return "Noise_" + p.name + "_25519_ChaChaPoly_BLAKE2b"; }

HandshakeConfig HandshakeConfig::clone() const {
  HandshakeConfig c;
  c.pattern = pattern;
  c.initiator = initiator;
  c.prologue = prologue;
  if (s) c.s = s->clone();
  if (e) c.e = e->clone();
  c.rs = rs;
  c.re = re;
  for (const Key& k : psks) c.psks.push_back(k.clone());
  return c;
}

HandshakeState::HandshakeState(const HandshakeState& o, Clone)
    : cfg_(o.cfg_.clone()),
      ss_(o.ss_.clone()),
      index_(o.index_),
      psk_index_(o.psk_index_),
      failed_(o.failed_),
      error_(o.error_) {}

HandshakeState::HandshakeState(HandshakeConfig cfg) : cfg_(std::move(cfg)), ss_(protocol_name(*cfg_.pattern)) {
  const Pattern& p = *cfg_.pattern;
  ss_.mix_hash(cfg_.prologue);
  // Pre-messages: the initiator's keys first, then the responder's.
  auto premessage = [&](const std::vector<Token>& tokens, bool of_initiator) {
    const bool mine = of_initiator == cfg_.initiator;
    for (Token t : tokens) {
      if (t == Token::s) {
        if (mine && !cfg_.s) throw std::invalid_argument("pattern needs the local static key in advance");
        if (!mine && !cfg_.rs) throw std::invalid_argument("pattern needs the remote static key in advance");
        ss_.mix_hash(mine ? View(cfg_.s->pub) : View(*cfg_.rs));
      } else if (t == Token::e) {
        if (mine && !cfg_.e) throw std::invalid_argument("pattern needs the local ephemeral key in advance");
        if (!mine && !cfg_.re) throw std::invalid_argument("pattern needs the remote ephemeral key in advance");
        const View pub = mine ? View(cfg_.e->pub) : View(*cfg_.re);
        ss_.mix_hash(pub);
        if (p.psk) ss_.mix_key(pub);
      }
    }
  };
  premessage(p.pre_initiator, true);
  premessage(p.pre_responder, false);
}

bool HandshakeState::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  return false;
}

bool HandshakeState::mix_dh(const Key& priv, const std::optional<PublicKey>& pub, const char* token) {
  if (!pub) return fail(std::string("token ") + token + " without the remote key");
  Key shared;
  if (!dh(priv, *pub, shared)) return fail(std::string("token ") + token + ": the remote key is a low-order point");
  ss_.mix_key(shared.view());
  return true;
}

bool HandshakeState::next_psk() {
  if (psk_index_ >= cfg_.psks.size()) return fail("psk token without a pre-shared key");
  ss_.mix_key_and_hash(cfg_.psks[psk_index_++].view());
  return true;
}

bool HandshakeState::process_dh(Token t) {
  const bool ini = cfg_.initiator;
  switch (t) {
    case Token::ee:
      if (!cfg_.e) return fail("token ee without a local ephemeral key");
      return mix_dh(cfg_.e->priv, cfg_.re, "ee");
    case Token::es:  // initiator: DH(e, rs); responder: DH(s, re)
      if (ini ? !cfg_.e : !cfg_.s) return fail("token es without the local key");
      return ini ? mix_dh(cfg_.e->priv, cfg_.rs, "es") : mix_dh(cfg_.s->priv, cfg_.re, "es");
    case Token::se:  // initiator: DH(s, re); responder: DH(e, rs)
      if (ini ? !cfg_.s : !cfg_.e) return fail("token se without the local key");
      return ini ? mix_dh(cfg_.s->priv, cfg_.re, "se") : mix_dh(cfg_.e->priv, cfg_.rs, "se");
    case Token::ss:
      if (!cfg_.s) return fail("token ss without a local static key");
      return mix_dh(cfg_.s->priv, cfg_.rs, "ss");
    case Token::psk:
      return next_psk();
    default:
      return fail("not a DH token");
  }
}

bool HandshakeState::write_message(View payload, Bytes& out) {
  if (failed_) return fail("the handshake already failed");
  if (finished()) return fail("the handshake is complete");
  const bool initiator_turn = index_ % 2 == 0;
  if (initiator_turn != cfg_.initiator) return fail("not this side's turn to write");
  for (Token t : cfg_.pattern->messages[index_]) {
    switch (t) {
      case Token::e: {
        if (!cfg_.e) cfg_.e = generate_keypair();
        out.insert(out.end(), cfg_.e->pub.begin(), cfg_.e->pub.end());
        ss_.mix_hash(cfg_.e->pub);
        if (cfg_.pattern->psk) ss_.mix_key(cfg_.e->pub);
        break;
      }
      case Token::s:
        if (!cfg_.s) return fail("token s without a local static key");
        if (!ss_.encrypt_and_hash(cfg_.s->pub, out)) return fail("cannot encrypt the static key");
        break;
      default:
        if (!process_dh(t)) return false;
    }
  }
  if (!ss_.encrypt_and_hash(payload, out)) return fail("cannot encrypt the payload");
  ++index_;
  return true;
}

bool HandshakeState::read_message(View message, Bytes& payload) {
  if (failed_) return fail("the handshake already failed");
  if (finished()) return fail("the handshake is complete");
  const bool initiator_turn = index_ % 2 == 0;
  if (initiator_turn == cfg_.initiator) return fail("not this side's turn to read");
  std::size_t pos = 0;
  auto take = [&](std::size_t n, View& out) {
    if (message.size() - pos < n) return false;
    out = message.subspan(pos, n);
    pos += n;
    return true;
  };
  for (Token t : cfg_.pattern->messages[index_]) {
    switch (t) {
      case Token::e: {
        if (cfg_.re) return fail("remote ephemeral key already set");
        View re;
        if (!take(kDhLen, re)) return fail("message too short for the ephemeral key");
        PublicKey k{};
        std::copy(re.begin(), re.end(), k.begin());
        cfg_.re = k;
        ss_.mix_hash(re);
        if (cfg_.pattern->psk) ss_.mix_key(re);
        break;
      }
      case Token::s: {
        if (cfg_.rs) return fail("remote static key already set");
        View enc;
        if (!take(ss_.has_key() ? kDhLen + kTagLen : kDhLen, enc)) return fail("message too short for the static key");
        Bytes rs;
        if (!ss_.decrypt_and_hash(enc, rs)) return fail("the static key does not decrypt");
        PublicKey k{};
        std::copy(rs.begin(), rs.end(), k.begin());
        cfg_.rs = k;
        break;
      }
      default:
        if (!process_dh(t)) return false;
    }
  }
  Bytes plain;
  if (!ss_.decrypt_and_hash(message.subspan(pos), plain)) return fail("the payload does not decrypt");
  payload.insert(payload.end(), plain.begin(), plain.end());
  ++index_;
  return true;
}

}  // namespace cipher_noise
