// Device stage: the local network interface (e.g. a TUN device).
#pragma once
#include "vpnsdk/packet.hpp"
#include "vpnsdk/plugin.hpp"
#include "vpnsdk/session.hpp"
#include "vpnsdk/status.hpp"

namespace vpnsdk {

class DeviceSink {
 public:
  // IP packets read from the device.
  virtual void from_device(Batch packets) = 0;
  // The device failed after start (e.g. it vanished); the host shuts down.
  virtual void device_failed(const Status& why) = 0;

 protected:
  ~DeviceSink() = default;
};

class VPNSDK_EXPORT Device : public Plugin {
 public:
  // Create/configure the interface for this address and start reading.
  // Called again with a new assignment after a reconnect.
  virtual Status start(DeviceSink& sink, const Assignment& self) = 0;
  // Write IP packets to the interface; takes all of them.
  virtual Status write(Batch packets) = 0;
  // Remove what start() created.
  virtual void stop() = 0;
};

}  // namespace vpnsdk
