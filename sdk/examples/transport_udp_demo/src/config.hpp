// transport_udp_demo options: the schema and their validation.
#pragma once
#include <array>
#include <cstdint>

#include "vpnsdk/asio.hpp"
#include <boost/asio/ip/udp.hpp>

#include "vpnsdk/options.hpp"

namespace transport_udp_demo {

struct Config {
  bool server = false;                   // listen (true) or connect (false)
  boost::asio::ip::udp::endpoint local;  // server: where to listen
  boost::asio::ip::udp::endpoint peer;   // client: the server
};

extern const std::array<vpnsdk::OptionSpec, 3> kOptions;

// Throws vpnsdk::ConfigError naming the option and where it was given.
Config parse_config(const vpnsdk::Options& opt);

}  // namespace transport_udp_demo
