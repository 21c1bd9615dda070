// The plugin's entry point.
#include "config.hpp"
#include "transport.hpp"
#include "vpnsdk/plugin.hpp"

VPNSDK_DEFINE_PLUGIN(transport_tcp::TcpTransport, "transport_tcp", vpnsdk::Stage::transport, "1.0.0",
                     "wire v1 frames over TCP (server: listen, client: connect)", transport_tcp::kOptions,
                     nullptr, nullptr)
