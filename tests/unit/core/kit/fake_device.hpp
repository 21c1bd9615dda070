// A fake device (the "TUN"): records the assignments it was started with
// and every packet written to it, and injects packets read from it.
#pragma once
#include <vector>

#include "fault.hpp"
#include "vpnsdk/device.hpp"

namespace coretest {

struct FakeDevice final : vpnsdk::Device {
  vpnsdk::DeviceSink* sink = nullptr;
  Faults faults;  // "start", "write", "stop"
  vpnsdk::Status start_answer;
  vpnsdk::Status write_answer;  // returned after the packets were taken
  std::vector<vpnsdk::Assignment> starts;
  std::vector<std::vector<std::byte>> written;
  bool stopped = false;

  // Packets "read from the TUN", in one batch.
  void inject(std::vector<vpnsdk::PacketPtr> packets) { sink->from_device(vpnsdk::Batch(packets)); }
  std::uint16_t mtu() const { return starts.empty() ? 0 : starts.back().mtu; }

  vpnsdk::Status start(vpnsdk::DeviceSink& s, const vpnsdk::Assignment& self) override {
    faults.check("start");
    sink = &s;
    starts.push_back(self);
    return start_answer;
  }
  vpnsdk::Status write(vpnsdk::Batch packets) override {
    faults.check("write");
    for (auto& p : packets) {
      if (!p) continue;
      written.emplace_back(p->bytes().begin(), p->bytes().end());
      p.reset();
    }
    return write_answer;
  }
  void stop() override {
    faults.check("stop");
    stopped = true;
  }
};

}  // namespace coretest
