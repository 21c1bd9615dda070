#include "transport_keys.hpp"

#include <array>

namespace cipher_noise {
namespace {

std::array<std::uint8_t, 1 + kFrameHeader> additional_data(std::uint8_t frame_type, const std::uint8_t* header) {
  std::array<std::uint8_t, 1 + kFrameHeader> ad{};
  ad[0] = frame_type;
  for (std::size_t i = 0; i < kFrameHeader; ++i) ad[1 + i] = header[i];
  return ad;
}

}  // namespace

bool Keypair::seal(std::uint8_t frame_type, std::uint8_t* header, std::uint8_t* payload, std::size_t len,
                   std::uint8_t* tag) noexcept {
  if (send_counter_ >= ReplayWindow::kLimit) return false;
  const std::uint64_t n = send_counter_++;
  header[0] = id_;
  store_le64(header + 1, n);
  const auto ad = additional_data(frame_type, header);
  const auto nonce = nonce_of(n);
  unsigned long long tag_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(payload, tag, &tag_len, payload, len, ad.data(), ad.size(),
                                                     nullptr, nonce.data(), send_.data());
  return true;
}

Keypair::OpenResult Keypair::open(std::uint8_t frame_type, const std::uint8_t* header, std::uint8_t* payload,
                                  std::size_t len, const std::uint8_t* tag) noexcept {
  const std::uint64_t n = load_le64(header + 1);
  switch (window_.check(n)) {
    case ReplayWindow::Verdict::fresh: break;
    case ReplayWindow::Verdict::replayed: return OpenResult::replayed;
    case ReplayWindow::Verdict::too_old: return OpenResult::too_old;
    case ReplayWindow::Verdict::beyond_limit: return OpenResult::bad_tag;  // we never send these
  }
  const auto ad = additional_data(frame_type, header);
  const auto nonce = nonce_of(n);
  if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(payload, nullptr, payload, len, tag, ad.data(), ad.size(),
                                                         nonce.data(), recv_.data()) != 0)
    return OpenResult::bad_tag;
  window_.update(n);
  return OpenResult::ok;
}

}  // namespace cipher_noise
