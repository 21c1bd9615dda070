// In-process ciphers for testing the cipher conformance kit itself: one that
// is correct, and ones with one deliberate bug each.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "vpnsdk/cipher.hpp"

namespace fakes {

enum class CipherBug {
  none,            // correct: 1-byte header, bytes + 0x5a, 2-byte sum trailer (detects changes)
  no_open,         // open() does not undo seal()
  identity,        // seal()/open() change nothing (plaintext on the wire)
  undeclared_tail, // puts its 2-byte trailer but declares tail 0
  stray_write,     // scribbles one byte just in front of the data
  throws,          // seal() of 1400 bytes throws
  no_check,        // claims integrity but open() never verifies
  ignores_room,    // writes the trailer with memcpy past the end instead of put() (within the buffer)
};

class FakeSession final : public vpnsdk::CipherSession {
 public:
  explicit FakeSession(CipherBug bug) : bug_(bug) {}

  vpnsdk::Status seal(vpnsdk::PacketBuffer& b) override {
    if (bug_ == CipherBug::throws && b.size() == 1400) throw std::runtime_error("boom");
    if (bug_ == CipherBug::identity) return {};
    if (bug_ == CipherBug::stray_write && b.headroom() >= 2) b.data()[-2] = std::byte{0x11};
    for (auto& x : b.bytes()) x = std::byte(static_cast<unsigned char>(std::to_integer<unsigned>(x) + 0x5a));
    const std::uint16_t sum = checksum(b);
    std::byte* tail = nullptr;
    if (bug_ == CipherBug::ignores_room) {
      if (b.tailroom() < 2) return vpnsdk::Status::error(vpnsdk::Code::internal, "no tailroom");
      tail = b.data() + b.size();  // written, but the data is not extended
    } else {
      tail = b.put(2);
      if (tail == nullptr) return vpnsdk::Status::error(vpnsdk::Code::internal, "no tailroom");
    }
    tail[0] = std::byte(sum >> 8);
    tail[1] = std::byte(sum & 0xff);
    if (b.push(1) == nullptr) return vpnsdk::Status::error(vpnsdk::Code::internal, "no headroom");
    b.data()[0] = std::byte{1};
    return {};
  }

  vpnsdk::Status open(vpnsdk::PacketBuffer& b) override {
    if (bug_ == CipherBug::identity) return {};
    if (bug_ == CipherBug::no_open) return {};
    const std::size_t trailer = bug_ == CipherBug::ignores_room ? 0 : 2;
    if (b.size() < 1 + trailer) return vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "short");
    if (bug_ != CipherBug::no_check && b.data()[0] != std::byte{1})
      return vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "version");
    b.pull(1);
    if (trailer != 0) {
      const std::byte* t = b.data() + b.size() - 2;
      const std::uint16_t want = static_cast<std::uint16_t>((std::to_integer<unsigned>(t[0]) << 8) |
                                                            std::to_integer<unsigned>(t[1]));
      b.trim(b.size() - 2);
      if (bug_ != CipherBug::no_check && checksum(b) != want)
        return vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "checksum");
    }
    for (auto& x : b.bytes()) x = std::byte(static_cast<unsigned char>(std::to_integer<unsigned>(x) - 0x5a));
    return {};
  }

 private:
  // Fletcher-16: every single-bit change is detected.
  static std::uint16_t checksum(const vpnsdk::PacketBuffer& b) {
    unsigned a = 0, c = 0;
    for (auto x : b.bytes()) {
      a = (a + std::to_integer<unsigned>(x)) % 255;
      c = (c + a) % 255;
    }
    return static_cast<std::uint16_t>((c << 8) | a);
  }
  CipherBug bug_;
};

class FakeCipher final : public vpnsdk::Cipher {
 public:
  explicit FakeCipher(CipherBug bug) : bug_(bug) {}
  vpnsdk::Overhead overhead() const override {
    if (bug_ == CipherBug::undeclared_tail) return {1, 0};
    return {1, 2};
  }
  vpnsdk::Status new_session(const vpnsdk::SessionInfo&, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    out = std::make_unique<FakeSession>(bug_);
    return {};
  }

 private:
  CipherBug bug_;
};

}  // namespace fakes
