// device_tun's up/down script hooks (environment, arguments, logging,
// failures, time bound) and the stock scripts/vpnhost-resolv.
#include <catch2/catch.hpp>

#include <chrono>

#include "fixture.hpp"
#include "host_tools.hpp"

using namespace tun_test;
using vpnsdk::Code;
using Opts = std::map<std::string, vpnsdk::OptionValue>;

namespace {

const std::string kResolv = std::string(VPNHOST_SOURCE_DIR) + "/scripts/vpnhost-resolv";

// A hook that records its environment and arguments in <dir>/<script_type>.env.
std::string recording_hook(const TempDir& tmp) {
  const std::string path = tmp / "hook";
  write_file(path,
             "#!/bin/sh\n"
             "{ env | grep -E '^(script_type|dev|dev_type|tun_mtu|ifconfig_local|ifconfig_netmask|"
             "route_vpn_gateway|route_net_gateway|trusted_ip|foreign_option_[0-9]+|VPNHOST_DNS|VPNHOST_ROUTES|"
             "VPNHOST_ROUTE_ALL)=' | sort; echo \"args: $*\"; } >" +
                 tmp.path() + "/$script_type.env\n"
                 "echo \"hello from $script_type\"\n",
             0755);
  return path;
}

std::string run_resolv(const std::string& type, const std::string& conf, const std::string& save,
                       const std::string& extra_env, int* rc = nullptr) {
  return sh("env -i PATH=/usr/bin:/bin script_type=" + type + " dev=vpn0 VPNHOST_RESOLV_CONF=" + conf +
                " VPNHOST_RESOLV_SAVE=" + save + " " + extra_env + " " + kResolv,
            rc);
}

}  // namespace

TEST_CASE("up and down scripts run with the OpenVPN-style environment and their output is logged") {
  ENTER_NETNS();
  TempDir tmp;
  const std::string hook = recording_hook(tmp);
  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"up", hook}, {"down", hook}, {"routes", std::vector<std::string>{"192.0.2.0/24"}},
                                        {"state_dir", tmp / "state"}},
                             {}, ".", log.logger);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  vpnsdk::Assignment a = assignment("10.10.0.5", 1380);
  a.dns = {addr("10.10.0.1"), addr("9.9.9.9")};
  auto s = dev.start(sink, a);
  INFO(s.message);
  REQUIRE(s.ok());
  const std::string up = read_file(tmp / "up.env");
  INFO(up);
  for (const char* want :
       {"script_type=up", "dev=vpn0", "dev_type=tun", "tun_mtu=1380", "ifconfig_local=10.10.0.5",
        "ifconfig_netmask=255.255.255.0", "route_vpn_gateway=10.10.0.1", "foreign_option_1=dhcp-option DNS 10.10.0.1",
        "foreign_option_2=dhcp-option DNS 9.9.9.9", "VPNHOST_DNS=10.10.0.1 9.9.9.9", "VPNHOST_ROUTES=192.0.2.0/24",
        "VPNHOST_ROUTE_ALL=0", "args: vpn0 1380 1380 10.10.0.5 255.255.255.0 init"})
    CHECK(has_line(up, want));
  CHECK_THAT(up, !Catch::Contains("trusted_ip="));  // no route kept, and no connection to a server here
  CHECK_THAT(log.str(), Catch::Contains("up script: hello from up"));
  CHECK(h.counters().value("scripts_run") == 1);

  dev.stop();
  const std::string down = read_file(tmp / "down.env");
  CHECK(has_line(down, "script_type=down"));
  CHECK(has_line(down, "ifconfig_local=10.10.0.5"));
  CHECK_THAT(log.str(), Catch::Contains("down script: hello from down"));
  CHECK(h.counters().value("scripts_run") == 2);
  CHECK(h.counters().value("scripts_failed") == 0);
}

