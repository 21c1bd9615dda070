// The plugin hides everything but its entry point, so the tests of its
// internals (vectors, replay window, handshake and rekey logic with a fake
// clock) compile the plugin's own source files into this binary. The glue
// (cipher_noise.cpp, the exported descriptor) is tested through the built
// .so and the SDK harness instead.
#include "../../../plugins/cipher_noise/noise_primitives.cpp"
#include "../../../plugins/cipher_noise/symmetric_state.cpp"
#include "../../../plugins/cipher_noise/handshake_state.cpp"
#include "../../../plugins/cipher_noise/replay_window.cpp"
#include "../../../plugins/cipher_noise/tai64n.cpp"
#include "../../../plugins/cipher_noise/transport_keys.cpp"
#include "../../../plugins/cipher_noise/ik_handshake.cpp"
#include "../../../plugins/cipher_noise/key_files.cpp"
#include "../../../plugins/cipher_noise/authorized_clients.cpp"
#include "../../../plugins/cipher_noise/rate_limiter.cpp"
#include "../../../plugins/cipher_noise/cookie.cpp"
#include "../../../plugins/cipher_noise/noise_context.cpp"
#include "../../../plugins/cipher_noise/noise_session.cpp"
#include "../../../plugins/cipher_noise/noise_config.cpp"
