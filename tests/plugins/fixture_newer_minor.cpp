// A plugin built against a newer minor SDK ABI (1.7) than the host's: the
// host must refuse it (it may use SDK features this host lacks).
#include "vpnsdk/plugin.hpp"

namespace {
vpnsdk::Plugin* create(const vpnsdk::HostContext&, vpnsdk::Status& error) noexcept {
  error = vpnsdk::Status::error(vpnsdk::Code::internal, "fixture_newer_minor: create() must never be called");
  return nullptr;
}
void destroy(vpnsdk::Plugin* p) noexcept { delete p; }
}  // namespace

extern "C" VPNSDK_EXPORT const vpnsdk::PluginDescriptor* vpnhost_plugin_v1() {
  static const vpnsdk::PluginDescriptor d{
      sizeof(vpnsdk::PluginDescriptor),
      VPNSDK_ABI_MAJOR,
      VPNSDK_ABI_MINOR + 7,
      VPNSDK_TOOLCHAIN_ID,
      "fixture_newer_minor",
      vpnsdk::Stage::responder,
      "0.0.1",
      "test fixture: claims a newer minor SDK ABI",
      nullptr,
      0,
      nullptr,
      nullptr,
      &create,
      &destroy};
  return &d;
}
