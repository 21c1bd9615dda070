// Transport data after a handshake: one Keypair per key epoch, holding the
// two Split() keys, a send counter and a receive replay window.
//
// Sealed frame body (every frame but HANDSHAKE):
//
//   0        1                 9                       9+len      9+len+16
//   +--------+-----------------+-----------------------+----------+
//   | key id | counter (LE u64)| ChaCha20 ciphertext   | Poly1305 |
//   +--------+-----------------+-----------------------+----------+
//
//   nonce = 4 zero bytes || counter (LE)   (Noise's ChaChaPoly nonce, n = counter)
//   ad    = frame type (1 byte) || key id || counter   (the 10 bytes that are not encrypted)
//
// The frame type (carried in the transport's own frame header) is bound
// into the tag, so turning a DATA frame into, say, a BYE breaks
// authentication instead of confusing the receiver.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "noise_primitives.hpp"
#include "replay_window.hpp"

namespace cipher_noise {

using SteadyClock = std::chrono::steady_clock;

inline constexpr std::size_t kFrameHeader = 9;                        // key id + counter
inline constexpr std::size_t kFrameOverhead = kFrameHeader + kTagLen;  // 25
inline constexpr std::uint64_t kRekeyAfterMessages = std::uint64_t{1} << 60;

// The two directions of one handshake's result.
struct SessionKeys {
  Key send;
  Key recv;
};

class Keypair {
 public:
  // Takes the keys over (their slots in the locked arena; nothing is copied).
  Keypair(std::uint8_t id, SessionKeys&& keys, SteadyClock::time_point born) noexcept
      : id_(id), send_(std::move(keys.send)), recv_(std::move(keys.recv)), born_(born) {}
  ~Keypair() { wipe(); }
  Keypair(const Keypair&) = delete;
  Keypair& operator=(const Keypair&) = delete;

  std::uint8_t id() const noexcept { return id_; }
  SteadyClock::time_point born() const noexcept { return born_; }
  std::uint64_t sent() const noexcept { return send_counter_; }

  // Seals `len` bytes at `payload` in place. `header` (9 bytes) receives the
  // key id and counter, `tag` (16 bytes) the tag. False when the send
  // counter is exhausted (nothing written).
  bool seal(std::uint8_t frame_type, std::uint8_t* header, std::uint8_t* payload, std::size_t len,
            std::uint8_t* tag) noexcept;

  enum class OpenResult { ok, replayed, too_old, bad_tag };
  // Opens a frame whose header is at `header`, ciphertext at `payload`
  // (len bytes) and tag at `tag`, in place. The window is checked before
  // and updated only after the tag verified.
  OpenResult open(std::uint8_t frame_type, const std::uint8_t* header, std::uint8_t* payload, std::size_t len,
                  const std::uint8_t* tag) noexcept;

  void wipe() noexcept {
    send_.wipe();
    recv_.wipe();
  }

 private:
  friend struct KeypairTestAccess;  // unit tests: jump the send counter
  std::uint8_t id_;
  Key send_;
  Key recv_;
  SteadyClock::time_point born_;
  std::uint64_t send_counter_ = 0;
  ReplayWindow window_;
};

}  // namespace cipher_noise
