#include "control.hpp"

#include <algorithm>

#include "vpnsdk/wire.hpp"

namespace transport_udp {

namespace {

using FT = vpnsdk::wire::FrameType;
constexpr std::uint8_t t(FT f) { return static_cast<std::uint8_t>(f); }

bool same(const Bytes& a, std::span<const std::byte> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

bool ControlState::on_send(std::uint8_t type, std::span<const std::byte> datagram) {
  if (role_ == vpnsdk::Role::initiator) {
    // A HANDSHAKE after WELCOME is a rekey: the cipher retries those itself.
    if (type == t(FT::hello) || (type == t(FT::handshake) && !welcomed_)) {
      rtx_.assign(datagram.begin(), datagram.end());
      rtx_type_ = type;
      return true;
    }
    return false;
  }
  if (type == t(FT::welcome)) welcome_sent_ = true;
  if (type == t(FT::welcome) || type == t(FT::reject) || type == t(FT::handshake)) {
    Seen& s = seen_[latest_];
    if (any_seen_ && !s.replied) {
      s.reply.assign(datagram.begin(), datagram.end());
      s.replied = true;
    }
  }
  return false;
}

ControlState::Verdict ControlState::on_receive(std::uint8_t type, std::span<const std::byte> datagram,
                                               std::span<const std::byte>& resend) {
  resend = {};
  if (type == t(FT::bye)) {
    if (same(last_bye_in_, datagram)) return Verdict::duplicate;
    last_bye_in_.assign(datagram.begin(), datagram.end());
  }
  if (role_ == vpnsdk::Role::initiator) {
    switch (static_cast<FT>(type)) {
      case FT::handshake:
        if (same(last_handshake_in_, datagram)) return Verdict::duplicate;
        last_handshake_in_.assign(datagram.begin(), datagram.end());
        if (rtx_type_ == t(FT::handshake)) rtx_.clear();
        return Verdict::deliver;
      case FT::welcome:
        if (welcomed_) return Verdict::duplicate;
        welcomed_ = true;
        rtx_.clear();
        return Verdict::deliver;
      case FT::reject:
      case FT::bye:
        rtx_.clear();
        return Verdict::deliver;
      case FT::data:
        return welcomed_ ? Verdict::deliver : Verdict::early;
      default:
        return Verdict::deliver;
    }
  }
  if (type == t(FT::hello) || type == t(FT::handshake)) {
    if (any_seen_) {
      const Seen& last = seen_[latest_];
      if (same(last.in, datagram)) {
        if (!confirmed_ && last.replied && resends_ < kMaxResends) {
          ++resends_;
          resend = last.reply;
        }
        return Verdict::duplicate;
      }
      if (same(seen_[1 - latest_].in, datagram)) return Verdict::duplicate;
      latest_ = 1 - latest_;
    }
    any_seen_ = true;
    Seen& s = seen_[latest_];
    s.in.assign(datagram.begin(), datagram.end());
    s.reply.clear();
    s.replied = false;
    return Verdict::deliver;
  }
  if (welcome_sent_) confirmed_ = true;
  return Verdict::deliver;
}

}  // namespace transport_udp
