// What makes the HELLO/WELCOME exchange (and a cipher's handshake) survive
// lost, duplicated and reordered datagrams. Pure per-session logic, no I/O:
// the session feeds it every frame it sends and receives and acts on the
// answers (retransmit, resend a reply, drop).
//
// Initiator (client):
//  - the last HELLO it sent, and a HANDSHAKE it sent before WELCOME, is
//    retransmitted (by the session's timer) until the peer answers it: a new
//    HANDSHAKE answers a HANDSHAKE; WELCOME, REJECT or BYE answer a HELLO;
//  - a second WELCOME, and a HANDSHAKE identical to the last one received,
//    are duplicates: dropped;
//  - DATA before WELCOME is dropped ("early"): WELCOME was lost or overtaken,
//    and the retransmitted HELLO will fetch it again.
// Responder (server):
//  - a HELLO or HANDSHAKE identical to the last one received is a
//    duplicate: not passed on (the host would see "HELLO twice"); if the
//    peer has not yet shown that it got our answer (any other frame after
//    WELCOME), our answer (WELCOME, REJECT or HANDSHAKE) is sent again;
//  - a duplicate of the one before is dropped too (a late copy).
// Both:
//  - BYE is sent twice (nothing answers it); the copy, identical to the BYE
//    just received, is dropped.
// The server never retransmits on its own timer: it answers at most as
// often as it is asked, so a spoofed source gains no amplification.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vpnsdk/session.hpp"

namespace transport_udp {

using Bytes = std::vector<std::byte>;

inline constexpr unsigned kMaxResends = 8;  // replies sent again per session at most

class ControlState {
 public:
  enum class Verdict { deliver, duplicate, early };

  explicit ControlState(vpnsdk::Role role) : role_(role) {}

  // A frame (the whole datagram) is being sent. True: it is now the frame to
  // retransmit (arm the timer).
  bool on_send(std::uint8_t type, std::span<const std::byte> datagram);
  // A frame (the whole datagram) arrived. `resend` is set to a reply to send
  // again (empty: none).
  Verdict on_receive(std::uint8_t type, std::span<const std::byte> datagram, std::span<const std::byte>& resend);

  // The datagram to retransmit now (empty: nothing pending).
  std::span<const std::byte> pending() const noexcept { return rtx_; }
  void answered() noexcept { rtx_.clear(); }
  bool welcomed() const noexcept { return welcomed_; }
  bool confirmed() const noexcept { return confirmed_; }

 private:
  struct Seen {
    Bytes in;     // a HELLO/HANDSHAKE datagram received
    Bytes reply;  // our first WELCOME/REJECT/HANDSHAKE after it
    bool replied = false;
  };

  vpnsdk::Role role_;
  // initiator
  Bytes rtx_;
  std::uint8_t rtx_type_ = 0;
  Bytes last_handshake_in_;
  bool welcomed_ = false;
  // both
  Bytes last_bye_in_;
  // responder
  std::array<Seen, 2> seen_{};  // seen_[latest_] is the latest
  std::size_t latest_ = 0;
  bool any_seen_ = false;
  bool welcome_sent_ = false;
  bool confirmed_ = false;
  unsigned resends_ = 0;
};

}  // namespace transport_udp
