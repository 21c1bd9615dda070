// [host] mtu and mss_clamp: defaults, accepted values, errors that name the place.
#include <catch2/catch.hpp>

#include "vpnhost/configure.hpp"
#include "vpnhost/manifest.hpp"

namespace {

vpnhost::HostSettings host_of(const std::string& host_lines) {
  return vpnhost::host_settings(vpnhost::parse_manifest_text("[host]\n" + host_lines, "t.manifest", {}));
}

std::string error_of(const std::string& host_lines) {
  try {
    host_of(host_lines);
  } catch (const vpnhost::ManifestError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("mtu config: defaults derive the MTU and clamp the MSS") {
  const auto h = host_of("");
  CHECK(h.mtu == 0);
  CHECK(h.mss_clamp);
}

TEST_CASE("mtu config: a fixed MTU and mss_clamp off are taken") {
  const auto h = host_of("mtu = 1280\nmss_clamp = false\n");
  CHECK(h.mtu == 1280);
  CHECK_FALSE(h.mss_clamp);
  CHECK(host_of("mtu = 576\n").mtu == 576);
  CHECK(host_of("mtu = 9000\n").mtu == 9000);
}

TEST_CASE("mtu config: out-of-range or mistyped values are refused with file and line") {
  CHECK_THAT(error_of("mtu = 575\n"), Catch::Contains("t.manifest:2") && Catch::Contains("between 576 and 9000"));
  CHECK_THAT(error_of("mtu = 9001\n"), Catch::Contains("between 576 and 9000"));
  CHECK_THAT(error_of("mtu = \"auto\"\n"), Catch::Contains("'mtu'") && Catch::Contains("integer"));
  CHECK_THAT(error_of("mss_clamp = 1\n"), Catch::Contains("'mss_clamp'") && Catch::Contains("boolean"));
}
