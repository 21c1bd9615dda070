// The router_hub plugin linked into a fuzzer next to other plugins: its entry
// point gets its own name (every plugin exports vpnhost_plugin_v1).
#define vpnhost_plugin_v1 fuzz_router_hub_plugin
#include "../../plugins/router_hub/router_hub.cpp"
