// Live reload: what a manifest read again may change (prepare_reload), and
// reload_host on a host's real stages (created, not started): a refusal
// changes nothing, an accepted reload replaces the responders.
#include <catch2/catch.hpp>

#include "kit/core_under_test.hpp"
#include "support.hpp"
#include "vpnhost/keys.hpp"
#include "vpnhost/reload.hpp"

using namespace coretest;
using vpnhost::Configuration;
using vpnhost::Manifest;
using vpnsdk::Stage;

namespace {

const std::string kTransport = "[transport]\nplugin = \"transport_tcp\"\nlisten = \"127.0.0.1\"\nport = 5000\n";
const std::string kCipher = "[cipher]\nplugin = \"cipher_xor\"\nkey_file = \"xor.key\"\n";
const std::string kRouter = "[router]\nplugin = \"router_hub\"\nmtu = 1400\n";
const std::string kEcho = "[[responder]]\nplugin = \"responder_icmp_echo\"\n";
const std::string kServer = kTransport + kCipher + kRouter + kEcho;

// The running configuration and a reader for "the manifest, read again".
struct Fixture {
  vpnhost::PluginLoader loader = test_loader();
  Configuration running;
  std::string next_text;
  std::string base = ".";

  explicit Fixture(const std::string& text) {
    running = vpnhost::configure(vpnhost::parse_manifest_text(text, base + "/t.manifest"), loader);
  }
  std::function<Manifest()> reread() {
    return [this] { return vpnhost::parse_manifest_text(next_text, base + "/t.manifest"); };
  }
  vpnhost::PreparedReload prepare(const std::string& text) {
    next_text = text;
    return vpnhost::prepare_reload(running, reread(), loader);
  }
};

const vpnhost::StageReload* planned(const vpnhost::ReloadPlan& p, Stage s) {
  for (const auto& r : p.stages)
    if (r.stage == s) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("reload: an unchanged manifest is accepted, every stage told its options did not change", "[reload]") {
  Fixture f(kServer);
  auto prep = f.prepare(kServer);
  REQUIRE(prep.refusal.empty());
  REQUIRE(prep.next);
  REQUIRE(prep.plan.stages.size() == 3);
  for (auto s : {Stage::transport, Stage::cipher, Stage::router}) {
    REQUIRE(planned(prep.plan, s) != nullptr);
    CHECK_FALSE(planned(prep.plan, s)->options_changed);
  }
  CHECK(planned(prep.plan, Stage::device) == nullptr);
  CHECK_FALSE(prep.plan.responders_changed);
  REQUIRE(prep.plan.responders.size() == 1);
  CHECK(prep.plan.host_changes.empty());
  // Where an option is written does not matter, only its value.
  auto moved = f.prepare("# a comment moves every line\n\n" + kServer);
  REQUIRE(moved.refusal.empty());
  for (const auto& r : moved.plan.stages) CHECK_FALSE(r.options_changed);
}

TEST_CASE("reload: another transport, cipher or router plugin, or a device added, needs a restart", "[reload]") {
  Fixture f(kServer);
  CHECK(f.prepare("[transport]\nplugin = \"transport_udp\"\nlisten = \"127.0.0.1\"\n" + kCipher + kRouter + kEcho)
            .refusal == "changing the transport from transport_tcp to transport_udp needs a restart");
  CHECK(f.prepare(kTransport + "[cipher]\nplugin = \"cipher_noise\"\nprivate_key_file = \"k\"\n" + kRouter + kEcho)
            .refusal == "changing the cipher from cipher_xor to cipher_noise needs a restart");
  CHECK(f.prepare(kServer + "[device]\nplugin = \"device_tun\"\n").refusal ==
        "adding a device (device_tun) needs a restart");
  auto prep = f.prepare(kServer + "[device]\nplugin = \"device_tun\"\n");
  CHECK_FALSE(prep.next);  // nothing to apply
}

TEST_CASE("reload: a manifest that does not validate is refused with its error", "[reload]") {
  Fixture f(kServer);
  // kServer is 12 lines: the additions start on line 13.
  CHECK_THAT(f.prepare(kServer + "[router\n").refusal, Catch::StartsWith("./t.manifest:13:"));
  CHECK(f.prepare(kServer + "[[responder]]\nplugin = \"responder_nope\"\n").refusal ==
        "./t.manifest:13:1: [responder #2]: plugin 'responder_nope' not found; searched: " + kPluginDir + ", " +
            kFixtureDir);
  CHECK_THAT(f.prepare(kTransport + kCipher + kRouter + "colour = \"blue\"\n" + kEcho).refusal,
             Catch::StartsWith("./t.manifest:11:1: unknown option 'colour' for [router] router_hub"));
  CHECK_THAT(f.prepare(kTransport + kRouter + kEcho).refusal, Catch::Contains("missing stage"));
  // A reader that fails (e.g. the file is gone) is a refusal too.
  auto prep = vpnhost::prepare_reload(
      f.running, [] { return vpnhost::parse_manifest("/nonexistent/vh.manifest"); }, f.loader);
  CHECK_THAT(prep.refusal, Catch::Contains("/nonexistent/vh.manifest"));
}

TEST_CASE("reload: [host] settings either apply live or are refused by name", "[reload]") {
  Fixture f(kServer);
  auto live = f.prepare("[host]\nlog_level = \"debug\"\nmax_sessions = 10\nstats_interval = 5\n" + kServer);
  REQUIRE(live.refusal.empty());
  CHECK(live.plan.host_changes == std::vector<std::string>{"log_level", "stats_interval", "max_sessions"});
  CHECK(f.prepare("[host]\nkeepalive = 3\n" + kServer).refusal ==
        "[host] keepalive cannot change while running: restart to apply, or put back the running value");
  CHECK(f.prepare("[host]\nmetrics = \"127.0.0.1:9586\"\npacket_buffers = 100\n" + kServer).refusal ==
        "[host] packet_buffers, metrics cannot change while running: restart to apply, or put back the running value");
  CHECK(f.prepare("[host]\nplugin_path = [\"/tmp\"]\n" + kServer).refusal ==
        "[host] plugin_path cannot change while running: restart to apply it");
}

TEST_CASE("reload: responder list changes and changed stage options come first", "[reload]") {
  Fixture f(kServer);
  auto none = f.prepare(kTransport + kCipher + kRouter);
  REQUIRE(none.refusal.empty());
  CHECK(none.plan.responders.empty());
  CHECK(none.plan.responders_changed);
  auto two = f.prepare(kServer + kEcho);
  REQUIRE(two.refusal.empty());
  CHECK(two.plan.responders.size() == 2);
  CHECK(two.plan.responders_changed);
  auto changed = f.prepare(kTransport + kCipher + "[router]\nplugin = \"router_hub\"\nmtu = 1300\n" + kEcho);
  REQUIRE(changed.refusal.empty());
  REQUIRE(changed.plan.stages.size() == 3);
  CHECK(changed.plan.stages[0].stage == Stage::router);  // a refusal there comes before anything applied
  CHECK(changed.plan.stages[0].options_changed);
  CHECK_FALSE(changed.plan.stages[1].options_changed);
  CHECK_FALSE(changed.plan.stages[2].options_changed);
}

namespace {

// A host's stages, created from `f.running` (not started), under the core.
struct Running {
  coretest::CoreUnderTest core{vpnsdk::PoolConfig{128, 9216, 64, 64}};
  vpnhost::Stages& stages = core.stages;
  vpnhost::CounterRegistry& counters = core.counters;
  std::string base;

  Running(const Configuration& cfg, const std::string& base_dir) : base(base_dir) {
    for (const auto& r : cfg.stages) {
      auto inst = make(r);
      switch (r.entry->stage) {
        case Stage::transport: stages.transport = std::move(inst); break;
        case Stage::cipher: stages.cipher = std::move(inst); break;
        case Stage::router: stages.router = std::move(inst); break;
        case Stage::device: stages.device = std::move(inst); break;
        case Stage::responder: stages.responders.push_back(std::move(inst)); break;
      }
    }
    core.build(vpnhost::SessionLimits{});
  }
  std::unique_ptr<vpnhost::StageInstance> make(const vpnhost::ResolvedStage& r) {
    return vpnhost::instantiate(r, base, core.io, core.pool, core.counters);
  }
};

}  // namespace

TEST_CASE("reload: reload_host applies an accepted reload and changes nothing on a refusal", "[reload]") {
  TempDir dir;
  vpnhost::write_random_key(dir / "xor.key");
  Fixture f(kServer);
  f.base = dir.path().string();
  f.running = vpnhost::configure(vpnhost::parse_manifest_text(kServer, f.base + "/t.manifest"), f.loader);
  Running host(f.running, f.base);
  const vpnhost::StageInstance* echo = host.stages.responders.at(0).get();

  vpnhost::ReloadTarget t;
  t.running = &f.running;
  t.stages = &host.stages;
  t.pipeline = host.core.reload_target();
  t.counters = &host.counters;
  t.loader = &f.loader;
  t.reread = f.reread();
  t.instantiate = [&](const vpnhost::ResolvedStage& r) { return host.make(r); };
  t.log_level_fixed = true;

  // cipher_xor keeps the SDK's default: changed options are refused.
  f.next_text = kTransport + "[cipher]\nplugin = \"cipher_xor\"\nkey_file = \"other.key\"\n" + kRouter;
  vpnhost::write_random_key(dir / "other.key");
  auto refused = vpnhost::reload_host(t);
  CHECK(refused.status.code == vpnsdk::Code::config);
  CHECK(refused.status.message ==
        "[cipher] cipher_xor: its options cannot change while running; restart to apply them");
  CHECK_FALSE(refused.config);
  REQUIRE(host.stages.responders.size() == 1);
  CHECK(host.stages.responders[0].get() == echo);  // the responders the host had
  CHECK(host.counters.get("host.reload_failures") == 1);
  CHECK(host.counters.get("host.reloads") == 0);

  // Unchanged stages, two responders instead of one: applied.
  f.next_text = kServer + kEcho;
  auto ok = vpnhost::reload_host(t);
  REQUIRE(ok.status.ok());
  REQUIRE(ok.config);
  CHECK(host.stages.responders.size() == 2);
  REQUIRE(ok.retired.size() == 1);
  CHECK(ok.retired[0].get() == echo);
  CHECK(ok.revoked == 0);  // no sessions
  CHECK_THAT(ok.summary, Catch::Contains("responders: responder_icmp_echo, responder_icmp_echo"));
  CHECK(host.counters.get("host.reloads") == 1);
  CHECK(host.counters.get("host.reload_failures") == 1);
}
