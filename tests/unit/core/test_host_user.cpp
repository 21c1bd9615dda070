// [host] user / group: resolved when the manifest is checked, each mistake
// at its own position (docs/security.md, "Privileges").
#include <catch2/catch.hpp>

#include <pwd.h>
#include <unistd.h>

#include "support.hpp"
#include "vpnhost/configure.hpp"
#include "vpnhost/manifest.hpp"
#include "vpnhost/privileges.hpp"

using namespace coretest;

namespace {

const std::string kStages =
    "[transport]\nplugin = \"transport_tcp\"\nlisten = \"0.0.0.0\"\n"
    "[cipher]\nplugin = \"cipher_xor\"\nkey_file = \"xor.key\"\n"
    "[router]\nplugin = \"router_hub\"\n";

std::string host_error(const std::string& host_lines) {
  try {
    vpnhost::host_settings(vpnhost::parse_manifest_text("[host]\n" + host_lines + kStages, "t.manifest", {}));
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("host user: an unknown user is an error at its position", "[host_user]") {
  CHECK(host_error("user = \"no-such-user-vpnhost\"\n") ==
        "t.manifest:2:1: user: no such user: no-such-user-vpnhost (create it: adduser --system --group "
        "no-such-user-vpnhost)");
}

TEST_CASE("host user: root is refused (leave it unset instead)", "[host_user]") {
  CHECK(host_error("user = \"root\"\n") == "t.manifest:2:1: user: user root is root: leave [host] user unset to run as root");
  CHECK(host_error("user = \"0\"\n") == "t.manifest:2:1: user: user 0 is root: leave [host] user unset to run as root");
}

TEST_CASE("host user: group without user is an error", "[host_user]") {
  CHECK(host_error("group = \"nogroup\"\n") == "t.manifest:2:1: group needs user: set [host] user as well");
}

TEST_CASE("host user: an unknown group is an error", "[host_user]") {
  CHECK(host_error("user = \"nobody\"\ngroup = \"no-such-group-vpnhost\"\n") ==
        "t.manifest:2:1: user: no such group: no-such-group-vpnhost");
}

TEST_CASE("host user: names resolve to ids, the group defaults to the user's primary group", "[host_user]") {
  const passwd* pw = ::getpwnam("nobody");
  REQUIRE(pw != nullptr);
  const auto h = vpnhost::host_settings(vpnhost::parse_manifest_text("[host]\nuser = \"nobody\"\n" + kStages, "t.manifest", {}));
  REQUIRE(h.run_as);
  CHECK(h.run_as->uid == pw->pw_uid);
  CHECK(h.run_as->gid == pw->pw_gid);
  CHECK(vpnhost::planned_uid(h.run_as) == pw->pw_uid);
  const auto none = vpnhost::host_settings(vpnhost::parse_manifest_text("[host]\n" + kStages, "t.manifest", {}));
  CHECK_FALSE(none.run_as);
  CHECK(vpnhost::planned_uid(none.run_as) == ::geteuid());
}

TEST_CASE("host user: numeric ids without a user database entry need a group", "[host_user]") {
  CHECK(host_error("user = \"4000123\"\n") ==
        "t.manifest:2:1: user: user 4000123 has no entry in the user database: give group as well");
  const auto h = vpnhost::host_settings(
      vpnhost::parse_manifest_text("[host]\nuser = \"4000123\"\ngroup = \"4000124\"\n" + kStages, "t.manifest", {}));
  REQUIRE(h.run_as);
  CHECK(h.run_as->uid == 4000123u);
  CHECK(h.run_as->gid == 4000124u);
}

TEST_CASE("host user: only root can become another user", "[host_user]") {
  vpnhost::RunAs to;
  to.user = "someone";
  to.uid = ::geteuid() + 1;
  if (::geteuid() == 0) {
    CHECK(vpnhost::can_become(to).empty());
  } else {
    CHECK_THAT(vpnhost::can_become(to), Catch::Contains("can only become another user when started as root"));
  }
  to.uid = ::geteuid();
  CHECK(vpnhost::can_become(to).empty());
}
