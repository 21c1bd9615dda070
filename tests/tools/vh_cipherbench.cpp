// vh_cipherbench: the per-frame cost of a built cipher plugin, through the
// SDK harness exactly as the host loads it. One client and one server
// session (cipher_noise: a real IK handshake between two instances), then
// `--frames` DATA frames of `--size` bytes sealed by the client and opened by
// the server, in place, in one buffer: nothing but seal() and open() is timed.
//
//   vh_cipherbench --plugins build/lib/vpnhost/plugins --cipher cipher_noise --size 1400 --frames 200000 --reps 5
//
// Prints one line per repetition, then the median (ns per frame, seal + open,
// and the payload rate in Gbit/s) and the best repetition (the least
// disturbed by other load on the machine). A tool, not a test: it asserts nothing.
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/wire.hpp"

namespace {

using vpnsdk::testkit::Harness;
using Opts = std::map<std::string, vpnsdk::OptionValue>;

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

struct KeyDir {
  KeyDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cipherbench.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~KeyDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (path / name).string();
    std::ofstream(p) << text;
    ::chmod(p.c_str(), 0600);
    return p;
  }
  // A private key file; returns the base64 public key.
  std::string key(const std::string& name) const {
    unsigned char priv[32], pub[32];
    randombytes_buf(priv, sizeof priv);
    crypto_scalarmult_base(pub, priv);
    write(name, base64(priv, sizeof priv) + "\n");
    sodium_memzero(priv, sizeof priv);
    return base64(pub, sizeof pub);
  }
  std::filesystem::path path;
};

vpnsdk::SessionInfo info(vpnsdk::Role role) {
  vpnsdk::SessionInfo i;
  i.id = 1;
  i.role = role;
  i.peer = {"127.0.0.1", 40001};
  return i;
}

std::unique_ptr<vpnsdk::CipherSession> session(Harness& h, vpnsdk::Role role) {
  std::unique_ptr<vpnsdk::CipherSession> s;
  const vpnsdk::Status st = h.get<vpnsdk::Cipher>().new_session(info(role), s);
  if (!st.ok()) throw std::runtime_error("new_session: " + st.message);
  return s;
}

// Runs the handshake between the two sessions until both are established.
void handshake(vpnsdk::CipherSession& client, vpnsdk::CipherSession& server) {
  vpnsdk::HandshakeMessages to_server, to_client;
  client.start(to_server);
  server.start(to_client);
  for (int round = 0; round < 16 && !(client.established() && server.established()); ++round) {
    for (auto& m : std::exchange(to_server, {})) server.handshake(m, to_client);
    for (auto& m : std::exchange(to_client, {})) client.handshake(m, to_server);
  }
  if (!client.established() || !server.established()) throw std::runtime_error("the handshake did not complete");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seal+open cost of a cipher plugin"};
  std::string plugins, cipher = "cipher_noise";
  std::size_t size = 1400, frames = 200000;
  int reps = 5;
  app.add_option("--plugins", plugins, "directory of the built plugins")->required();
  app.add_option("--cipher", cipher, "cipher_noise or cipher_xor");
  app.add_option("--size", size, "frame body bytes");
  app.add_option("--frames", frames, "frames per repetition");
  app.add_option("--reps", reps, "repetitions");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  try {
    KeyDir dir;
    const std::string so = plugins + "/" + cipher + ".so";
    std::unique_ptr<Harness> srv, cli;
    if (cipher == "cipher_noise") {
      const std::string spub = dir.key("server.key");
      const std::string cpub = dir.key("client.key");
      const std::string clients = dir.write("clients", cpub + " bench\n");
      srv = std::make_unique<Harness>(
          so, Opts{{"private_key_file", (dir.path / "server.key").string()}, {"authorized_clients", clients}});
      cli = std::make_unique<Harness>(
          so, Opts{{"private_key_file", (dir.path / "client.key").string()}, {"server_public_key", spub}});
    } else {
      unsigned char k[32];
      randombytes_buf(k, sizeof k);
      const std::string key = dir.write("xor.key", base64(k, sizeof k) + "\n");
      srv = std::make_unique<Harness>(so, Opts{{"key_file", key}});
      cli = std::make_unique<Harness>(so, Opts{{"key_file", key}});
    }
    if (!srv->status().ok()) throw std::runtime_error("server instance: " + srv->status().message);
    if (!cli->status().ok()) throw std::runtime_error("client instance: " + cli->status().message);
    auto c = session(*cli, vpnsdk::Role::initiator);
    auto s = session(*srv, vpnsdk::Role::responder);
    handshake(*c, *s);

    vpnsdk::PacketPtr p = cli->pool().acquire();
    const std::size_t head = p->headroom();
    std::vector<double> ns_per_frame;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < frames; ++i) {
        p->reset(head);
        p->put(size);
        p->meta.frame_type = static_cast<std::uint8_t>(vpnsdk::wire::FrameType::data);
        if (!c->seal(*p).ok() || !s->open(*p).ok()) throw std::runtime_error("seal/open failed");
      }
      const auto t1 = std::chrono::steady_clock::now();
      const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(frames);
      ns_per_frame.push_back(ns);
      std::printf("rep %d: %.1f ns/frame, %.2f Gbit/s\n", r + 1, ns, static_cast<double>(size) * 8 / ns);
    }
    std::sort(ns_per_frame.begin(), ns_per_frame.end());
    const double med = ns_per_frame[ns_per_frame.size() / 2];
    const double best = ns_per_frame.front();
    std::printf("%s size %zu: median %.1f ns/frame (seal+open), %.2f Gbit/s; best %.1f ns/frame\n", cipher.c_str(),
                size, med, static_cast<double>(size) * 8 / med, best);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vh_cipherbench: %s\n", e.what());
    return 1;
  }
  return 0;
}
