// The cipher_xor plugin linked into a fuzzer next to other plugins: its entry
// point gets its own name (every plugin exports vpnhost_plugin_v1).
#define vpnhost_plugin_v1 fuzz_cipher_xor_plugin
#include "../../plugins/cipher_xor/cipher_xor.cpp"
