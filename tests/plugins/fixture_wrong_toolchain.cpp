// A plugin whose descriptor claims another toolchain ("gcc-1 libfoo"): the
// host must refuse it with both toolchain strings in the message.
#include "vpnsdk/plugin.hpp"

namespace {
vpnsdk::Plugin* create(const vpnsdk::HostContext&, vpnsdk::Status& error) noexcept {
  error = vpnsdk::Status::error(vpnsdk::Code::internal, "fixture_wrong_toolchain: create() must never be called");
  return nullptr;
}
void destroy(vpnsdk::Plugin* p) noexcept { delete p; }
}  // namespace

extern "C" VPNSDK_EXPORT const vpnsdk::PluginDescriptor* vpnhost_plugin_v1() {
  static const vpnsdk::PluginDescriptor d{
      sizeof(vpnsdk::PluginDescriptor),
      VPNSDK_ABI_MAJOR,
      VPNSDK_ABI_MINOR,
      "gcc-1 libfoo",
      "fixture_wrong_toolchain",
      vpnsdk::Stage::responder,
      "0.0.1",
      "test fixture: built with another toolchain",
      nullptr,
      0,
      nullptr,
      nullptr,
      &create,
      &destroy};
  return &d;
}
