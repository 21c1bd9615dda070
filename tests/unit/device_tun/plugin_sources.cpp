// The plugin hides everything but its entry point, so the tests of its pure
// parts (policy_rules_test.cpp: the rules and their text, the state file's
// round trip) compile the plugin's own source files into this binary. All
// else is tested through the built .so and the SDK harness.
#include "../../../plugins/device_tun/policy_rules.cpp"
#include "../../../plugins/device_tun/route_netlink.cpp"
#include "../../../plugins/device_tun/run_program.cpp"
#include "../../../plugins/device_tun/tun_config.cpp"
#include "../../../plugins/device_tun/nft_table.cpp"
#include "../../../plugins/device_tun/state_file.cpp"
