// fuzz_protocol: the control frame bodies (core/src/protocol.cpp).
//
// Input: a frame body. It is decoded as every control type (HELLO,
// WELCOME, REJECT, BYE). For each one that decodes:
//   - encode(x) is what the body said (byte for byte where the format has
//     one spelling: the fixed fields, a REJECT, a BYE);
//   - decode(encode(x)) == x, and encoding that again gives the same bytes.
// Then the same bytes are read as field values (FuzzedDataProvider) to build
// messages from the sender's side: encode, decode, and whatever decodes
// must equal what was encoded (with the documented limits applied: reason
// text cut to 200 bytes; control characters either refused by the decoder
// or sent as spaces). Which REJECT codes and BYE reasons are accepted is
// policy and not asserted, only that a clean text never causes a refusal.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_check.hpp"
#include "vpnhost/protocol.hpp"

namespace {

namespace proto = vpnhost::protocol;
using proto::View;

bool same(const proto::Hello& a, const proto::Hello& b) {
  return a.version == b.version && a.max_body == b.max_body && a.requested_mtu == b.requested_mtu;
}
bool same(const proto::Welcome& a, const proto::Welcome& b) {
  const auto& x = a.assignment;
  const auto& y = b.assignment;
  return a.version == b.version && a.max_body == b.max_body && x.address == y.address &&
         x.prefix_len == y.prefix_len && x.server == y.server && x.mtu == y.mtu && x.keepalive_s == y.keepalive_s &&
         x.timeout_s == y.timeout_s && x.dns == y.dns;
}
bool same(const proto::Reject& a, const proto::Reject& b) { return a.code == b.code && a.reason == b.reason; }
bool same(const proto::Bye& a, const proto::Bye& b) { return a.reason == b.reason && a.text == b.text; }

View view(const proto::Bytes& b) { return View(b.data(), b.size()); }

bool printable(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
}

// Control characters replaced by spaces.
std::string spaced(std::string s) {
  for (char& c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return s;
}

// decode(encode(x)) == x and encode is stable, for an x that decoded.
template <class M>
proto::Bytes round_trip(const M& x) {
  const proto::Bytes e = proto::encode(x);
  M y;
  const std::string err = proto::decode(view(e), y);
  if (!err.empty()) std::fprintf(stderr, "re-decoding failed: %s\n", err.c_str());
  FUZZ_CHECK(err.empty());
  FUZZ_CHECK(same(x, y));
  FUZZ_CHECK(proto::encode(y) == e);
  return e;
}

void from_wire(View body) {
  {
    proto::Hello h;
    if (proto::decode(body, h).empty()) {
      const proto::Bytes e = round_trip(h);
      FUZZ_CHECK(e.size() == 12 && body.size() >= 12);  // trailing bytes are allowed (later versions)
      FUZZ_CHECK(std::equal(e.begin(), e.end(), body.begin()));
    }
  }
  {
    proto::Welcome w;
    if (proto::decode(body, w).empty()) {
      const auto& a = w.assignment;
      FUZZ_CHECK(a.prefix_len >= 1 && a.prefix_len <= 30);
      FUZZ_CHECK(a.mtu >= 576);
      FUZZ_CHECK(a.dns.size() <= 8);
      const proto::Bytes e = round_trip(w);
      FUZZ_CHECK(e.size() == 24 + 6 * a.dns.size() && body.size() >= 24);
      for (std::size_t i = 0; i < 24; ++i)  // byte 7 is reserved: sent as 0, ignored on receipt
        FUZZ_CHECK(i == 7 ? e[i] == std::byte{0} : e[i] == body[i]);
    }
  }
  {
    proto::Reject r;
    if (proto::decode(body, r).empty()) {
      FUZZ_CHECK(r.reason.size() <= proto::kMaxReasonText && printable(r.reason));
      FUZZ_CHECK(round_trip(r) == proto::Bytes(body.begin(), body.end()));
    }
  }
  {
    proto::Bye b;
    if (proto::decode(body, b).empty()) {
      FUZZ_CHECK(b.text.size() <= proto::kMaxReasonText && printable(b.text));
      FUZZ_CHECK(round_trip(b) == proto::Bytes(body.begin(), body.end()));
    }
  }
}

// Messages as a sender builds them: what decodes equals what was sent.
void from_fields(FuzzedDataProvider& in) {
  {
    proto::Hello h;
    h.version = in.ConsumeIntegral<std::uint16_t>();
    h.max_body = in.ConsumeIntegral<std::uint16_t>();
    h.requested_mtu = in.ConsumeIntegral<std::uint16_t>();
    proto::Hello got;
    FUZZ_CHECK(proto::decode(view(proto::encode(h)), got).empty());  // every HELLO is sendable
    FUZZ_CHECK(same(h, got));
  }
  {
    proto::Welcome w;
    auto& a = w.assignment;
    w.version = in.ConsumeIntegral<std::uint16_t>();
    w.max_body = in.ConsumeIntegral<std::uint16_t>();
    a.address = in.ConsumeIntegral<std::uint32_t>();
    a.prefix_len = in.ConsumeIntegral<std::uint8_t>();
    a.server = in.ConsumeIntegral<std::uint32_t>();
    a.mtu = in.ConsumeIntegral<std::uint16_t>();
    a.keepalive_s = in.ConsumeIntegral<std::uint16_t>();
    a.timeout_s = in.ConsumeIntegral<std::uint16_t>();
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 12);
    for (std::size_t i = 0; i < n; ++i) a.dns.push_back(in.ConsumeIntegral<std::uint32_t>());
    proto::Welcome got;
    const std::string err = proto::decode(view(proto::encode(w)), got);
    const bool valid = a.prefix_len >= 1 && a.prefix_len <= 30 && a.mtu >= 576;
    FUZZ_CHECK(err.empty() == valid);
    if (valid) {
      if (a.dns.size() > 8) a.dns.resize(8);  // the receiver keeps at most 8 resolvers
      FUZZ_CHECK(same(w, got));
    }
  }
  {
    proto::Reject r;
    r.code = static_cast<proto::RejectCode>(in.ConsumeIntegral<std::uint8_t>());
    r.reason = in.ConsumeRandomLengthString(300);
    proto::Reject got;
    const std::string err = proto::decode(view(proto::encode(r)), got);
    if (r.reason.size() > proto::kMaxReasonText) r.reason.resize(proto::kMaxReasonText);  // encode truncates
    if (err.empty()) {
      // Control characters arrive as spaces when the encoder cleans them.
      if (!printable(r.reason)) r.reason = spaced(r.reason);
      FUZZ_CHECK(same(r, got));
    } else if (printable(r.reason)) {
      // Which codes are accepted is policy; a clean text is never the reason.
      const proto::Reject bare{r.code, ""};
      proto::Reject ignored;
      FUZZ_CHECK(!proto::decode(view(proto::encode(bare)), ignored).empty());
    }
  }
  {
    proto::Bye b;
    b.reason = static_cast<proto::ByeReason>(in.ConsumeIntegral<std::uint8_t>());
    b.text = in.ConsumeRandomLengthString(300);
    proto::Bye got;
    const std::string err = proto::decode(view(proto::encode(b)), got);
    if (b.text.size() > proto::kMaxReasonText) b.text.resize(proto::kMaxReasonText);  // encode truncates
    if (err.empty()) {
      if (!printable(b.text)) b.text = spaced(b.text);
      FUZZ_CHECK(same(b, got));
    } else if (printable(b.text)) {
      const proto::Bye bare{b.reason, ""};
      proto::Bye ignored;
      FUZZ_CHECK(!proto::decode(view(proto::encode(bare)), ignored).empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  from_wire(View(reinterpret_cast<const std::byte*>(data), size));
  FuzzedDataProvider in(data, size);
  from_fields(in);
  return 0;
}
