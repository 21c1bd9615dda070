#include "noise_config.hpp"

#include "vpnsdk/files.hpp"

#include <stdexcept>

#include "key_files.hpp"
#include "vpnsdk/files.hpp"
#include "vpnsdk/status.hpp"

namespace cipher_noise {
namespace {

[[noreturn]] void fail(const vpnsdk::Options& opts, const std::string& name, const std::string& why) {
  std::string where = opts.where(name);
  if (where == "default") where = "default value";
  throw vpnsdk::ConfigError("option " + name + " (" + where + "): " + why);
}

std::int64_t integer_in(const vpnsdk::Options& opts, const std::string& name, std::int64_t lo, std::int64_t hi) {
  const std::int64_t v = opts.integer(name);
  if (v < lo || v > hi)
    fail(opts, name, std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

}  // namespace

NoiseConfig parse_config(const vpnsdk::Options& opts, const std::string& base_dir, uid_t run_uid, gid_t run_gid) {
  NoiseConfig c;
  c.run_uid = run_uid;
  c.run_gid = run_gid;
  const auto reread_later = [&](const char* what, const std::string& path) {
    if (run_uid == ::geteuid()) return;
    if (std::string w = vpnsdk::readable_problem(what, path, run_uid, run_gid); !w.empty()) c.reload_warnings.push_back(w);
  };
  if (!opts.has("private_key_file"))
    throw vpnsdk::ConfigError(
        "option private_key_file is required: this host's private key file (make one with: vpnhost "
        "keygen FILE)");
  {
    Key priv = load_secret_file("private_key_file", opts.str("private_key_file"), base_dir,
                                opts.where("private_key_file"), run_uid);
    c.self = keypair_from_private(priv.view());
    reread_later("private_key_file", vpnsdk::resolve_path(opts.str("private_key_file"), base_dir));
  }

  const std::string& server = opts.str("server_public_key");
  const std::string& clients = opts.str("authorized_clients");
  if (server.empty() && clients.empty())
    throw vpnsdk::ConfigError(
        "give server_public_key (on a client: the server's public key) or authorized_clients (on a "
        "server: the file of client public keys)");
  if (!server.empty() && !clients.empty())
    fail(opts, "authorized_clients",
         "give either server_public_key (a client) or authorized_clients (a server), not both (server_public_key at " +
             opts.where("server_public_key") + ")");

  if (!server.empty()) {
    auto key = parse_public_key(server);
    if (!key)
      fail(opts, "server_public_key",
           "'" + server + "' is not a public key: expected 44 characters of standard base64 (32 bytes), as printed "
           "by vpnhost pubkey < the server's private key file");
    if (*key == c.self.pub)
      fail(opts, "server_public_key", "is this host's own public key; give the server's public key");
    c.server = *key;
    // Where it was given, for messages; a --set location would repeat the key itself.
    c.server_where = opts.where("server_public_key");
    if (c.server_where.rfind("--set", 0) == 0) c.server_where = "given with --set";
  }

  if (!clients.empty()) {
    const std::string path = vpnsdk::resolve_path(clients, base_dir);
    try {
      c.clients = load_authorized_clients(path, run_uid);
      reread_later("authorized_clients", path);
    } catch (const std::invalid_argument& e) {
      fail(opts, "authorized_clients", e.what());
    }
    for (const auto& cl : c.clients->all())
      if (cl.key == c.self.pub)
        fail(opts, "authorized_clients",
             path + ":" + std::to_string(cl.line) + ": '" + cl.name + "' has this server's own public key");
  }

  if (!opts.str("psk_file").empty()) {
    c.psk = load_secret_file("psk_file", opts.str("psk_file"), base_dir, opts.where("psk_file"), run_uid);
    reread_later("psk_file", vpnsdk::resolve_path(opts.str("psk_file"), base_dir));
  }

  c.rekey_after = std::chrono::seconds(integer_in(opts, "rekey_after_seconds", 1, 86400));
  c.reject_after = std::chrono::seconds(integer_in(opts, "reject_after_seconds", 11, 7 * 86400));
  if (c.reject_after < c.rekey_after + std::chrono::seconds(10))
    fail(opts, "reject_after_seconds",
         std::to_string(c.reject_after.count()) + " leaves no time to rekey: it must be at least rekey_after_seconds (" +
             std::to_string(c.rekey_after.count()) + ") + 10");
  c.handshakes_per_second = static_cast<double>(integer_in(opts, "handshakes_per_second", 1, 1000000));
  c.handshake_burst = static_cast<double>(integer_in(opts, "handshake_burst", 1, 1000000));
  c.cookie_above_per_second = static_cast<double>(integer_in(opts, "cookie_above_per_second", 0, 1000000));
  return c;
}

}  // namespace cipher_noise