TEST_CASE("a failing up script fails start with its status and last line, and everything is undone") {
  ENTER_NETNS();
  TempDir tmp;
  write_file(tmp / "up", "#!/bin/sh\necho working\necho 'resolvconf: cannot lock' >&2\nexit 3\n", 0755);
  const std::string before = routes_snapshot();
  vpnsdk::testkit::Harness h(kTun, Opts{{"up", tmp / "up"}, {"routes", std::vector<std::string>{"192.0.2.0/24"}},
                                        {"state_dir", tmp / "state"}});
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  CHECK(s.code == Code::io);
  CHECK_THAT(s.message, Catch::Contains("up script") && Catch::Contains("exited with status 3") &&
                            Catch::Contains("resolvconf: cannot lock"));
  CHECK(h.counters().value("scripts_failed") == 1);
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(routes_snapshot() == before);
}

TEST_CASE("a script that does not finish in time is killed, with its children") {
  ENTER_NETNS();
  TempDir tmp;
  // The child keeps the output open; the group kill ends it too.
  write_file(tmp / "up", "#!/bin/sh\nsleep 30 &\necho $! >" + (tmp / "child") + "\necho started\nwait\n", 0755);
  vpnsdk::testkit::Harness h(kTun, Opts{{"up", tmp / "up"}, {"script_timeout", std::int64_t{1}}});
  Sink sink;
  const auto t0 = std::chrono::steady_clock::now();
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2"));
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(s.code == Code::io);
  CHECK_THAT(s.message, Catch::Contains("did not finish within 1 s") && Catch::Contains("started"));
  CHECK(took < std::chrono::seconds(4));
  CHECK(if_nametoindex("vpn0") == 0);
  // The script's own child went with it (the whole process group is killed).
  const std::string child = read_file(tmp / "child");
  REQUIRE_FALSE(child.empty());
  const std::string proc = "/proc/" + child.substr(0, child.find('\n'));
  auto gone = [&] {
    const std::string stat = read_file(proc + "/stat");
    return stat.empty() || stat.find(") Z") != std::string::npos;
  };
  for (int i = 0; i < 50 && !gone(); ++i) ::usleep(20000);
  CHECK(gone());
}

TEST_CASE("a failing down script is logged and stop still removes everything") {
  ENTER_NETNS();
  TempDir tmp;
  write_file(tmp / "down", "#!/bin/sh\necho 'no luck'\nexit 1\n", 0755);
  const std::string before = routes_snapshot();
  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"down", tmp / "down"}, {"routes", std::vector<std::string>{"192.0.2.0/24"}},
                                        {"state_dir", tmp / "state"}},
                             {}, ".", log.logger);
  Sink sink;
  REQUIRE(h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2")).ok());
  h.get<vpnsdk::Device>().stop();
  CHECK_THAT(log.str(), Catch::Contains("down script") && Catch::Contains("exited with status 1") &&
                            Catch::Contains("no luck"));
  CHECK(h.counters().value("scripts_failed") == 1);
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(routes_snapshot() == before);
}

