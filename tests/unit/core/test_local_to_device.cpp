// Pipeline (core/src/datapath.cpp): a packet for the server's own address
// that no responder takes goes to the device like any other packet for it:
// within the device's MTU (fragmented, or "needs fragmentation" for DF) and
// with TCP SYNs' MSS clamped. Found by fuzz_datapath (regression input
// fuzz/regressions/fuzz_datapath/local-to-device-over-mtu): it used to be
// written to the device as it came, 7000 bytes into a 1440-byte device.
#include <catch2/catch.hpp>

#include <vector>

#include "ipv4_builder.hpp"
#include "kit/rig.hpp"

namespace {

using coretest::Rig;
constexpr std::uint32_t kServer = Rig::kServer;  // 10.10.0.1
constexpr std::uint32_t kClient = Rig::kFirst;   // 10.10.0.2

// A server with a device (its MTU derived: 1439 for the fake stages' overheads)
// and one client whose tunnel takes more than the device (frame_mtu 9000).
struct Fixture : Rig {
  std::uint16_t device_mtu = 0;
  Fixture() : Rig({.device = true}) {
    transport.frame_mtu_answer = 9000;
    device_mtu = device.mtu();
    REQUIRE(device_mtu == 1439);
    vpnhost::protocol::Hello hello;
    hello.max_body = 9216;
    establish(kId, hello);
    REQUIRE(transport.sent.size() == 1);  // the WELCOME
    REQUIRE(welcome_sent()->assignment.mtu > device_mtu);
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
  fx.send_packet(Rig::kId, coretest::make_ipv4(to_server(6980, false)));  // 7000 bytes
  REQUIRE(fx.device.written.size() > 1);
  std::size_t payload = 0;
  for (const auto& f : fx.device.written) {
    const auto h = coretest::parsed(f);
    CHECK(h.total_len <= fx.device_mtu);
    payload += h.total_len - h.header_len;
  }
  CHECK(payload == 6980);
  CHECK(fx.counter("ipv4.fragmented") == 1);
  CHECK(fx.core.pool.in_use() == 0);
}

TEST_CASE("a local DF packet larger than the device's MTU is refused with 'needs fragmentation'",
          "[core][mtu][local]") {
  Fixture fx;
  fx.send_packet(Rig::kId, coretest::make_ipv4(to_server(1500, true)));
  CHECK(fx.device.written.empty());
  CHECK(fx.counter("drop.too_big_df") == 1);
  CHECK(fx.counter("icmp.frag_needed_sent") == 1);  // back to the client, in a DATA frame
  REQUIRE(fx.transport.sent.size() == 2);
  CHECK(fx.transport.sent[1].type == coretest::FrameType::data);
  // A packet that fits still goes to the device as it came.
  fx.send_packet(Rig::kId, coretest::make_ipv4(to_server(100, true)));
  REQUIRE(fx.device.written.size() == 1);
  CHECK(fx.device.written[0] == coretest::make_ipv4(to_server(100, true)));
}
