// A plugin "built against SDK ABI 99": the descriptor is written by hand so
// that abi_major is 99. The host must refuse it after reading only the
// stable prefix (struct_size, abi_major, abi_minor, toolchain).
#include "vpnsdk/plugin.hpp"

namespace {
vpnsdk::Plugin* create(const vpnsdk::HostContext&, vpnsdk::Status& error) noexcept {
  error = vpnsdk::Status::error(vpnsdk::Code::internal, "fixture_wrong_abi: create() must never be called");
  return nullptr;
}
void destroy(vpnsdk::Plugin* p) noexcept { delete p; }
}  // namespace

extern "C" VPNSDK_EXPORT const vpnsdk::PluginDescriptor* vpnhost_plugin_v1() {
  static const vpnsdk::PluginDescriptor d{
      sizeof(vpnsdk::PluginDescriptor),
      99,  // abi_major: not this host's
      0,
      VPNSDK_TOOLCHAIN_ID,
      "fixture_wrong_abi",
      vpnsdk::Stage::responder,
      "0.0.1",
      "test fixture: claims SDK ABI 99.0",
      nullptr,
      0,
      nullptr,
      nullptr,
      &create,
      &destroy};
  return &d;
}
