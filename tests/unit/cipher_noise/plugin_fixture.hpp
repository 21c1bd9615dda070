// The built cipher_noise.so through the SDK harness, for the tests that load
// it (test_plugin.cpp, test_reload.cpp): a temporary key directory, loading
// with options, and a cipher session from an instance.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "../../../plugins/cipher_noise/key_files.hpp"
#include "../../../plugins/cipher_noise/noise_primitives.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/wire.hpp"

namespace noise_test {

using Opts = std::map<std::string, vpnsdk::OptionValue>;

inline std::string plugin_path() { return std::string(VPNHOST_TEST_PLUGIN_DIR) + "/cipher_noise.so"; }

// A directory removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "noisekey.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const auto p = path_ / name;
    {
      std::ofstream f(p, std::ios::binary | std::ios::trunc);
      f << text;
    }
    if (::chmod(p.c_str(), mode) != 0) throw std::runtime_error("chmod failed");
    return p.string();
  }
  // A private key file as `vpnhost keygen` writes it; returns the key pair.
  cipher_noise::DhKeyPair key(const std::string& name) const {
    cipher_noise::DhKeyPair kp = cipher_noise::generate_keypair();
    write(name, cipher_noise::to_base64(kp.priv.view()) + "\n");
    return kp;
  }
  std::string at(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// An instance of the plugin; check its status() (a refusal lands there).
inline std::unique_ptr<vpnsdk::testkit::Harness> load(const Opts& o, const std::string& base = ".") {
  return std::make_unique<vpnsdk::testkit::Harness>(plugin_path(), o, vpnsdk::PoolConfig{}, base);
}

// A new cipher session of instance `h`, with a peer address made from `id`.
inline vpnsdk::Status new_session(vpnsdk::testkit::Harness& h, vpnsdk::Role role, vpnsdk::SessionId id,
                                  std::unique_ptr<vpnsdk::CipherSession>& out) {
  vpnsdk::SessionInfo info;
  info.id = id;
  info.role = role;
  info.peer = {"127.0.0.1", static_cast<std::uint16_t>(40000 + id)};
  return h.get<vpnsdk::Cipher>().new_session(info, out);
}

// The client's first frame (a HELLO, empty here) sealed on `client` and
// opened on `server`: what confirms the handshake's keys to the server
// (only then does its session speak for the client key). True if it opened.
inline bool first_frame(vpnsdk::CipherSession& client, vpnsdk::CipherSession& server) {
  static vpnsdk::PacketPool pool;
  vpnsdk::PacketPtr p = pool.acquire();
  if (!p) return false;
  p->meta.frame_type = static_cast<std::uint8_t>(vpnsdk::wire::FrameType::hello);
  if (!client.seal(*p).ok()) return false;
  return server.open(*p).ok();
}

}  // namespace noise_test
