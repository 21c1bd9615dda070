// `vpnhost check` reports every error of a manifest at once, like a
// compiler: configure() with a Diagnostics collects them all (the throwing
// overloads still throw the first), and the binary prints each as one line
// "FILE:LINE:COL: error: MESSAGE" on stderr, exit 1; it takes --set (and
// --plugins FILE) exactly as a run does.
#include <catch2/catch.hpp>

#include <regex>
#include <sstream>

#include "support.hpp"
#include "vpnhost/configure.hpp"
#include "vpnhost/host.hpp"
#include "vpnhost/keys.hpp"
#include "vpnhost/manifest.hpp"

using namespace coretest;

namespace {

// Seven errors, one of each kind, on known lines.
const std::string kMany =
    "[host]\n"                                   // 1
    "keepalive = -1\n"                           // 2  out of range
    "bogus = true\n"                             // 3  unknown [host] option
    "[transport]\n"                              // 4
    "plugin = \"transport_tcp\"\n"               // 5
    "listen = \"0.0.0.0\"\n"                     // 6
    "port = \"5000\"\n"                          // 7  wrong type
    "[cipher]\n"                                 // 8
    "plugin = \"cipher_xor\"\n"                  // 9
    "kye_file = \"xor.key\"\n"                   // 10 unknown option (and key_file missing: at 8:2)
    "[[responder]]\n"                            // 11
    "plugin = \"responder_nope\"\n";             // 12 unknown plugin; and no [router] (1:1)

}  // namespace

TEST_CASE("check: configure collects every error of a manifest, in order", "[manifest][check]") {
  vpnhost::Diagnostics diag;
  auto loader = test_loader();
  auto m = vpnhost::parse_manifest_text(kMany, "t.manifest", {}, diag);
  vpnhost::configure(std::move(m), loader, diag);
  std::vector<std::string> got;
  for (const auto& e : diag.errors()) got.push_back(e.what());
  const std::vector<std::string> want{
      "t.manifest:3:1: unknown option 'bogus' for [host]; valid options: plugin_path, log_level, stats_interval, "
      "stats_file, stdin_eof_exits, keepalive, session_timeout, handshake_timeout, max_sessions, max_handshakes, "
      "reconnect, reconnect_min, reconnect_max, on_server_bye, packet_buffers, control_socket, metrics, mtu, mss_clamp, "
      "user, group",
      "t.manifest:2:1: keepalive must be between 0 and 65535",
      "t.manifest:1:1: missing stage: every manifest needs a [router] table (`vpnhost plugins` lists the router "
      "plugins)",
      "t.manifest:10:1: unknown option 'kye_file' for [cipher] cipher_xor; valid options: key_file",
      "t.manifest:8:2: [cipher] cipher_xor needs option 'key_file' (string): " +
          std::string(diag.size() > 4 ? diag.errors()[4].message().substr(diag.errors()[4].message().find(": ") + 2) : ""),
      "t.manifest:11:1: [responder #1]: plugin 'responder_nope' not found; searched: " + kPluginDir + ", " + kFixtureDir,
      "t.manifest:7:1: option 'port' of [transport] transport_tcp expects an integer, got the string \"5000\"",
  };
  CHECK(got == want);
  // where() and message() are the two halves of what().
  REQUIRE_FALSE(diag.empty());
  CHECK(diag.errors()[1].where() == "t.manifest:2:1");
  CHECK(diag.errors()[1].message() == "keepalive must be between 0 and 65535");
  // The throwing overload throws the first of them, as before.
  CHECK_THROWS_WITH(
      [&] {
        auto l = test_loader();
        vpnhost::configure(vpnhost::parse_manifest_text(kMany, "t.manifest"), l);
      }(),
      want.front());
}

TEST_CASE("check: a stage in error is not also reported missing or unprovided", "[manifest][check]") {
  vpnhost::Diagnostics diag;
  auto loader = test_loader();
  // [router] without plugin; [cipher] a string, not a table: one error each, no "missing stage".
  const std::string text = "cipher = \"x\"\n[transport]\nplugin = \"transport_tcp\"\nlisten = \"0.0.0.0\"\n[router]\nmtu = 1\n";
  auto m = vpnhost::parse_manifest_text(text, "t.manifest", {"cipher.key_file=k"}, diag);
  vpnhost::configure(std::move(m), loader, diag);
  std::vector<std::string> got;
  for (const auto& e : diag.errors()) got.push_back(e.what());
  CHECK(got == std::vector<std::string>{
                   "t.manifest:1:1: cipher must be a table: [cipher]",
                   "t.manifest:5:2: [router] has no plugin = \"...\"; name the plugin that fills this stage (`vpnhost "
                   "plugins` lists them)"});
}

