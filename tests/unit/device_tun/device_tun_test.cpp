// device_tun against the real kernel, inside a private network namespace
// that each test case makes for itself (never the root namespace).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "fixture.hpp"

using namespace tun_test;
using vpnsdk::Code;

namespace {

// The first packet the sink got that satisfies `pred`.
const std::vector<std::byte>* find_packet(const Sink& sink, const std::function<bool(const Parsed&)>& pred) {
  for (const auto& p : sink.packets)
    if (auto parsed = parse(p); parsed && pred(*parsed)) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("start creates and configures the interface, stop removes it") {
  ENTER_NETNS();
  vpnsdk::testkit::Harness h(kTun);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  auto s = dev.start(sink, assignment("10.10.0.2"));
  INFO(s.message);
  REQUIRE(s.ok());

  REQUIRE(if_nametoindex("vpn0") != 0);  // "vpn%d": the kernel's first number
  CHECK(address_of("vpn0") == addr("10.10.0.2"));
  CHECK(netmask_of("vpn0") == addr("255.255.255.0"));
  CHECK(mtu_of("vpn0") == 1400);
  CHECK(txqueuelen_of("vpn0") == 500);
  auto flags = flags_of("vpn0");
  REQUIRE(flags);
  CHECK((*flags & IFF_UP) != 0);
  CHECK((*flags & IFF_POINTOPOINT) != 0);  // a TUN device, not a TAP
  if (FILE* f = std::fopen("/proc/sys/net/ipv6/conf/vpn0/disable_ipv6", "r")) {  // kernels with IPv6
    CHECK(std::fgetc(f) == '1');  // IPv4 only: no link-local chatter out of the device
    std::fclose(f);
  }

  dev.stop();
  CHECK(if_nametoindex("vpn0") == 0);
  dev.stop();  // twice is harmless
  CHECK(sink.failures.empty());
  CHECK(dev.write({}).code == Code::drop_no_route);  // not started any more
}

TEST_CASE("a datagram into the tunnel network comes out of the device") {
  ENTER_NETNS();
  vpnsdk::testkit::Harness h(kTun);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());

  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(addr("10.10.0.2"));
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(7777);
  peer.sin_addr.s_addr = htonl(addr("10.10.0.77"));
  const std::string payload = "hello through the tunnel";
  REQUIRE(::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&peer), sizeof peer) ==
          static_cast<ssize_t>(payload.size()));
  ::close(fd);

  auto is_ours = [&](const Parsed& p) {
    return p.ip.protocol == vpnsdk::ipv4::kProtoUdp && p.ip.src == addr("10.10.0.2") &&
           p.ip.dst == addr("10.10.0.77") && p.l4.size() == 8 + payload.size() &&
           vpnsdk::ipv4::load16(p.l4.data() + 2) == 7777 &&
           std::equal(p.l4.begin() + 8, p.l4.end(), bytes_of(payload).begin());
  };
  CHECK(run_until(h, [&] { return find_packet(sink, is_ours) != nullptr; }));
  CHECK(h.counters().value("packets_in") >= 1);
  CHECK(h.counters().value("bytes_in") >= 20 + 8 + payload.size());
  CHECK(sink.failures.empty());
  for (std::size_t n : sink.batch_sizes) CHECK((n >= 1 && n <= 64));
}

TEST_CASE("a packet written to the device reaches the kernel, which answers") {
  ENTER_NETNS();
  vpnsdk::testkit::Harness h(kTun);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());

  const std::string payload = "ping through the tunnel";
  auto request = h.packet(echo_request(addr("10.10.0.77"), addr("10.10.0.2"), 0x1234, 7, payload));
  vpnsdk::PacketPtr batch[1] = {std::move(request)};
  auto s = dev.write(batch);
  INFO(s.message);
  REQUIRE(s.ok());
  CHECK(h.counters().value("packets_out") == 1);
  CHECK(h.counters().value("bytes_out") == 20 + 8 + payload.size());

  auto is_reply = [&](const Parsed& p) {
    return p.ip.protocol == vpnsdk::ipv4::kProtoIcmp && p.ip.src == addr("10.10.0.2") &&
           p.ip.dst == addr("10.10.0.77") && p.l4.size() == 8 + payload.size() &&
           std::to_integer<int>(p.l4[0]) == 0 /* echo reply */ && vpnsdk::ipv4::load16(p.l4.data() + 4) == 0x1234 &&
           vpnsdk::ipv4::load16(p.l4.data() + 6) == 7 && vpnsdk::ipv4::checksum(p.l4) == 0 &&
           std::equal(p.l4.begin() + 8, p.l4.end(), bytes_of(payload).begin());
  };
  CHECK(run_until(h, [&] { return find_packet(sink, is_reply) != nullptr; }));
  CHECK(sink.failures.empty());
}

TEST_CASE("a packet the kernel refuses is counted, the device goes on") {
  ENTER_NETNS();
  vpnsdk::testkit::Harness h(kTun);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());

  std::vector<std::byte> junk(40, std::byte{0x00});  // IP version 0: the TUN driver says EINVAL
  vpnsdk::PacketPtr batch[2] = {h.packet(junk),
                                h.packet(echo_request(addr("10.10.0.77"), addr("10.10.0.2"), 1, 1, "x"))};
  auto s = dev.write(batch);
  CHECK(s.code == Code::io);
  CHECK(h.counters().value("write_errors") == 1);
  CHECK(h.counters().value("packets_out") == 1);
  CHECK(run_until(h, [&] {
    return find_packet(sink, [](const Parsed& p) { return p.ip.protocol == vpnsdk::ipv4::kProtoIcmp; }) != nullptr;
  }));
  CHECK(sink.failures.empty());
}

