// Has the entry point, but it returns no descriptor.
#include "vpnsdk/plugin.hpp"

extern "C" VPNSDK_EXPORT const vpnsdk::PluginDescriptor* vpnhost_plugin_v1() { return nullptr; }
