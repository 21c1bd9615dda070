// The plugin hides everything but its entry point, so the tests of its
// internals (vectors, replay window, handshake and rekey logic with a fake
// clock) compile the plugin's own source files into this binary. The glue
// (cipher_noise.cpp, the exported descriptor) is tested through the built
// .so and the SDK harness instead.
#include "../../../plugins/cipher_noise/noise_primitives.cpp"
#include "../../../plugins/cipher_noise/symmetric_state.cpp"
#include "../../../plugins/cipher_noise/handshake_state.cpp"