TEST_CASE("a new assignment is applied to the same interface") {
  ENTER_NETNS();
  vpnsdk::testkit::Harness h(kTun);
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2")).ok());
  const unsigned index = if_nametoindex("vpn0");
  REQUIRE(index != 0);

  vpnsdk::Assignment again = assignment("10.10.0.9", 1300);
  again.prefix_len = 16;
  auto s = dev.start(sink, again);
  INFO(s.message);
  REQUIRE(s.ok());
  CHECK(if_nametoindex("vpn0") == index);
  CHECK(if_nametoindex("vpn1") == 0);
  CHECK(address_of("vpn0") == addr("10.10.0.9"));
  CHECK(netmask_of("vpn0") == addr("255.255.0.0"));
  CHECK(mtu_of("vpn0") == 1300);

  // Still reading: the kernel's echo reply to the new address comes out.
  vpnsdk::PacketPtr batch[1] = {h.packet(echo_request(addr("10.10.200.1"), addr("10.10.0.9"), 9, 9, "again"))};
  REQUIRE(dev.write(batch).ok());
  CHECK(run_until(h, [&] {
    return find_packet(sink, [](const Parsed& p) {
             return p.ip.protocol == vpnsdk::ipv4::kProtoIcmp && p.ip.src == addr("10.10.0.9");
           }) != nullptr;
  }));
}

TEST_CASE("name and mtu options") {
  ENTER_NETNS();
  vpnsdk::testkit::Harness h(kTun, {{"name", std::string("vhtest0")},
                                    {"mtu", std::int64_t{1280}},
                                    {"txqueuelen", std::int64_t{64}}});
  REQUIRE(h.status().ok());
  auto& dev = h.get<vpnsdk::Device>();
  Sink sink;
  REQUIRE(dev.start(sink, assignment("10.10.0.2", 1400)).ok());
  CHECK(if_nametoindex("vpn0") == 0);
  CHECK(mtu_of("vhtest0") == 1280);  // the option wins over the assignment
  CHECK(txqueuelen_of("vhtest0") == 64);

  // The same name again while it exists: a clear error, nothing changed.
  vpnsdk::testkit::Harness other(kTun, {{"name", std::string("vhtest0")}});
  REQUIRE(other.status().ok());
  Sink sink2;
  auto s = other.get<vpnsdk::Device>().start(sink2, assignment("10.10.0.3"));
  CHECK(s.code == Code::io);
  CHECK_THAT(s.message, Catch::Contains("vhtest0"));
  CHECK(address_of("vhtest0") == addr("10.10.0.2"));
}

TEST_CASE("the interface goes when the plugin is destroyed") {
  ENTER_NETNS();
  {
    vpnsdk::testkit::Harness h(kTun, {{"name", std::string("vhgone")}});
    REQUIRE(h.status().ok());
    Sink sink;
    REQUIRE(h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2")).ok());
    REQUIRE(if_nametoindex("vhgone") != 0);
  }
  CHECK(if_nametoindex("vhgone") == 0);
}

TEST_CASE("an MTU the packet buffers cannot hold is refused before anything is created") {
  ENTER_NETNS();
  vpnsdk::PoolConfig small;
  small.payload = 1000;
  vpnsdk::testkit::Harness h(kTun, {}, small);
  REQUIRE(h.status().ok());
  Sink sink;
  auto s = h.get<vpnsdk::Device>().start(sink, assignment("10.10.0.2", 1400));
  CHECK(s.code == Code::config);
  CHECK_THAT(s.message, Catch::Contains("1400") && Catch::Contains("1000"));
  CHECK(if_nametoindex("vpn0") == 0);
}

TEST_CASE("bad options are refused with the option named") {
  auto error = [](std::map<std::string, vpnsdk::OptionValue> opts) {
    vpnsdk::testkit::Harness h(kTun, std::move(opts));
    CHECK(h.status().code == Code::config);
    return h.status().message;
  };
  CHECK_THAT(error({{"name", std::string("a-name-longer-than-ifnamsiz")}}),
             Catch::Contains("'name'") && Catch::Contains("too long") && Catch::Contains("(test)"));
  CHECK_THAT(error({{"name", std::string("vpn/0")}}), Catch::Contains("'name'"));
  CHECK_THAT(error({{"name", std::string("")}}), Catch::Contains("'name'"));
  CHECK_THAT(error({{"name", std::string("vpn%s")}}), Catch::Contains("'name'"));
  CHECK_THAT(error({{"mtu", std::int64_t{100}}}), Catch::Contains("'mtu'"));
  CHECK_THAT(error({{"txqueuelen", std::int64_t{0}}}), Catch::Contains("'txqueuelen'"));
  vpnsdk::testkit::Harness fine(kTun, {{"name", std::string("exactly15chars_")}});
  CHECK(fine.status().ok());
}
