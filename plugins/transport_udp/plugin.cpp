// The plugin's entry point.
#include "config.hpp"
#include "transport.hpp"
#include "vpnsdk/plugin.hpp"

VPNSDK_DEFINE_PLUGIN(transport_udp::UdpTransport, "transport_udp", vpnsdk::Stage::transport, "1.0.0",
                     "wire v1 frames, one per UDP datagram (server: one socket for all sessions, client: connect)",
                     transport_udp::kOptions, nullptr, nullptr)
