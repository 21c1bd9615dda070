// A fake cipher: seal() appends one tag byte, open() checks and strips it,
// so a frame injected without the tag (or while `refuse_all` is set) fails
// to authenticate, and every frame the host sends can be checked for having
// been sealed. The handshake is optional: a message starting with kForged is
// refused, any other completes it. peer() names "client-<session id>" or
// (like cipher_xor) nobody.
#pragma once
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <span>
#include <vector>

#include "fault.hpp"
#include "vpnsdk/cipher.hpp"

namespace coretest {

using vpnsdk::Code;
using vpnsdk::Status;

constexpr std::byte kTag{0x5a};     // what seal() appends
constexpr std::byte kForged{0xee};  // a handshake message starting with this is refused

// The wire form of a plaintext body, as the fake cipher seals it.
inline std::vector<std::byte> sealed(std::span<const std::byte> body) {
  std::vector<std::byte> out(body.begin(), body.end());
  out.push_back(kTag);
  return out;
}
// The plaintext of a sealed body, or nullopt if it was not sealed.
inline std::optional<std::vector<std::byte>> unsealed(std::span<const std::byte> wire) {
  if (wire.empty() || wire.back() != kTag) return std::nullopt;
  return std::vector<std::byte>(wire.begin(), wire.end() - 1);
}

struct CipherBehaviour {
  bool authenticates = true;       // peer() names someone (false: as cipher_xor)
  bool has_handshake = false;      // false: the SDK's default handshake() (session_fatal), as cipher_xor
  bool starts_established = true;  // false: established once handshake() accepted a message
  int handshake_calls = 0;
  bool refuse_all = false;         // open() fails every frame ("fails to authenticate")
  Status seal_answer{};              // what seal() returns (the frame is sealed only when ok)
  Status open_answer{};              // returned by open() for a frame that did authenticate, when not ok
  Status tick_answer{};
  Status new_session_answer{};
  std::set<vpnsdk::SessionId> revoked{};  // sessions whose revoked() is true
  Faults faults{};                   // throws in "new_session", "start", "handshake", "seal", "open", "peer", ...
};

struct FakeCipherSession final : vpnsdk::CipherSession {
  CipherBehaviour& b;
  vpnsdk::SessionId id;
  bool done;
  FakeCipherSession(CipherBehaviour& behaviour, vpnsdk::SessionId session)
      : b(behaviour), id(session), done(behaviour.starts_established) {}

  Status start(vpnsdk::HandshakeMessages&) override {
    b.faults.check("start", id);
    return {};
  }
  Status handshake(std::span<const std::byte> in, vpnsdk::HandshakeMessages& out) override {
    b.faults.check("handshake", id);
    ++b.handshake_calls;
    if (!b.has_handshake) return CipherSession::handshake(in, out);
    if (in.empty() || in[0] == kForged) return Status::error(Code::session_fatal, "initiation does not authenticate");
    done = true;
    return {};
  }
  Status tick(vpnsdk::HandshakeMessages&) override {
    b.faults.check("tick", id);
    return b.tick_answer;
  }
  bool established() const override {
    b.faults.check("established", id);
    return done;
  }
  Status seal(vpnsdk::PacketBuffer& buf) override {
    b.faults.check("seal", id);
    if (!b.seal_answer.ok()) return b.seal_answer;
    std::byte* tag = buf.put(1);
    if (tag == nullptr) return Status::error(Code::internal, "no tailroom for the tag");
    *tag = kTag;
    return {};
  }
  Status open(vpnsdk::PacketBuffer& buf) override {
    b.faults.check("open", id);
    if (b.refuse_all || buf.empty() || buf.bytes().back() != kTag) return Status::error(Code::drop_auth, "bad tag");
    if (!b.open_answer.ok()) return b.open_answer;
    buf.trim(buf.size() - 1);
    return {};
  }
  std::optional<vpnsdk::PeerIdentity> peer() const override {
    b.faults.check("peer", id);
    if (!b.authenticates) return std::nullopt;
    // One peer per session (router_hub gives a key its address of last time).
    std::vector<std::uint8_t> key(8);
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(id >> (8 * i));
    return vpnsdk::PeerIdentity{"client-" + std::to_string(id), key, std::nullopt};
  }
  bool revoked() const override {
    b.faults.check("revoked", id);
    return b.revoked.count(id) != 0;
  }
};

struct FakeCipher final : vpnsdk::Cipher {
  CipherBehaviour behaviour;
  vpnsdk::Overhead overhead() const override { return {0, 1}; }
  Status new_session(const vpnsdk::SessionInfo& info, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    behaviour.faults.check("new_session", info.id);
    if (!behaviour.new_session_answer.ok()) return behaviour.new_session_answer;
    out = std::make_unique<FakeCipherSession>(behaviour, info.id);
    return {};
  }
};

}  // namespace coretest
