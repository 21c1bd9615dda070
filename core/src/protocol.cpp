#include "vpnhost/protocol.hpp"

#include <cstring>

#include "vpnsdk/ipv4.hpp"

namespace vpnhost::protocol {
namespace {

using vpnsdk::ipv4::load16;
using vpnsdk::ipv4::load32;

enum Tlv : std::uint8_t { tlv_dns = 1 };

class Writer {
 public:
  void magic() { for (char c : kMagic) out_.push_back(std::byte(c)); }
  void u8(std::uint8_t v) { out_.push_back(std::byte{v}); }
  void u16(std::uint16_t v) { u8(static_cast<std::uint8_t>(v >> 8)); u8(static_cast<std::uint8_t>(v)); }
  void u32(std::uint32_t v) { u16(static_cast<std::uint16_t>(v >> 16)); u16(static_cast<std::uint16_t>(v)); }
  void text(const std::string& s) {
    const std::size_t n = s.size() < kMaxReasonText ? s.size() : kMaxReasonText;
    // What we send must pass our own decoder: control characters become spaces.
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      out_.push_back(std::byte(c < 0x20 || c == 0x7f ? ' ' : c));
    }
  }
  Bytes take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(View in) : in_(in) {}
  bool magic() {
    if (in_.size() - pos_ < 4 || std::memcmp(in_.data() + pos_, kMagic, 4) != 0) return false;
    pos_ += 4;
    return true;
  }
  bool u8(std::uint8_t& v) {
    if (left() < 1) return false;
    v = std::to_integer<std::uint8_t>(in_[pos_++]);
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (left() < 2) return false;
    v = load16(in_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (left() < 4) return false;
    v = load32(in_.data() + pos_);
    pos_ += 4;
    return true;
  }
  View rest() const { return in_.subspan(pos_); }
  std::size_t left() const { return in_.size() - pos_; }
  void skip(std::size_t n) { pos_ += n; }

 private:
  View in_;
  std::size_t pos_ = 0;
};

// Reason text must be printable UTF-8-ish: we keep it as bytes but refuse
// control characters so a peer cannot inject terminal escapes into logs.
std::string read_text(View v, std::string& out) {
  if (v.size() > kMaxReasonText) return "reason text longer than 200 bytes";
  out.clear();
  for (std::byte b : v) {
    auto c = std::to_integer<unsigned char>(b);
    if (c < 0x20 || c == 0x7f) return "reason text contains control characters";
    out.push_back(static_cast<char>(c));
  }
  return "";
}

}  // namespace

bool is_lasting(RejectCode c) noexcept {
  return c == RejectCode::version || c == RejectCode::auth || c == RejectCode::protocol;
}

const char* reject_code_name(RejectCode c) noexcept {
  switch (c) {
    case RejectCode::pool_full: return "pool full";
    case RejectCode::version: return "version";
    case RejectCode::auth: return "auth";
    case RejectCode::busy: return "busy";
    case RejectCode::protocol: return "protocol";
  }
  return "unknown code";
}

const char* bye_reason_name(ByeReason r) noexcept {
  switch (r) {
    case ByeReason::shutdown: return "shutdown";
    case ByeReason::restart: return "restart";
    case ByeReason::timeout: return "timeout";
    case ByeReason::leaving: return "leaving";
  }
  return "unknown";
}

Bytes encode(const Hello& m) {
  Writer w;
  w.magic();
  w.u16(m.version);
  w.u16(0);  // flags
  w.u16(m.max_body);
  w.u16(m.requested_mtu);
  return w.take();
}

Bytes encode(const Welcome& m) {
  Writer w;
  const auto& a = m.assignment;
  w.magic();
  w.u16(m.version);
  w.u8(a.prefix_len);
  w.u8(0);
  w.u32(a.address);
  w.u32(a.server);
  w.u16(a.mtu);
  w.u16(a.keepalive_s);
  w.u16(a.timeout_s);
  w.u16(m.max_body);
  for (std::uint32_t dns : a.dns) {
    w.u8(tlv_dns);
    w.u8(4);
    w.u32(dns);
  }
  return w.take();
}

Bytes encode(const Reject& m) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(m.code));
  w.text(m.reason);
  return w.take();
}

Bytes encode(const Bye& m) {
  Writer w;
  w.u8(static_cast<std::uint8_t>(m.reason));
  w.text(m.text);
  return w.take();
}

std::string decode(View body, Hello& out) {
  Reader r(body);
  std::uint16_t flags = 0;
  if (!r.magic()) return "HELLO without the VPNH magic (wrong key or not a vpnhost client)";
  if (!r.u16(out.version) || !r.u16(flags) || !r.u16(out.max_body) || !r.u16(out.requested_mtu))
    return "HELLO too short";
  if (flags != 0) return "HELLO with unknown flags";
  // Later versions may append fields; v1 ignores trailing bytes.
  return "";
}

std::string decode(View body, Welcome& out) {
  Reader r(body);
  auto& a = out.assignment;
  std::uint8_t reserved = 0;
  if (!r.magic()) return "WELCOME without the VPNH magic (wrong key or not a vpnhost server)";
  if (!r.u16(out.version) || !r.u8(a.prefix_len) || !r.u8(reserved) || !r.u32(a.address) || !r.u32(a.server) ||
      !r.u16(a.mtu) || !r.u16(a.keepalive_s) || !r.u16(a.timeout_s) || !r.u16(out.max_body))
    return "WELCOME too short";
  if (a.prefix_len < 1 || a.prefix_len > 30) return "WELCOME with an invalid prefix length";
  if (a.mtu < 576) return "WELCOME with an MTU below 576";
  a.dns.clear();
  while (r.left() > 0) {
    std::uint8_t type = 0, len = 0;
    if (!r.u8(type) || !r.u8(len) || r.left() < len) return "WELCOME with a truncated option";
    if (type == tlv_dns) {
      if (len != 4) return "WELCOME with a malformed DNS option";
      std::uint32_t dns = 0;
      r.u32(dns);
      if (a.dns.size() < 8) a.dns.push_back(dns);
    } else {
      r.skip(len);  // unknown options are skipped: forward compatibility
    }
  }
  return "";
}

std::string decode(View body, Reject& out) {
  Reader r(body);
  std::uint8_t code = 0;
  if (!r.u8(code)) return "empty REJECT";
  if (code == 0) return "REJECT with code 0";
  out.code = static_cast<RejectCode>(code);  // unknown codes: transient (see is_lasting)
  return read_text(r.rest(), out.reason);
}

std::string decode(View body, Bye& out) {
  Reader r(body);
  std::uint8_t reason = 0;
  if (!r.u8(reason)) return "empty BYE";
  out.reason = static_cast<ByeReason>(reason);  // unknown reasons: like "restart" (come back)
  return read_text(r.rest(), out.text);
}

}  // namespace vpnhost::protocol