TEST_CASE("vpnhost-resolv writes the pushed servers and restores the file byte for byte") {
  TempDir tmp;
  const std::string conf = tmp / "resolv.conf", save = tmp / "saved";
  const std::string original = "nameserver 192.0.2.53\noptions edns0 trust-ad\nsearch lan\n";
  write_file(conf, original, 0640);
  int rc = -1;
  std::string out = run_resolv("up", conf, save,
                               "'foreign_option_1=dhcp-option DNS 10.10.0.1' 'foreign_option_2=dhcp-option DOMAIN corp.test' "
                               "'foreign_option_3=dhcp-option DNS 9.9.9.9'",
                               &rc);
  INFO(out);
  CHECK(rc == 0);
  const std::string written = read_file(conf);
  CHECK_THAT(written, Catch::StartsWith("# written by vpnhost-resolv for vpn0"));
  CHECK_THAT(written, Catch::Contains("\nsearch corp.test\nnameserver 10.10.0.1\nnameserver 9.9.9.9\n"));
  CHECK(read_file(save) == original);

  // A second up (a run that died without down) keeps the real original.
  CHECK(run_resolv("up", conf, save, "VPNHOST_DNS=10.9.9.9", &rc).find("10.9.9.9") != std::string::npos);
  CHECK(read_file(save) == original);

  out = run_resolv("down", conf, save, "", &rc);
  INFO(out);
  CHECK(rc == 0);
  CHECK(read_file(conf) == original);
  struct stat st {};
  REQUIRE(::stat(conf.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);  // rewritten in place: mode kept
  CHECK_FALSE(std::filesystem::exists(save));
}

TEST_CASE("vpnhost-resolv: a symbolic link comes back as the link, a missing file as missing") {
  TempDir tmp;
  const std::string conf = tmp / "resolv.conf", save = tmp / "saved";
  write_file(tmp / "stub", "nameserver 127.0.0.53\n");
  std::filesystem::create_symlink(tmp / "stub", conf);
  int rc = -1;
  run_resolv("up", conf, save, "VPNHOST_DNS=10.10.0.1", &rc);
  CHECK(rc == 0);
  CHECK_FALSE(std::filesystem::is_symlink(conf));
  CHECK(read_file(tmp / "stub") == "nameserver 127.0.0.53\n");  // the link's target is not touched
  run_resolv("down", conf, save, "", &rc);
  CHECK(rc == 0);
  CHECK(std::filesystem::is_symlink(conf));
  CHECK(std::filesystem::read_symlink(conf) == tmp / "stub");

  std::filesystem::remove(conf);
  run_resolv("up", conf, save, "VPNHOST_DNS=10.10.0.1", &rc);
  CHECK(std::filesystem::exists(conf));
  run_resolv("down", conf, save, "", &rc);
  CHECK_FALSE(std::filesystem::exists(conf));
  CHECK(tmp.empty_dir(".") == false);  // (the stub is still there)
}

TEST_CASE("vpnhost-resolv: with systemd-resolved's stub it sets the link's DNS with resolvectl, and reverts it") {
  // A stand-in for resolvectl records its arguments; the real one talks to
  // systemd-resolved, which these test machines do not run.
  TempDir tmp;
  std::filesystem::create_directories(tmp / "run/systemd/resolve");
  write_file(tmp / "run/systemd/resolve/stub-resolv.conf", "nameserver 127.0.0.53\n");
  const std::string conf = tmp / "resolv.conf", save = tmp / "saved";
  std::filesystem::create_symlink(tmp / "run/systemd/resolve/stub-resolv.conf", conf);
  const std::string fake = tmp / "resolvectl";
  write_file(fake, "#!/bin/sh\necho \"$*\" >>" + tmp.path() + "/calls\n[ \"$1\" != fail-me ]\n", 0755);
  int rc = -1;
  std::string out = run_resolv("up", conf, save,
                               "VPNHOST_RESOLVECTL=" + fake +
                                   " 'foreign_option_1=dhcp-option DNS 10.10.0.1' 'foreign_option_2=dhcp-option DOMAIN "
                                   "corp.test' 'foreign_option_3=dhcp-option DNS 9.9.9.9'",
                               &rc);
  INFO(out);
  CHECK(rc == 0);
  CHECK(read_file(tmp / "calls") == "dns vpn0 10.10.0.1 9.9.9.9\ndomain vpn0 ~. corp.test\ndefault-route vpn0 yes\n");
  CHECK_THAT(out, Catch::Contains("systemd-resolved: vpn0 now uses nameserver 10.10.0.1 9.9.9.9"));
  CHECK(std::filesystem::is_symlink(conf));  // the stub is left alone
  CHECK(read_file(tmp / "run/systemd/resolve/stub-resolv.conf") == "nameserver 127.0.0.53\n");
  CHECK_FALSE(std::filesystem::exists(save));

  out = run_resolv("down", conf, save, "VPNHOST_RESOLVECTL=" + fake, &rc);
  CHECK(rc == 0);
  CHECK_THAT(read_file(tmp / "calls"), Catch::EndsWith("revert vpn0\n"));
  CHECK(std::filesystem::is_symlink(conf));

  // resolvectl failing (resolved not running, not allowed): the hook fails, saying which call.
  write_file(fake, "#!/bin/sh\necho 'Failed to set DNS configuration: Access denied' >&2\nexit 1\n", 0755);
  out = run_resolv("up", conf, save, "VPNHOST_RESOLVECTL=" + fake + " VPNHOST_DNS=10.10.0.1", &rc);
  CHECK(rc == 1);
  CHECK_THAT(out, Catch::Contains("resolvectl dns vpn0 failed"));
}

TEST_CASE("vpnhost-resolv leaves a file someone else rewrote meanwhile, and needs nothing when nothing is pushed") {
  TempDir tmp;
  const std::string conf = tmp / "resolv.conf", save = tmp / "saved";
  write_file(conf, "nameserver 192.0.2.53\n");
  int rc = -1;
  std::string out = run_resolv("up", conf, save, "", &rc);
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("pushed no DNS servers"));
  CHECK(read_file(conf) == "nameserver 192.0.2.53\n");
  CHECK_FALSE(std::filesystem::exists(save));

  run_resolv("up", conf, save, "VPNHOST_DNS=10.10.0.1", &rc);
  write_file(conf, "nameserver 192.0.2.99\n");  // e.g. a DHCP client renewed its lease
  out = run_resolv("down", conf, save, "", &rc);
  CHECK(rc == 0);
  CHECK_THAT(out, Catch::Contains("rewritten by someone else"));
  CHECK(read_file(conf) == "nameserver 192.0.2.99\n");
  CHECK_FALSE(std::filesystem::exists(save));

  out = run_resolv("sideways", conf, save, "", &rc);
  CHECK(rc == 1);
  CHECK_THAT(out, Catch::Contains("script_type"));
}

