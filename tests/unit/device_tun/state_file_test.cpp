// device_tun's crash-recovery state file as root must treat it: written
// through a new temporary file with a random name (nothing planted in
// state_dir is written through), and read back only if nobody else could
// have written it and every value in it is one device_tun could have
// written (its contents become nft commands and route deletions).
#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

#include "fixture.hpp"
#include "host_tools.hpp"

using namespace tun_test;
using vpnsdk::Code;
using Opts = std::map<std::string, vpnsdk::OptionValue>;

namespace {

vpnsdk::Assignment hub() { return assignment("10.10.0.1"); }

// An nft that records every call (arguments and script) in `log` and succeeds.
std::string fake_nft(const TempDir& tmp, const std::string& log) {
  const std::string path = tmp / "nft";
  write_file(path, "#!/bin/sh\n{ echo \"nft $*\"; cat; } >> '" + log + "'\nexit 0\n", 0755);
  return path;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

struct Start {
  vpnsdk::Status status;
  std::string log;
};

// One gateway start with the fake nft against the state in `state_dir`.
Start start_gateway(const std::string& nft, const std::string& state_dir) {
  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")}, {"nft", nft}, {"state_dir", state_dir}},
                             {}, ".", log.logger);
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  Start out;
  out.status = dev.start(sink, hub());
  dev.stop();
  out.log = log.str();
  return out;
}

}  // namespace

TEST_CASE("state file: a hostile or malformed one is refused, nothing in it is run or undone, it stays") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  const std::vector<std::string> files = {
      "pid 999999999\nip_forward 0\nnft_table x; flush ruleset\n",  // pasted into `nft -f -` before
      "pid 999999999\nnft_table vpnhost_vpn0;flush\n",
      "pid 999999999\nnft_table vpnhost_other\n",  // another device's table
      "pid 999999999\nnft_table vpnhost_vpn0\nnft_table vpnhost_vpn0\n",
      "pid 999999999\nip_forward 1;reboot\n",
      "pid 999999999\nip_forward 2\n",
      "pid 999999999\nroute 0.0.0.0 0 172.31.9.1 2 254\n",  // the default route: never one of ours
      "pid 999999999\nroute 172.31.9.0 24 0.0.0.0 2 254\n",
      "pid 999999999\nroute 172.31.9.1 32 172.31.9.1 -1 254\n",
      "pid 999999999\nroute 172.31.9.1 32 172.31.9.1 2 0\n",
      "pid 999999999\nroute 172.31.9.1 32 172.31.9.1 2 254 extra\n",
      "pid 999999999\nroute 172.31.9.01 32 172.31.9.1 2 254\n",
      "pid 999999999\nunreachable6 ::/0\n",
      "pid 999999999\nunreachable6 ::/0 254\n",  // route_all's block is in its own table only
      "pid 999999999\nunreachable6 ::/1 10010\n",
      "pid 999999999\nunreachable6 ::/0 10011\n",  // not this device's route_table
      "pid 999999999\nunreachable6 ::/0 10010 x\n",
      "pid 999999999\nunreachable6 ::/0 10010\nunreachable6 ::/0 10010\n",
      "pid 999999999\nrule 4 10002 254 all\n",  // everything to main ahead of other rules
      "pid 999999999\nrule 4 10002 10011 all\n",  // another table
      "pid 999999999\nrule 4 9999 10010 all\n",  // another priority
      "pid 999999999\nrule 4 10001 10010 all\n",
      "pid 999999999\nrule 4 10000 254 0.0.0.0/0\n",  // "the server" as every address
      "pid 999999999\nrule 4 10000 254 203.0.113.0/24\n",
      "pid 999999999\nrule 4 10000 254 203.0.113.07/32\n",
      "pid 999999999\nrule 4 10000 10010 203.0.113.7/32\n",
      "pid 999999999\nrule 6 10000 254 203.0.113.7/32\n",
      "pid 999999999\nrule 6 10000 254 fe80::/64\n",
      "pid 999999999\nrule 6 10000 254 2001:db8::1/128\n",
      "pid 999999999\nrule 5 10002 10010 all\n",
      "pid 999999999\nrule 4 10002 10010\n",
      "pid 999999999\nrule 4 10002 10010 all extra\n",
      "pid 999999999\nrule 4 10002 10010 all;flush\n",
      "pid 999999999\nrule 4 4294977298 10010 all\n",
      "pid 999999999\nrule 4 10002 10010 all\nrule 4 10002 10010 all\n",
      "pid 999999999\n\tnft_table vpnhost_vpn0\n",
      "pid x\nnft_table vpnhost_vpn0\n",
      "pid -5\n",
      "nft_table vpnhost_vpn0\n",  // no pid
      "pid 1\nrm -rf /\n",
  };
  for (const std::string& text : files) {
    INFO("state file:\n" << text);
    TempDir tmp;
    const std::string nft_log = tmp / "nft.log";
    const std::string nft = fake_nft(tmp, nft_log);
    std::filesystem::create_directories(tmp / "state");
    const std::string path = state_path(tmp / "state", "vpn0");
    write_file(path, text);
    write_file("/proc/sys/net/ipv4/ip_forward", "0\n");
    const std::string routes = routes_snapshot();
    const std::string rules = rules_snapshot();

    Start r = start_gateway(nft, tmp / "state");
    CHECK_FALSE(r.status.ok());
    CHECK(r.status.code == Code::config);
    CHECK_THAT(r.status.message, Catch::Contains("the state file " + path + " is not valid") &&
                                     Catch::Contains("nothing in it was undone or run"));
    CHECK_FALSE(exists(nft_log));  // nft never ran
    CHECK(ip_forward() == "0");
    CHECK(routes_snapshot() == routes);
    CHECK(rules_snapshot() == rules);
    CHECK(read_file(path) == text);  // left for whoever looks into it
    CHECK(if_nametoindex("vpn0") == 0);
  }
}

