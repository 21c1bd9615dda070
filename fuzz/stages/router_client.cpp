// The router_client plugin linked into a fuzzer next to other plugins: its
// entry point gets its own name (every plugin exports vpnhost_plugin_v1).
#define vpnhost_plugin_v1 fuzz_router_client_plugin
#include "../../plugins/router_client/router_client.cpp"