TEST_CASE("vpnhost-resolv keeps its save file out of /etc/netns/NAME/ by default") {
  // `ip netns exec NAME` bind-mounts every file of /etc/netns/NAME/ over
  // /etc, and warns about (and skips) one that has no counterpart there:
  // the default save file must not land next to the namespace's resolv.conf.
  TempDir tmp;
  std::filesystem::create_directories(tmp / "netns/lab");
  const std::string conf = tmp / "netns/lab/resolv.conf";
  const std::string want_save = tmp / "netns/lab.resolv.conf.vpnhost-save";
  write_file(conf, "nameserver 192.0.2.53\n");
  auto run = [&](const std::string& type, const std::string& env) {
    int rc = -1;
    const std::string out = sh("env -i PATH=/usr/bin:/bin script_type=" + type +
                                   " dev=vpn0 VPNHOST_RESOLV_CONF=" + conf + " " + env + " " + kResolv,
                               &rc);
    INFO(out);
    CHECK(rc == 0);
  };
  run("up", "VPNHOST_DNS=10.10.0.1");
  CHECK_THAT(read_file(conf), Catch::Contains("nameserver 10.10.0.1"));
  CHECK(read_file(want_save) == "nameserver 192.0.2.53\n");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp / "netns/lab")) ++entries;
  CHECK(entries == 1);  // resolv.conf only
  run("down", "");
  CHECK(read_file(conf) == "nameserver 192.0.2.53\n");
  CHECK_FALSE(std::filesystem::exists(want_save));

  // Any other file keeps the old default, FILE.vpnhost-save.
  const std::string plain = tmp / "resolv.conf";
  write_file(plain, "nameserver 192.0.2.54\n");
  int rc = -1;
  sh("env -i PATH=/usr/bin:/bin script_type=up dev=vpn0 VPNHOST_DNS=10.10.0.1 VPNHOST_RESOLV_CONF=" + plain + " " +
         kResolv,
     &rc);
  CHECK(rc == 0);
  CHECK(read_file(plain + ".vpnhost-save") == "nameserver 192.0.2.54\n");
}