TEST_CASE("vpnhost check: every error at once as FILE:LINE:COL: error: lines", "[manifest][check][binary]") {
  TempDir dir;
  write_text(dir / "many.manifest", kMany);
  const std::string file = (dir / "many.manifest").string();
  auto r = run_vpnhost({"check", file}, dir.path());
  INFO("stderr: " << r.err);
  REQUIRE(r.exited);
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  const auto lines = lines_of(r.err);
  // Every line is an error in the compiler's format, in the manifest's order; no log timestamp.
  const std::regex format("^" + std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                          ":[0-9]+:[0-9]+: error: .+$");
  std::vector<std::string> positions;
  for (const auto& l : lines) {
    INFO(l);
    CHECK(std::regex_match(l, format));
    CHECK_FALSE(std::regex_search(l, std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:")));
    positions.push_back(l.substr(file.size() + 1, l.find(": error: ") - file.size() - 1));
  }
  CHECK(positions == std::vector<std::string>{"1:1", "2:1", "3:1", "7:1", "8:2", "10:1", "11:1"});
}

TEST_CASE("vpnhost check takes --set and --plugins as a run does", "[manifest][check][binary]") {
  TempDir dir;
  vpnhost::write_random_key(dir / "good.key");
  // The stock client, as docs and the README run it: a key file that is not here, fixed by --set.
  const std::string client = std::string(VPNHOST_SOURCE_DIR) + "/manifests/client.manifest";
  const std::string key = (dir / "good.key").string();

  auto bare = run_vpnhost({"check", client}, dir.path());
  INFO("stderr: " << bare.err);
  CHECK(bare.code == 1);
  CHECK(count_containing(bare.err, client + ":16:1: error: [cipher] cipher_xor: option key_file: cannot read key file") == 1);

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", "--plugins", client, "--set", "transport.connect=vpn.example.net", "--set", "cipher.key_file=" + key},
           {"check", client, "--set", "transport.connect=vpn.example.net", "--set", "cipher.key_file=" + key},
           {"--plugins", client, "--set", "cipher.key_file=" + key, "check"}}) {
    auto r = run_vpnhost(args, dir.path());
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains(client + ": OK (cipher=cipher_xor, device=device_tun"));
    CHECK(count_containing(r.err, "error") == 0);
  }

  // A bad --set is one more error among the manifest's, named by its text.
  auto r = run_vpnhost({"check", "--plugins", client, "--set", "cipher.kye=1", "--set", "nope.x=1"}, dir.path());
  INFO("stderr: " << r.err);
  CHECK(r.code == 1);
  CHECK(count_containing(r.err, "--set nope.x=1: error: unknown table 'nope'") == 1);
  CHECK(count_containing(r.err, "--set cipher.kye=1: error: unknown option 'kye' for [cipher] cipher_xor") == 1);
  // ([cipher] has an option in error, so it is not created: its key file is not read.)
  CHECK(count_containing(r.err, ": error: ") == 2);

  // A manifest that is not there is an error line too.
  auto missing = run_vpnhost({"check", (dir / "nope.manifest").string()}, dir.path());
  CHECK(missing.code == 1);
  CHECK(missing.err == (dir / "nope.manifest").string() + ": error: cannot read manifest: No such file or directory\n");

  // Two different manifests: a usage error.
  auto two = run_vpnhost({"check", client, "--plugins", kManifestDir + "/relative_paths.manifest"}, dir.path());
  CHECK(two.code == 64);
}

TEST_CASE("vpnhost check puts a plugin's error at the option it names", "[manifest][check][binary]") {
  TempDir dir;
  vpnhost::write_random_key(dir / "alice.key");
  // cipher_noise writes "option NAME (FILE:LINE:COL): ...", cipher_xor "option NAME at FILE:LINE:COL: ...".
  const std::string client = std::string(VPNHOST_SOURCE_DIR) + "/manifests/secure-client.manifest";
  auto r = run_vpnhost({"check", client, "--set", "cipher.private_key_file=" + (dir / "alice.key").string()}, dir.path());
  INFO("stderr: " << r.err);
  CHECK(r.code == 1);
  CHECK(count_containing(r.err, client + ":20:1: error: [cipher] cipher_noise: option server_public_key: "
                                         "'PASTE-THE-SERVER-PUBLIC-KEY-HERE' is not a public key") == 1);
  CHECK(count_containing(r.err, ": error: ") == 1);
}
