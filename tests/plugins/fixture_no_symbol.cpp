// A shared object that is not a vpnhost plugin: no vpnhost_plugin_v1 entry point.
extern "C" __attribute__((visibility("default"))) int fixture_no_symbol_marker() { return 42; }
