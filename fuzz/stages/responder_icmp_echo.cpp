// The responder_icmp_echo plugin linked into a fuzzer next to other plugins: its entry
// point gets its own name (every plugin exports vpnhost_plugin_v1).
#define vpnhost_plugin_v1 fuzz_responder_icmp_echo_plugin
#include "../../plugins/responder_icmp_echo/responder_icmp_echo.cpp"
