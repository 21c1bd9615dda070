// transport_udp_demo: the plugin's entry point (the descriptor).
#include "config.hpp"
#include "udp_transport.hpp"

VPNSDK_DEFINE_PLUGIN(transport_udp_demo::UdpTransport, "transport_udp_demo", vpnsdk::Stage::transport, "1.0.0",
                     "demo: one wire frame per UDP datagram, no retransmission (a learning example)",
                     transport_udp_demo::kOptions, nullptr, nullptr)