TEST_CASE("state file: one that someone else could have written is refused") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  const std::string text = "pid 999999999\nip_forward 0\nnft_table vpnhost_vpn0\n";
  struct Case {
    const char* what;
    const char* expected;
    std::function<void(const std::string& dir, const std::string& file)> make;
  };
  const std::vector<Case> cases = {
      {"group/world writable", "is writable by group/others",
       [](const std::string&, const std::string& f) { REQUIRE(::chmod(f.c_str(), 0666) == 0); }},
      {"owned by another user", "is owned by uid 65534",
       [](const std::string&, const std::string& f) { REQUIRE(::chown(f.c_str(), 65534, 65534) == 0); }},
      {"in a directory others can write", "chmod go-w",
       [](const std::string& d, const std::string&) { REQUIRE(::chmod(d.c_str(), 0777) == 0); }},
      {"in a directory another user owns", "chown root",
       [](const std::string& d, const std::string&) { REQUIRE(::chown(d.c_str(), 65534, 65534) == 0); }},
      {"a symlink", "cannot open the state file",
       [](const std::string& d, const std::string& f) {
         const std::string real = d + "/elsewhere";
         REQUIRE(::rename(f.c_str(), real.c_str()) == 0);
         REQUIRE(::symlink(real.c_str(), f.c_str()) == 0);
       }},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    TempDir tmp;
    const std::string nft_log = tmp / "nft.log";
    const std::string nft = fake_nft(tmp, nft_log);
    const std::string dir = tmp / "state";
    std::filesystem::create_directories(dir);
    const std::string path = state_path(dir, "vpn0");
    write_file(path, text);
    c.make(dir, path);
    write_file("/proc/sys/net/ipv4/ip_forward", "1\n");

    Start r = start_gateway(nft, dir);
    CHECK_FALSE(r.status.ok());
    CHECK_THAT(r.status.message, Catch::Contains(path) && Catch::Contains(c.expected) &&
                                     Catch::Contains("nothing in it was undone or run"));
    CHECK_FALSE(exists(nft_log));
    CHECK(ip_forward() == "1");  // the file's "ip_forward 0" was not applied
  }
}

