// Pipeline (core/src/datapath.cpp): a packet for the server's own address
// that no responder takes goes to the device like any other packet for it:
// within the device's MTU (fragmented, or "needs fragmentation" for DF) and
// with TCP SYNs' MSS clamped. Found by fuzz_datapath (regression input
// fuzz/regressions/fuzz_datapath/local-to-device-over-mtu): it used to be
// written to the device as it came, 7000 bytes into a 1440-byte device.
#include <catch2/catch.hpp>

#include <vector>

#include "ipv4_builder.hpp"
#include "vpnhost/pipeline.hpp"
#include "vpnhost/protocol.hpp"

namespace {

using vpnsdk::Status;
constexpr std::uint32_t kServer = 0x0a0a0001;  // 10.10.0.1
constexpr std::uint32_t kClient = 0x0a0a0002;
constexpr std::uint16_t kDeviceMtu = 1440;

struct FakeTransport final : vpnsdk::Transport {
  vpnsdk::TransportSink* sink = nullptr;
  std::vector<std::uint8_t> sent_types;
  vpnsdk::Overhead overhead() const override { return {8, 0}; }
  Status start(vpnsdk::TransportSink& s) override {
    sink = &s;
    return {};
  }
  Status send(vpnsdk::SessionId, vpnsdk::Batch frames) override {
    for (auto& f : frames) {
      sent_types.push_back(f->meta.frame_type);
      f.reset();
    }
    return {};
  }
  void close(vpnsdk::SessionId, const Status&) override {}
  std::uint32_t frame_mtu(vpnsdk::SessionId) const override { return 9000; }
  void stop() override {}
};

struct PlainSession final : vpnsdk::CipherSession {
  Status seal(vpnsdk::PacketBuffer&) override { return {}; }
  Status open(vpnsdk::PacketBuffer&) override { return {}; }
};
struct PlainCipher final : vpnsdk::Cipher {
  vpnsdk::Overhead overhead() const override { return {0, 0}; }
  Status new_session(const vpnsdk::SessionInfo&, std::unique_ptr<vpnsdk::CipherSession>& out) override {
    out = std::make_unique<PlainSession>();
    return {};
  }
};

// The server is 10.10.0.1 (its device's MTU 1440); everything for it is local.
struct LocalRouter final : vpnsdk::Router {
  vpnsdk::Assignment self() const {
    vpnsdk::Assignment a;
    a.address = kServer;
    a.server = kServer;
    a.mtu = kDeviceMtu;
    return a;
  }
  Status assign(const vpnsdk::SessionInfo&, const vpnsdk::PeerIdentity*, vpnsdk::Assignment& out) override {
    out = self();
    out.address = kClient;
    out.mtu = 9000;  // the client's tunnel takes more than the device
    return {};
  }
  std::optional<vpnsdk::Assignment> local() const override { return self(); }
  vpnsdk::RouteDecision route(const vpnsdk::PacketBuffer& p, vpnsdk::SessionId) override {
    if (vpnsdk::ipv4::dst_of(p.bytes()) == kServer) return vpnsdk::RouteDecision::to_local();
    return vpnsdk::RouteDecision::drop("test");
  }
};

struct FakeDevice final : vpnsdk::Device {
  std::vector<std::vector<std::byte>> written;
  Status start(vpnsdk::DeviceSink&, const vpnsdk::Assignment&) override { return {}; }
  Status write(vpnsdk::Batch packets) override {
    for (auto& p : packets) {
      written.emplace_back(p->bytes().begin(), p->bytes().end());
      p.reset();
    }
    return {};
  }
  void stop() override {}
};

std::unique_ptr<vpnhost::StageInstance> stage(const char* name, vpnsdk::Plugin* p) {
  auto s = std::make_unique<vpnhost::StageInstance>();
  s->name = name;
  s->object = p;
  return s;
}

struct Fixture {
  boost::asio::io_context io;
  vpnsdk::PacketPool pool;
  vpnhost::CounterRegistry counters;
  FakeTransport transport;
  PlainCipher cipher;
  LocalRouter router;
  FakeDevice device;
  vpnhost::Stages stages;
  std::unique_ptr<vpnhost::Pipeline> pipeline;
  static constexpr vpnsdk::SessionId kId = 3;

  Fixture() {
    stages.transport = stage("fake_transport", &transport);
    stages.cipher = stage("plain_cipher", &cipher);
    stages.router = stage("local_router", &router);
    stages.device = stage("fake_device", &device);
    pipeline = std::make_unique<vpnhost::Pipeline>(io, pool, counters, stages, vpnhost::SessionLimits{});
    REQUIRE(pipeline->start().ok());
    transport.sink->opened({kId, vpnsdk::Role::responder, {"172.31.1.2", 33333}});
    vpnhost::protocol::Hello hello;
    hello.max_body = 9216;
    receive(static_cast<std::uint8_t>(vpnsdk::wire::FrameType::hello), vpnhost::protocol::encode(hello));
    REQUIRE(transport.sent_types.size() == 1);  // the WELCOME
  }
  void receive(std::uint8_t type, const std::vector<std::byte>& body) {
    vpnsdk::PacketPtr p = pool.acquire();
    REQUIRE(p->append(body));
    p->meta.frame_type = type;
    p->meta.session = kId;
    transport.sink->received(kId, vpnsdk::Batch(&p, 1));
  }
  void send_packet(const coretest::PacketSpec& spec) {
    receive(static_cast<std::uint8_t>(vpnsdk::wire::FrameType::data), coretest::make_ipv4(spec));
  }
};

coretest::PacketSpec to_server(std::size_t payload, bool df) {
  coretest::PacketSpec s;
  s.src = kClient;
  s.dst = kServer;
  s.payload = payload;
  s.df = df;
  return s;
}

}  // namespace

TEST_CASE("a local packet larger than the device's MTU is fragmented for the device", "[core][mtu][local]") {
  Fixture fx;
  fx.send_packet(to_server(6980, false));  // 7000 bytes
  REQUIRE(fx.device.written.size() > 1);
  std::size_t payload = 0;
  for (const auto& f : fx.device.written) {
    const auto h = coretest::parsed(f);
    CHECK(h.total_len <= kDeviceMtu);
    payload += h.total_len - h.header_len;
  }
  CHECK(payload == 6980);
  CHECK(fx.counters.value("ipv4.fragmented") == 1);
  CHECK(fx.pool.in_use() == 0);
}

TEST_CASE("a local DF packet larger than the device's MTU is refused with 'needs fragmentation'",
          "[core][mtu][local]") {
  Fixture fx;
  fx.send_packet(to_server(1500, true));
  CHECK(fx.device.written.empty());
  CHECK(fx.counters.value("drop.too_big_df") == 1);
  CHECK(fx.counters.value("icmp.frag_needed_sent") == 1);  // back to the client, in a DATA frame
  REQUIRE(fx.transport.sent_types.size() == 2);
  CHECK(fx.transport.sent_types[1] == static_cast<std::uint8_t>(vpnsdk::wire::FrameType::data));
  // A packet that fits still goes to the device as it came.
  fx.send_packet(to_server(100, true));
  REQUIRE(fx.device.written.size() == 1);
  CHECK(fx.device.written[0] == coretest::make_ipv4(to_server(100, true)));
}
