// What every device_tun test case uses: the plugin's path, a DeviceSink that
// records, an assignment, running the harness's io_context for a while, and
// entering a private network namespace.
#pragma once
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "netns.hpp"
#include "packets.hpp"
#include "vpnsdk/testkit/harness.hpp"

namespace tun_test {

inline const std::string kTun = std::string(VPNHOST_TEST_PLUGIN_DIR) + "/device_tun.so";

struct Sink final : vpnsdk::DeviceSink {
  std::vector<std::vector<std::byte>> packets;
  std::vector<std::size_t> batch_sizes;
  std::vector<vpnsdk::Status> failures;
  void from_device(vpnsdk::Batch batch) override {
    batch_sizes.push_back(batch.size());
    for (auto& p : batch)
      if (p) packets.emplace_back(p->bytes().begin(), p->bytes().end());
  }
  void device_failed(const vpnsdk::Status& why) override { failures.push_back(why); }
};

inline vpnsdk::Assignment assignment(const char* address, std::uint16_t mtu = 1400) {
  vpnsdk::Assignment a;
  a.address = addr(address);
  a.prefix_len = 24;
  a.server = addr("10.10.0.1");
  a.mtu = mtu;
  return a;
}

// Runs the harness's io_context until `done` holds or `limit` passes.
inline bool run_until(vpnsdk::testkit::Harness& h, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (h.io().stopped()) h.io().restart();
    h.io().run_one_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace tun_test

#define ENTER_NETNS()                                      \
  TUN_TEST_NEEDS_ROOT();                                   \
  do {                                                     \
    const std::string netns_error = tun_test::enter_private_netns(); \
    INFO(netns_error);                                     \
    REQUIRE(netns_error.empty());                          \
  } while (0)
