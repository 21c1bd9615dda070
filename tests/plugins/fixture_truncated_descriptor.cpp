// A descriptor whose struct_size is too small to hold even the stable prefix.
#include "vpnsdk/plugin.hpp"

namespace {
vpnsdk::Plugin* create(const vpnsdk::HostContext&, vpnsdk::Status& error) noexcept {
  error = vpnsdk::Status::error(vpnsdk::Code::internal, "fixture_truncated_descriptor: create() must never be called");
  return nullptr;
}
void destroy(vpnsdk::Plugin* p) noexcept { delete p; }
}  // namespace

extern "C" VPNSDK_EXPORT const vpnsdk::PluginDescriptor* vpnhost_plugin_v1() {
  static const vpnsdk::PluginDescriptor d{
      8,  // struct_size: only abi_major fits
      VPNSDK_ABI_MAJOR,
      VPNSDK_ABI_MINOR,
      VPNSDK_TOOLCHAIN_ID,
      "fixture_truncated_descriptor",
      vpnsdk::Stage::responder,
      "0.0.1",
      "test fixture: truncated descriptor",
      nullptr,
      0,
      nullptr,
      nullptr,
      &create,
      &destroy};
  return &d;
}
