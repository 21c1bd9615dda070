// Cipher stage: per-session state that seals and opens frame bodies in place.
//
// A cipher may run a handshake before data flows: its messages travel as
// HANDSHAKE frames. When established() is true the host exchanges
// HELLO/WELCOME and DATA, all sealed by this session.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "vpnsdk/packet.hpp"
#include "vpnsdk/plugin.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace vpnsdk {

using HandshakeMessages = std::vector<std::vector<std::byte>>;

class VPNSDK_EXPORT CipherSession {
 public:
  virtual ~CipherSession() = default;
  // Called once when the session opens; an initiator may put its first
  // handshake message(s) into `out`.
  virtual Status start(HandshakeMessages& out) {
    (void)out;
    return {};
  }
  // A handshake message arrived; reply through `out`.
  virtual Status handshake(std::span<const std::byte> in, HandshakeMessages& out) {
    (void)in;
    (void)out;
    return Status::error(Code::session_fatal, "this cipher has no handshake");
  }
  // Called about once a second for every session: a cipher may start a
  // rekey or retransmit a lost handshake message by putting it into `out`.
  // session_fatal ends the session (e.g. keys too old and no new handshake).
  virtual Status tick(HandshakeMessages& out) {
    (void)out;
    return {};
  }
  // True once seal/open may be used.
  virtual bool established() const { return true; }
  // Encrypt the buffer's data in place; may push() in front and put() behind
  // up to the cipher's declared Overhead.
  virtual Status seal(PacketBuffer& buf) = 0;
  // Decrypt in place; Code::drop_* drops the frame, session_fatal ends the session.
  virtual Status open(PacketBuffer& buf) = 0;
  // Who was authenticated (nullopt: this cipher authenticates nobody).
  virtual std::optional<PeerIdentity> peer() const { return std::nullopt; }
  // True once a live reload withdrew the peer's authorization (e.g. its key
  // left authorized_clients); the host then ends the session.
  virtual bool revoked() const { return false; }
};

class VPNSDK_EXPORT Cipher : public Plugin {
 public:
  virtual Overhead overhead() const = 0;
  virtual Status new_session(const SessionInfo& info, std::unique_ptr<CipherSession>& out) = 0;
};

}  // namespace vpnsdk