TEST_CASE("state file: every item device_tun writes is read back and undone") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const std::string nft_log = tmp / "nft.log";
  const std::string nft = fake_nft(tmp, nft_log);
  std::filesystem::create_directories(tmp / "state");
  const int oif = static_cast<int>(if_nametoindex("vhA"));
  REQUIRE(oif > 0);
  const std::string rules = rules_snapshot();
  REQUIRE(sh("ip route add 172.31.9.7/32 via 172.31.9.1 dev vhA && ip rule add priority 10000 to 172.31.9.7 lookup "
             "main protocol 118 && ip rule add priority 10002 lookup 10010 protocol 118 && ip -6 rule add priority "
             "10000 to fe80::/10 lookup main protocol 118 && ip -6 rule add priority 10002 lookup 10010 protocol 118 "
             "&& ip -6 route add unreachable default table 10010 proto 118 && ip -6 route add unreachable ::/1 && "
             "echo ok") == "ok\n");
  write_file(state_path(tmp / "state", "vpn0"),
             "# device_tun state (docs/gateway.md): what to undo if this vpnhost dies\n"
             "pid 999999999\nip_forward 0\nnft_table vpnhost_vpn0\n"
             "route 172.31.9.7 32 172.31.9.1 " + std::to_string(oif) + " 254\n"
             "rule 4 10000 254 172.31.9.7/32\nrule 4 10002 10010 all\nrule 6 10000 254 fe80::/10\n"
             "rule 6 10002 10010 all\nunreachable6 ::/0 10010\n"
             "unreachable6 ::/1\nunreachable6 8000::/1\n");  // older versions' block in main
  Start r = start_gateway(nft, tmp / "state");
  INFO(r.status.message << "\n" << r.log);
  REQUIRE(r.status.ok());
  CHECK_THAT(r.log, Catch::Contains("undoing it (table vpnhost_vpn0, ip_forward 0, 1 route(s), IPv6 block)"));
  CHECK_THAT(r.log, Catch::Contains("policy routing removed: 4 rule(s)"));
  CHECK_THAT(sh("ip -4 route show"), !Catch::Contains("172.31.9.7"));
  CHECK(rules_snapshot() == rules);
  CHECK(sh("ip -6 route show table all | grep -c unreachable") == "0\n");
  CHECK_THAT(read_file(nft_log), Catch::Contains("delete table inet vpnhost_vpn0"));
}

TEST_CASE("state file: a planted file or symlink at a temporary name is not written through") {
  ENTER_NETNS();
  REQUIRE(make_underlay().empty());
  TempDir tmp;
  const std::string nft = fake_nft(tmp, tmp / "nft.log");
  const std::string dir = tmp / "state";
  std::filesystem::create_directories(dir);
  const std::string path = state_path(dir, "vpn0");
  const std::string victim = tmp / "victim";
  write_file(victim, "precious\n");
  // The names the writer used before: <file>.tmp and <file>.tmp.<pid>.
  REQUIRE(::symlink(victim.c_str(), (path + ".tmp").c_str()) == 0);
  REQUIRE(::symlink(victim.c_str(), (path + ".tmp." + std::to_string(::getpid())).c_str()) == 0);

  CapturedLog log;
  vpnsdk::testkit::Harness h(kTun, Opts{{"masquerade", std::string("vhB")}, {"nft", nft}, {"state_dir", dir}}, {},
                             ".", log.logger);
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, hub());
  INFO(s.message << "\n" << log.str());
  REQUIRE(s.ok());
  CHECK(read_file(victim) == "precious\n");
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0644);
  CHECK_THAT(read_file(path), Catch::Contains("nft_table vpnhost_vpn0"));
  dev.stop();
  CHECK(read_file(victim) == "precious\n");
  // Only the planted names remain (untouched), no temporary file of ours.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  const std::string base = path.substr(dir.size() + 1);
  CHECK(names == std::vector<std::string>{base + ".tmp", base + ".tmp." + std::to_string(::getpid())});
}
