// [host] control_socket and metrics: defaults, paths, validation.
#include <catch2/catch.hpp>

#include "vpnhost/configure.hpp"
#include "vpnhost/manifest.hpp"

namespace {

vpnhost::HostSettings settings(const std::string& host_table, const std::string& name = "/etc/vpnhost/edge.manifest") {
  return vpnhost::host_settings(vpnhost::parse_manifest_text("[host]\n" + host_table, name));
}

}  // namespace

TEST_CASE("ops: control_socket defaults to /run/vpnhost/<manifest name>.sock", "[ops][settings]") {
  const auto h = settings("");
  CHECK(h.control_socket == "/run/vpnhost/edge.sock");
  CHECK_FALSE(h.control_socket_explicit);
  CHECK(h.metrics.empty());
  CHECK(vpnhost::default_control_socket("manifests/server.manifest") == "/run/vpnhost/server.sock");
}

TEST_CASE("ops: control_socket can be set, relative to the manifest, or turned off", "[ops][settings]") {
  auto h = settings("control_socket = \"/tmp/x.sock\"\n");
  CHECK(h.control_socket == "/tmp/x.sock");
  CHECK(h.control_socket_explicit);
  h = settings("control_socket = \"run/x.sock\"\n", "/srv/vpn/a.manifest");
  CHECK(h.control_socket == "/srv/vpn/run/x.sock");
  h = settings("control_socket = \"\"\n");
  CHECK(h.control_socket.empty());
  CHECK(h.control_socket_explicit);
  CHECK_THROWS_WITH(settings("control_socket = \"/" + std::string(120, 'a') + "\"\n", "m.manifest"),
                    "m.manifest:2:1: control_socket path is longer than 107 bytes (a UNIX socket limit)");
  CHECK_THROWS_WITH(settings("control_socket = 5\n", "m.manifest"),
                    Catch::StartsWith("m.manifest:2:1: option 'control_socket' of [host] expects a string"));
}

TEST_CASE("ops: metrics given a port alone binds loopback", "[ops][settings]") {
  auto h = settings("metrics = \"9586\"\n");
  CHECK(h.metrics == "127.0.0.1:9586");
  CHECK(h.metrics_host == "127.0.0.1");
  CHECK(h.metrics_port == 9586);
  h = vpnhost::host_settings(vpnhost::parse_manifest_text("[host]\n", "a.manifest", {"host.metrics=9100"}));
  CHECK(h.metrics == "127.0.0.1:9100");
}

TEST_CASE("ops: metrics takes HOST:PORT with a numeric address", "[ops][settings]") {
  auto h = settings("metrics = \"127.0.0.1:9586\"\n");
  CHECK(h.metrics == "127.0.0.1:9586");
  CHECK(h.metrics_host == "127.0.0.1");
  CHECK(h.metrics_port == 9586);
  h = settings("metrics = \"[::1]:9100\"\n");
  CHECK(h.metrics_host == "::1");
  CHECK(h.metrics_port == 9100);
  h = settings("metrics = \"0.0.0.0:1\"\n");
  CHECK(h.metrics_port == 1);
  for (const char* bad : {":9586", "0", "65536", "localhost:9586", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x",
                          "127.0.0.1:0", "127.0.0.1:65536", "::1:9586", "[::1]9586", "[nope]:1", "1.2.3:4",
                          "256.1.1.1:80"}) {
    INFO(bad);
    CHECK_THROWS_WITH(settings(std::string("metrics = \"") + bad + "\"\n", "m.manifest"),
                      Catch::StartsWith("m.manifest:2:1: metrics: "));
  }
}
